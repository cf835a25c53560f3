package topics

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// TestCorpusCounts runs the default pack over every entry of
// rss-2026-01 (title + description) and reports how many entries each
// topic tags: the figures in docs/topics.md. With
// WIREWATCH_TOPICS_SAMPLES=n it also logs n random tagged entries per topic
// (seeded, so a sample can be re-read) for precision review, and with
// WIREWATCH_TOPICS_FILE=f it measures that topic file instead of the
// default pack.
func TestCorpusCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole rss-2026-01 dataset")
	}
	arts := corpus.RSSArticles(t, 0)
	set := Default()
	if f := os.Getenv("WIREWATCH_TOPICS_FILE"); f != "" {
		var err error
		if set, err = LoadFile(f); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	tagged := map[string][]int{}
	any := 0
	start := time.Now()
	for i, a := range arts {
		ms := set.Match(a)
		if len(ms) > 0 {
			any++
		}
		for _, m := range ms {
			counts[m.Name]++
			tagged[m.Name] = append(tagged[m.Name], i)
		}
	}
	elapsed := time.Since(start)
	var b strings.Builder
	fmt.Fprintf(&b, "rss-2026-01: %d entries, %d tagged with at least one topic, in %v\n", len(arts), any, elapsed.Round(time.Millisecond))
	fmt.Fprintf(&b, "| topic | entries tagged |\n|---|---|\n")
	for _, tp := range set.Topics() {
		fmt.Fprintf(&b, "| %s | %d |\n", tp.Name, counts[tp.Name])
	}
	t.Log("\n" + b.String())
	for _, tp := range set.Topics() {
		if counts[tp.Name] == 0 {
			t.Errorf("topic %s tags nothing in rss-2026-01", tp.Name)
		}
	}
	n, _ := strconv.Atoi(os.Getenv("WIREWATCH_TOPICS_SAMPLES"))
	if n <= 0 {
		return
	}
	only := os.Getenv("WIREWATCH_TOPICS_SAMPLE_TOPIC")
	rng := rand.New(rand.NewPCG(2026, 1))
	for _, tp := range set.Topics() {
		if only != "" && only != tp.Name {
			continue
		}
		idx := tagged[tp.Name]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		var s strings.Builder
		fmt.Fprintf(&s, "== %s: sample of %d of %d\n", tp.Name, min(n, len(idx)), len(idx))
		for k, i := range idx[:min(n, len(idx))] {
			a := arts[i]
			var m = set.Match(a)
			var why string
			for _, x := range m {
				if x.Name == tp.Name {
					var terms []string
					for _, mm := range x.Matches {
						terms = append(terms, mm.Text)
					}
					why = fmt.Sprintf("%.2f [%s]", x.Score, strings.Join(terms, ", "))
				}
			}
			fmt.Fprintf(&s, "%2d. [%s] %s | %.300s\n      %s\n", k+1, a.Feed, a.Title, a.Content, why)
		}
		t.Log("\n" + s.String())
	}
}
