package ledger

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
	"github.com/wirewatch/wirewatch/sources"
)

// benchPool is how many new records a BenchmarkIndexed run can decide
// (-benchtime up to this many x).
const benchPool = 20_000

// BenchmarkIndexed is the cost of deciding one new article in the index
// with 10k, 100k (and, with WIREWATCH_BENCH_1M=1, 1M) articles already
// indexed, and the heap the index holds per indexed article, for two
// kinds of article (benchTexts): "rss", feed items shaped like the real
// ones of rss-2026-01 (their feeds, lengths and words, a link each), the
// reference; and "uniform", 60 words drawn evenly from 5,000 with no link,
// a stress case for stories (at 1M nearly every story band has an owner).
// The records (sketches) are built before the clock starts:
// BenchmarkRecord is that cost, the same at any index size. The articles
// are spread over the horizon; in the "steady" case, 200k of them over
// two horizons, so that the older half has expired and its keys been
// dropped from the merged table, as in a daemon running for longer than a
// horizon (the heap is then per article still indexed).
// story-cands/article is how many earlier articles each new one is
// compared with for its story. The sizes are timed one after the other,
// and the new articles stay in the index (-benchtime 20000x takes the 10k
// one to 30k), all in its newest segment, whose tables are given room for
// them first (reserve): BenchmarkScaling measures the ratio of the sizes'
// costs.
func BenchmarkIndexed(b *testing.B) {
	type size struct {
		name        string
		n, horizons int
	}
	sizes := []size{{"indexed=10000", 10_000, 1}, {"indexed=100000", 100_000, 1}, {"steady=200000", 200_000, 2}}
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		sizes = append(sizes, size{"indexed=1000000", 1_000_000, 1})
	}
	for _, text := range []string{"rss", "uniform"} {
		b.Run(text, func(b *testing.B) {
			article := benchTexts(b, text)
			for _, sz := range sizes {
				benchIndexed(b, sz.name, sz.n, sz.horizons, article)
			}
		})
	}
}

// benchIndexed is a size of BenchmarkIndexed: n articles over horizons.
func benchIndexed(b *testing.B, name string, n, horizons int, article func(int) *pipeline.Article) {
	b.Run(name, func(b *testing.B) {
		st := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
		record := func(i int) *Record { return st.Record(article(i)) }
		x := newIndexed(b, n, horizons, record, true)
		x.reserve(benchPool)
		fresh := make([]*Record, benchPool)
		for i := range fresh {
			fresh[i] = record(n + i)
		}
		// Besides the mean (ns/op), the median of the mean over each
		// run of sliceOf records: the timed stretch is short (20,000
		// records, a fraction of a second) and a shared machine's
		// bursts move the mean; the median of 20 slices does not.
		const sliceOf = 1000
		var perSlice []float64
		story0 := x.led.Index().storyCands
		start := time.Now()
		b.ResetTimer()
		ctx := context.Background()
		for i := 0; b.Loop(); i++ {
			x.clock = x.clock.Add(time.Microsecond)
			if _, err := x.led.Append(ctx, fresh[i%benchPool]); err != nil {
				b.Fatal(err)
			}
			if (i+1)%sliceOf == 0 {
				perSlice = append(perSlice, float64(time.Since(start).Nanoseconds())/sliceOf)
				start = time.Now()
			}
		}
		if len(perSlice) > 0 {
			b.ReportMetric(median(perSlice), "median-ns/article")
		}
		b.ReportMetric(x.heap, "heap-B/indexed")
		// The story candidates each new article is compared with grow
		// with the index (more articles own more story bands), and
		// are part of the cost.
		story1 := x.led.Index().storyCands
		b.ReportMetric(float64(story1-story0)/float64(b.N), "story-cands/article")
	})
}

// BenchmarkScaling is the figure the dedup issue sets a target for: the
// cost of deciding a new article with 1M articles indexed (100k unless
// WIREWATCH_BENCH_1M=1) over that with 10k. BenchmarkIndexed times the
// sizes one after the other, a minute apart at 1M, and a shared machine's
// slow and fast spells move their ratio by a third between runs; and its
// 10k index grows to 30k while it is timed. Here the two sizes decide the
// same new articles, each from records of its own, in turns of 1,000,
// each after 500 untimed ones (so that neither starts on the index caches
// the other filled), the smaller first in even turns and the larger first
// in odd ones; the ratio is taken turn by turn, from measurements
// milliseconds apart. The 10k index is built afresh for each turn, so it
// holds 10,500 to 11,500 articles while timed; the large one grows by
// 1,500 a turn. The new articles all go to each index's newest segment,
// whose tables are given room for them first (reserve). ratio is the
// median of the turns' ratios, ns-10k and ns-large the medians of the
// turns' costs. -benchtime sets the articles
// decided at each size (20000x: 20 turns); ns/op counts both sizes, the
// untimed articles and the rebuilds.
func BenchmarkScaling(b *testing.B) {
	large := 100_000
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		large = 1_000_000
	}
	const turn, warmup = 1000, 500
	for _, text := range []string{"rss", "uniform"} {
		var s *scaling
		b.Run(fmt.Sprintf("%s/indexed=%d", text, large), func(b *testing.B) {
			if s == nil {
				s = newScaling(b, benchTexts(b, text), large)
			}
			turns := max(1, b.N/turn)
			s.big.reserve(turns * (warmup + turn))
			var ratios, smallNs, bigNs []float64
			b.ResetTimer()
			for t := range turns {
				forSmall, forBig := s.fresh(warmup + turn)
				small := newIndexed(b, len(s.base), 1, func(i int) *Record { return s.base[i] }, false)
				small.reserve(warmup + turn)
				var ns [2]time.Duration
				for k := range 2 {
					if (t+k)%2 == 0 {
						small.decide(b, forSmall[:warmup], time.Microsecond)
						ns[0] = small.decide(b, forSmall[warmup:], time.Microsecond)
					} else {
						s.big.decide(b, forBig[:warmup], time.Microsecond)
						ns[1] = s.big.decide(b, forBig[warmup:], time.Microsecond)
					}
				}
				smallNs, bigNs = append(smallNs, float64(ns[0])/turn), append(bigNs, float64(ns[1])/turn)
				ratios = append(ratios, float64(ns[1])/float64(ns[0]))
			}
			b.ReportMetric(median(ratios), "ratio")
			b.ReportMetric(median(smallNs), "ns-10k")
			b.ReportMetric(median(bigNs), "ns-large")
		})
	}
}

// scaling is what BenchmarkScaling builds once a size: the 10k index's
// records and the large index.
type scaling struct {
	st      *Stage
	article func(int) *pipeline.Article
	base    []*Record
	big     *indexed
	next    int // the next new article
}

func newScaling(b *testing.B, article func(int) *pipeline.Article, large int) *scaling {
	s := &scaling{st: NewStage(nil, Rules{}, true, metrics.NewUnregistered()), article: article, next: large}
	s.big = newIndexed(b, large, 1, func(i int) *Record {
		r := s.st.Record(article(i))
		if i < 10_000 {
			s.base = append(s.base, r)
		}
		return r
	}, false)
	return s
}

// fresh returns the records of the next n new articles twice, one set
// for each size: the same articles, records of their own.
func (s *scaling) fresh(n int) (small, big []*Record) {
	small, big = make([]*Record, n), make([]*Record, n)
	for i := range n {
		small[i], big[i] = s.st.Record(s.article(s.next+i)), s.st.Record(s.article(s.next+i))
	}
	s.next += n
	return small, big
}

// indexed is a ledger of articles spread over horizons of ledger time, as
// in a daemon at steady state (older segments sealed).
type indexed struct {
	led   *Memory
	clock time.Time
	heap  float64 // heap bytes per indexed article, when measured
}

// newIndexed appends record(0) to record(n-1), spread over horizons of
// ledger time. When measure is true it first makes them all, then
// measures the heap the index holds (two collections of the whole heap),
// so that only the index's allocations are counted; else it makes each as
// it appends it.
func newIndexed(b *testing.B, n, horizons int, record func(i int) *Record, measure bool) *indexed {
	b.Helper()
	rules := Rules{}
	x := &indexed{}
	var recs []*Record
	var before runtime.MemStats
	if measure {
		recs = make([]*Record, n)
		for i := range recs {
			recs[i] = record(i)
		}
		record = func(i int) *Record { return recs[i] }
		before = testkit.HeapAfterGC()
	}
	t0 := time.Unix(1_700_000_000, 0)
	step := time.Duration(horizons) * rules.withDefaults().Horizon / time.Duration(n)
	x.led = NewMemory(rules, func() time.Time { return x.clock })
	for i := range n {
		x.clock = t0.Add(time.Duration(i) * step)
		if _, err := x.led.Append(context.Background(), record(i)); err != nil {
			b.Fatal(err)
		}
	}
	if measure {
		after := testkit.HeapAfterGC()
		runtime.KeepAlive(recs) // (counted in both measurements)
		x.heap = float64(after.HeapAlloc-before.HeapAlloc) / float64(x.led.Index().Len())
	}
	return x
}

// reserve gives the newest segment's key tables room for n more
// articles' keys, at the rate the segment has them, as a daemon's newest
// segment has room for an eighth more than the last one had (newHot): a benchmark
// that decides many articles within one segment then times decisions,
// not the tables' growth (BenchmarkSteady times every cost).
func (x *indexed) reserve(n int) {
	idx := x.led.Index()
	seg := idx.segs[len(idx.segs)-1]
	for _, kt := range []*keyTables{&idx.exact, &idx.bands} {
		kt.cur.resize(kt.cur.n + kt.cur.n*n/max(1, seg.entries.len()))
	}
}

// decide appends recs, each step of ledger time after the one before,
// and returns the time taken.
func (x *indexed) decide(b *testing.B, recs []*Record, step time.Duration) time.Duration {
	start := time.Now()
	for _, r := range recs {
		x.clock = x.clock.Add(step)
		if _, err := x.led.Append(context.Background(), r); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}

// median is the median of v (sorted in place).
func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

// BenchmarkSteady is the cost of an article in a daemon at steady state
// with n articles indexed: articles arrive at n a horizon and as many
// expire, and every Horizon/16 the newest segment is sealed, its keys
// merged into the sealed tables while records wait. ns/op is the mean,
// seals included (BenchmarkIndexed times a stretch without one);
// max-apply-ms the longest single article, a seal when the run holds one
// (-benchtime of n/16 records or more: 62500x covers one at 1M). 10k and
// 100k, and 1M with WIREWATCH_BENCH_1M=1, for both kinds of article of
// BenchmarkIndexed. The index is brought to steady state (two horizons of
// articles) once per size; the records are built before the clock starts.
func BenchmarkSteady(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, text := range []string{"rss", "uniform"} {
		b.Run(text, func(b *testing.B) {
			article := benchTexts(b, text)
			for _, n := range sizes {
				benchSteady(b, n, article)
			}
		})
	}
}

// benchSteady is a size of BenchmarkSteady.
func benchSteady(b *testing.B, n int, article func(int) *pipeline.Article) {
	var s *steady
	b.Run(fmt.Sprintf("indexed=%d", n), func(b *testing.B) {
		if s == nil {
			s = newSteady(b, n, article)
		}
		recs := make([]*Record, b.N)
		for i := range recs {
			recs[i] = s.record()
		}
		var worst time.Duration
		b.ResetTimer()
		for _, r := range recs {
			worst = max(worst, s.decide(b, []*Record{r}, s.step))
		}
		b.ReportMetric(float64(worst.Microseconds())/1000, "max-apply-ms")
		b.ReportMetric(float64(s.led.Index().Len()), "indexed")
	})
}

// steady is an index fed at n articles a horizon.
type steady struct {
	*indexed
	st      *Stage
	article func(int) *pipeline.Article
	step    time.Duration
	next    int
}

// newSteady is an index of two horizons of articles at n a horizon.
func newSteady(b *testing.B, n int, article func(int) *pipeline.Article) *steady {
	s := &steady{st: NewStage(nil, Rules{}, true, metrics.NewUnregistered()), article: article,
		step: Rules{}.withDefaults().Horizon / time.Duration(n)}
	s.indexed = newIndexed(b, 2*n, 2, func(int) *Record { return s.record() }, false)
	return s
}

// record is the next article's record.
func (s *steady) record() *Record {
	s.next++
	return s.st.Record(s.article(s.next - 1))
}

// benchTexts returns what makes the i-th article of the index
// benchmarks' kind text: "uniform", a short feed item of 60 words drawn
// evenly from 5,000, from one of 500 feeds, without a link; "rss", a feed
// item shaped like the i-th entry of rss-2026-01 (cycled): its feed, and
// its title and description as many words long as the entry's once
// normalised (normalize.ToText: markup out, as the daemon's normalize
// stage takes it out), of words drawn at random from all the normalised
// titles, or all the descriptions, of the entries in its language (so as
// often as they occur there), and a link of its own. Drawn words keep the
// real vocabulary and its frequencies, which decide how many keys an
// article shares with earlier ones (BENCHMARKS.md, session 19, compares
// the story candidates and the heap with the real entries').
func benchTexts(tb testing.TB, text string) func(i int) *pipeline.Article {
	if text == "uniform" {
		return func(i int) *pipeline.Article {
			return &pipeline.Article{ID: benchID(i), Feed: benchFeed(i % 500), Title: "t", Text: storyText(i, 60)}
		}
	}
	ents, err := corpus.ReadRSS2026(filepath.Dir(corpus.Dataset(tb, corpus.RSS2026)), 0)
	if err != nil {
		tb.Fatal(err)
	}
	type words struct{ title, text []string }
	type shape struct {
		feed, lang        string
		titleLen, textLen int
	}
	byLang := map[string]*words{}
	shapes := make([]shape, len(ents))
	for i, e := range ents {
		l := strings.ToLower(e.Language)
		l = l[:min(2, len(l))]
		if byLang[l] == nil {
			byLang[l] = &words{}
		}
		w := byLang[l]
		title, desc := strings.Fields(normalize.ToText(e.Title)), strings.Fields(normalize.ToText(e.Description))
		w.title, w.text = append(w.title, title...), append(w.text, desc...)
		shapes[i] = shape{feed: e.SourceURL, lang: l, titleLen: len(title), textLen: len(desc)}
	}
	return func(i int) *pipeline.Article {
		sh := shapes[i%len(shapes)]
		w := byLang[sh.lang]
		rng := rand.New(rand.NewPCG(uint64(i), 11))
		draw := func(from []string, n int) string {
			out := make([]string, n)
			for j := range out {
				out[j] = from[rng.IntN(len(from))]
			}
			return strings.Join(out, " ")
		}
		return &pipeline.Article{ID: benchID(i), Feed: sh.feed, FeedKey: sources.FeedKey(sh.feed),
			Title: draw(w.title, sh.titleLen), Text: draw(w.text, sh.textLen),
			CanonicalURL: fmt.Sprint("https://example.com/news/", i)}
	}
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

// BenchmarkSnapshot is the cost of saving and loading the snapshot of an
// index of 100k (with WIREWATCH_BENCH_1M=1, 1M) rss-shaped articles spread
// over the horizon, as a daemon's (16 segments, all but the newest
// sealed): what a restarted daemon spends instead of replaying
// the ledger, and what a save holds the index for: written to a file and
// synced, as a daemon saves it, and read back.
func BenchmarkSnapshot(b *testing.B) {
	n := 100_000
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		n = 1_000_000
	}
	st := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
	article := benchTexts(b, "rss")
	x := newIndexed(b, n, 1, func(i int) *Record { return st.Record(article(i)) }, false)
	path := filepath.Join(b.TempDir(), "index.snap")
	var save, hold, load time.Duration
	var size int64
	for b.Loop() {
		t0 := time.Now()
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		th := time.Now()
		if err := x.led.Index().WriteSnapshot(f, "t"); err != nil {
			b.Fatal(err)
		}
		hold += time.Since(th)
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		t1 := time.Now()
		f, err = os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		fi, _ := f.Stat()
		size = fi.Size()
		y, err := ReadSnapshot(f, size, Rules{}, "t")
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		load += time.Since(t1)
		save += t1.Sub(t0)
		if y.Len() != n {
			b.Fatalf("loaded %d articles, want %d", y.Len(), n)
		}
	}
	b.ReportMetric(save.Seconds()/float64(b.N), "save-s")
	b.ReportMetric(hold.Seconds()/float64(b.N), "hold-s") // the index held: the write, not the sync
	b.ReportMetric(load.Seconds()/float64(b.N), "load-s")
	b.ReportMetric(float64(size)/float64(n), "B/article")
}
