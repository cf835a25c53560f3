package ledger

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"sort"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// benchPool is how many new records a BenchmarkIndexed run can decide
// (-benchtime up to this many x).
const benchPool = 20_000

// BenchmarkIndexed is the cost of deciding one new article (a short feed
// item of 60 words from one of 500 feeds) in the index with 10k, 100k
// (and, with WIREWATCH_BENCH_1M=1, 1M) articles already indexed, and the
// heap the index holds per indexed article. The records (sketches) are
// built before the clock starts: BenchmarkRecord is that cost, the same
// at any index size. The articles are spread over the horizon; in the
// "steady" case, 200k of them over two horizons, so that the older half
// has expired and its keys been dropped from the merged table, as in a
// daemon running for longer than a horizon (the heap is then per article
// still indexed). story-cands/article is how many earlier articles each
// new one is compared with for its story: the articles' words are drawn
// from 5,000, so at 1M nearly every story band has an owner.
func BenchmarkIndexed(b *testing.B) {
	type size struct {
		name        string
		n, horizons int
	}
	sizes := []size{{"indexed=10000", 10_000, 1}, {"indexed=100000", 100_000, 1}, {"steady=200000", 200_000, 2}}
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		sizes = append(sizes, size{"indexed=1000000", 1_000_000, 1})
	}
	for _, sz := range sizes {
		n := sz.n
		b.Run(sz.name, func(b *testing.B) {
			ctx := context.Background()
			rules := Rules{}
			st := NewStage(nil, rules, true, metrics.NewUnregistered())
			recs := make([]*Record, n)
			for i := range recs {
				recs[i] = benchRecord(st, i)
			}
			fresh := make([]*Record, benchPool)
			for i := range fresh {
				fresh[i] = benchRecord(st, n+i)
			}
			before := testkit.HeapAfterGC()
			// The indexed articles are spread over the horizon, as in a
			// daemon at steady state: older segments are sealed.
			t0 := time.Unix(1_700_000_000, 0)
			clock := t0
			step := time.Duration(sz.horizons) * rules.withDefaults().Horizon / time.Duration(n)
			led := NewMemory(rules, func() time.Time { return clock })
			for i, r := range recs {
				clock = t0.Add(time.Duration(i) * step)
				if _, err := led.Append(ctx, r); err != nil {
					b.Fatal(err)
				}
			}
			after := testkit.HeapAfterGC()
			runtime.KeepAlive(recs)
			recs = nil
			perArticle := float64(after.HeapAlloc-before.HeapAlloc) / float64(led.Index().Len())
			// Besides the mean (ns/op), the median of the mean over each
			// run of sliceOf records: the timed stretch is short (20,000
			// records, a fraction of a second) and a shared machine's
			// bursts move the mean; the median of 20 slices does not.
			const sliceOf = 1000
			var perSlice []float64
			story0 := led.Index().storyCands
			start := time.Now()
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				clock = clock.Add(time.Microsecond)
				if _, err := led.Append(ctx, fresh[i%benchPool]); err != nil {
					b.Fatal(err)
				}
				if (i+1)%sliceOf == 0 {
					perSlice = append(perSlice, float64(time.Since(start).Nanoseconds())/sliceOf)
					start = time.Now()
				}
			}
			if len(perSlice) > 0 {
				sort.Float64s(perSlice)
				b.ReportMetric(perSlice[len(perSlice)/2], "median-ns/article")
			}
			b.ReportMetric(perArticle, "heap-B/indexed")
			// The story candidates each new article is compared with grow
			// with the index (more articles own more story bands), and
			// are part of the cost.
			story1 := led.Index().storyCands
			b.ReportMetric(float64(story1-story0)/float64(b.N), "story-cands/article")
		})
	}
}

// BenchmarkSteady is the cost of an article in a daemon at steady state
// with n articles indexed: articles arrive at n a horizon and as many
// expire, and every Horizon/16 the newest segment is sealed, its keys
// merged into the sealed tables while records wait. ns/op is the mean,
// seals included (BenchmarkIndexed times a stretch without one);
// max-apply-ms the longest single article, a seal when the run holds one
// (-benchtime of n/16 records or more: 62500x covers one at 1M). 10k and
// 100k, and 1M with WIREWATCH_BENCH_1M=1. The index is brought to steady state (two
// horizons of articles) once per size; the records are built before the
// clock starts.
func BenchmarkSteady(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		var s *steady
		b.Run(fmt.Sprintf("indexed=%d", n), func(b *testing.B) {
			if s == nil {
				s = newSteady(b, n)
			}
			recs := make([]*Record, b.N)
			for i := range recs {
				recs[i] = s.record()
			}
			var worst time.Duration
			b.ResetTimer()
			for _, r := range recs {
				s.clock = s.clock.Add(s.step)
				start := time.Now()
				if _, err := s.led.Append(context.Background(), r); err != nil {
					b.Fatal(err)
				}
				worst = max(worst, time.Since(start))
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "max-apply-ms")
			b.ReportMetric(float64(s.led.Index().Len()), "indexed")
		})
	}
}

// steady is an index fed at n articles a horizon.
type steady struct {
	st    *Stage
	led   *Memory
	clock time.Time
	step  time.Duration
	next  int
}

func newSteady(b *testing.B, n int) *steady {
	rules := Rules{}
	s := &steady{st: NewStage(nil, rules, true, metrics.NewUnregistered()), clock: time.Unix(1_700_000_000, 0),
		step: rules.withDefaults().Horizon / time.Duration(n)}
	s.led = NewMemory(rules, func() time.Time { return s.clock })
	for range 2 * n {
		s.clock = s.clock.Add(s.step)
		if _, err := s.led.Append(context.Background(), s.record()); err != nil {
			b.Fatal(err)
		}
	}
	return s
}

// record is the next article's record.
func (s *steady) record() *Record {
	s.next++
	return benchRecord(s.st, s.next-1)
}

// benchRecord is the record of the i-th article of the index benchmarks:
// a short feed item of 60 words from one of 500 feeds.
func benchRecord(st *Stage, i int) *Record {
	return st.Record(&pipeline.Article{ID: benchID(i), Feed: benchFeed(i % 500), Title: "t", Text: storyText(i, 60)})
}

// benchID is the id of the i-th article of a benchmark, as a daemon makes
// ids (sources.ArticleKey): scattered, where sequential ids would hash to
// neighbouring places in the index's tables and flatter its cache use.
func benchID(i int) string {
	return sources.ArticleKey("https://example.com/feed", fmt.Sprint("item-", i), "", "", "")
}

// benchFeed is the key of the i-th feed, as a daemon makes them
// (sources.FeedKey).
func benchFeed(i int) string { return sources.FeedKey(fmt.Sprint("https://example.com/feed/", i)) }

// BenchmarkRecord is the cost of building an article's ledger record:
// exact fingerprints, the near-duplicate and story sketches.
func BenchmarkRecord(b *testing.B) {
	st := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
	arts := make([]*pipeline.Article, 1000)
	for i := range arts {
		arts[i] = &pipeline.Article{ID: benchID(i), Feed: "f", Title: "t", Text: storyText(i, 60)}
	}
	for i := 0; b.Loop(); i++ {
		st.Record(arts[i%len(arts)])
	}
}

// BenchmarkReplay is how long a starting daemon takes to rebuild its dedup
// index from a ledger of 100k (with WIREWATCH_BENCH_1M=1, 1M) records on
// the embedded server's file storage: until it has applied every record
// stored, its workers wait for it.
func BenchmarkReplay(b *testing.B) {
	n := 100_000
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		n = 1_000_000
	}
	ctx := context.Background()
	_, _, js := natsutil.StartTestServer(b)
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		b.Fatal(err)
	}
	st := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
	pool := make([][]byte, 1000)
	for i := range pool {
		data, err := st.Record(&pipeline.Article{ID: benchID(i), Feed: "f", Title: "t", Text: storyText(i, 60)}).Encode(nil)
		if err != nil {
			b.Fatal(err)
		}
		pool[i] = data
	}
	batch := make([][]byte, 0, 64)
	for i := range n {
		// Fresh ids over the pool: the replay applies as many distinct
		// articles as there are records (a repeat id is cheaper); 64
		// records a message, as busy workers append them.
		r, _ := Decode(pool[i%len(pool)])
		r.Article = benchID(i)
		data, _ := r.Encode(nil)
		if batch = append(batch, data); len(batch) < cap(batch) && i < n-1 {
			continue
		}
		msg, err := EncodeBatch(batch)
		if err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
		if _, err := js.PublishAsync(natsutil.SubjectLedger, msg); err != nil {
			b.Fatal(err)
		}
		if i%10_000 < 64 {
			<-js.PublishAsyncComplete()
		}
	}
	<-js.PublishAsyncComplete()
	for b.Loop() {
		rctx, cancel := context.WithCancel(ctx)
		l := NewStream(StreamConfig{JS: js})
		done := make(chan error, 1)
		start := time.Now()
		go func() { done <- l.Run(rctx) }()
		for l.Index().Len() < n {
			select {
			case err := <-done:
				cancel()
				b.Fatal(err)
			case <-time.After(10 * time.Millisecond): // polling interval
			}
		}
		took := time.Since(start)
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(took.Seconds(), "s/replay")
		b.ReportMetric(float64(n)/took.Seconds(), "records/s")
	}
}
