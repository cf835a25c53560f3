package topics

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/cputime"
	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// benchArticles is how many rss-2026-01 entries a benchmark replays.
const benchArticles = 10000

// syntheticTopics returns n topics: the default pack, then generated ones
// whose words are drawn from the corpus vocabulary (ranks 150 to 8,000, so
// neither stop words nor hapaxes), shaped like real monitoring queries: an
// OR-group of words, phrases and prefixes ANDed with a context group,
// some with NEAR, most with an exclusion.
func syntheticTopics(tb testing.TB, arts []*pipeline.Article, n int) []Topic {
	tb.Helper()
	freq := map[string]int{}
	for _, a := range arts {
		for _, w := range fold.Words(a.Title + " " + a.Content) {
			if len(w) >= 4 && !strings.ContainsAny(w, "0123456789") {
				freq[w]++
			}
		}
	}
	vocab := make([]string, 0, len(freq))
	for w := range freq {
		vocab = append(vocab, w)
	}
	slices.SortFunc(vocab, func(a, b string) int {
		return cmp.Or(cmp.Compare(freq[b], freq[a]), strings.Compare(a, b))
	})
	vocab = vocab[150:min(len(vocab), 8000)]
	rng := rand.New(rand.NewPCG(uint64(n), 42))
	word := func() string { return vocab[rng.IntN(len(vocab))] }
	group := func(k int) string {
		var parts []string
		for range k {
			switch rng.IntN(5) {
			case 0:
				parts = append(parts, `"`+word()+" "+word()+`"`)
			case 1:
				w := word()
				parts = append(parts, w[:max(4, len(w)-2)]+"*")
			default:
				parts = append(parts, word())
			}
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	var out []Topic
	for _, t := range Default().Topics() {
		if len(out) < n {
			out = append(out, Topic{Name: t.Name, Query: t.Query})
		}
	}
	for i := len(out); i < n; i++ {
		var q string
		switch rng.IntN(4) {
		case 0:
			q = group(3+rng.IntN(4)) + fmt.Sprintf(" NEAR/%d ", 3+rng.IntN(6)) + group(2+rng.IntN(4))
		default:
			q = group(3+rng.IntN(6)) + " AND " + group(2+rng.IntN(5))
		}
		if rng.IntN(3) > 0 {
			q += " -" + word()
		}
		if rng.IntN(4) == 0 {
			q = "title:" + group(2) + " OR (" + q + ")"
		}
		out = append(out, Topic{Name: fmt.Sprintf("synthetic-%04d", i), Query: q})
	}
	return out
}

func BenchmarkMatch(b *testing.B) {
	arts := corpus.RSSArticles(b, benchArticles)
	var bytes int64
	for _, a := range arts {
		bytes += int64(len(a.Title) + len(a.Content))
	}
	for _, n := range []int{10, 100, 1000} {
		set, err := Compile(syntheticTopics(b, arts, n))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("topics=%d", n), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			tags := 0
			cpu0 := cputime.Process()
			for b.Loop() {
				tags = 0
				for _, a := range arts {
					tags += len(set.Match(a))
				}
			}
			cpu := cputime.Process() - cpu0
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(arts)), "ns/article")
			if cpu > 0 {
				// Per core, from CPU time: honest on a shared machine.
				b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*len(arts)), "cpu-ns/article")
				b.ReportMetric(float64(bytes)*float64(b.N)/cpu.Seconds()/1e6, "cpu-MB/s")
			}
			b.ReportMetric(float64(tags)/float64(len(arts)), "tags/article")
		})
	}
}
