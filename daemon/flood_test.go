package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// floodEnv sets the number of articles TestFloodHeapBounded queues
// (default 1,000; docs/hostile-input.md records bigger runs).
const floodEnv = "WIREWATCH_FLOOD_ARTICLES"

// floodLiveCap is how far the live heap (measured after a forced GC) may
// grow over the heap before the daemon started, while it drains a backlog
// of n articles. The whole process is measured, and two things in it grow
// with the articles *processed*, not with the backlog: the Nats-Msg-Id maps
// of the embedded nats-server (INGEST, ARTICLES and LEDGER remember every
// id published within their 2 h duplicates window) and the dedup ledger's
// index (every article inside dedup_horizon). Together they measured ~2 KiB
// per article (100,000 articles: +244 MiB, docs/hostile-input.md); on top
// sit nats-server's block buffers (tens of MiB). The pipeline itself holds at
// most MaxAckPending = workers×64 articles. So the cap is a fixed part plus
// 3 KiB per article: a daemon holding the backlog would need the articles'
// own ~16 KiB each. At the CI size (1,000) the backlog is smaller than the
// fixed part, so this test cannot tell a bounded pipeline from one holding
// the backlog; pipeline.TestRunnerBacklogStaysInStream does. HeapInuse,
// also reported, adds garbage not yet collected (GOGC), so it is not
// asserted.
func floodLiveCap(n int) int64 { return 80<<20 + int64(n)*3<<10 }

// floodWords is the vocabulary of the synthetic articles: news-like words
// so normalize and classify do real work, and random enough that content
// and near-duplicate detection find no copies.
var floodWords = strings.Fields(`ceasefire talks envoys sanctions Kyiv Moscow Brussels
	minister parliament budget harbour cable drone frontline negotiators summit guarantees
	coalition aid package exports grain port weather market bank energy pipeline strike
	election court ruling protest vaccine hospital school rail bridge airport border
	fishing festival museum orchestra league transfer striker goalkeeper derby season
	inflation rate central forecast growth housing rent wages union factory harvest`)

// floodWordsPerArticle makes a long article (~14 KB of JSON): the backlog
// is then large next to the daemon's fixed memory, so holding it would show.
const floodWordsPerArticle = 2000

func floodArticle(r *rand.Rand, i int, feedKey string) *pipeline.Article {
	var b strings.Builder
	b.WriteString("<p>")
	for w := range floodWordsPerArticle {
		if w > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(floodWords[r.IntN(len(floodWords))])
		if w%40 == 39 {
			b.WriteString(".</p><p>")
		}
	}
	b.WriteString(fmt.Sprintf(" Report number %d.</p>", i))
	title := fmt.Sprintf("Flood %d: %s %s %s", i, floodWords[r.IntN(len(floodWords))],
		floodWords[r.IntN(len(floodWords))], floodWords[r.IntN(len(floodWords))])
	link := fmt.Sprintf("https://flood.example/story/%d", i)
	feedURL := "https://flood.example/feed.xml"
	return &pipeline.Article{
		Version: pipeline.ArticleVersion,
		ID:      sources.ArticleKey(feedURL, strconv.Itoa(i), link, title, b.String()),
		Feed:    "Flood", FeedURL: feedURL, FeedKey: feedKey,
		GUID: strconv.Itoa(i), URL: link, Title: title, Content: b.String(),
		Published: time.Now().Add(-time.Duration(i) * time.Second), Fetched: time.Now(),
	}
}

// queueFlood starts the embedded server on the daemon's store, declares the
// streams as the daemon would and publishes n articles to INGEST, then
// shuts the server down: the daemon starts on a full queue.
func queueFlood(t *testing.T, dataDir string, n int) (payloadBytes int64) {
	t.Helper()
	cfg := testConfig(dataDir)
	emb, err := natsutil.StartEmbedded(natsutil.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: filepath.Join(dataDir, "jetstream")})
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Shutdown()
	nc, err := nats.Connect(emb.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, daemon.Limits(cfg)); err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 8))
	feedKey := sources.FeedKey("https://flood.example/feed.xml")
	subj := natsutil.SubjectIngest + "." + feedKey
	for i := range n {
		a := floodArticle(r, i, feedKey)
		data, err := json.Marshal(a)
		if err != nil {
			t.Fatal(err)
		}
		payloadBytes += int64(len(data))
		if _, err := js.PublishAsync(subj, data, jetstream.WithMsgID(a.ID)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		t.Fatal("publishes not acknowledged in time")
	}
	if got := streamMsgs(t, js, natsutil.StreamIngest); got != uint64(n) {
		t.Fatalf("INGEST holds %d, want %d", got, n)
	}
	return payloadBytes
}

// floodNearEnv=off turns near-duplicate detection off for the run
// (dedup.near: false), the dearest dedup check per article, so a big
// backlog drains sooner; the memory bound asserted is the same.
const floodNearEnv = "WIREWATCH_FLOOD_NEAR"

// floodProfileEnv names a file for a heap profile taken half-way through
// the drain (go tool pprof -sample_index=inuse_space daemon.test FILE).
const floodProfileEnv = "WIREWATCH_FLOOD_HEAPPROFILE"

func writeHeapProfile(t *testing.T, file string) {
	fh, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if err := pprof.Lookup("heap").WriteTo(fh, 0); err != nil {
		t.Fatal(err)
	}
}

// heapSampler reads HeapInuse every 25 ms until stopped, keeping the peak.
type heapSampler struct {
	stop chan struct{}
	done chan struct{}
	mu   sync.Mutex
	peak uint64 // HeapInuse: live data plus garbage not yet collected
	live uint64 // HeapAlloc right after a forced GC, every 20th sample
	n    int
}

func sampleHeap() *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		tick := time.NewTicker(25 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			h.mu.Lock()
			h.peak = max(h.peak, ms.HeapInuse)
			if h.n%20 == 0 {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				h.live = max(h.live, ms.HeapAlloc)
			}
			h.n++
			h.mu.Unlock()
			select {
			case <-h.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// sofar returns the peaks sampled up to now.
func (h *heapSampler) sofar() (peak, live uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.peak, h.live
}

func (h *heapSampler) finish() (peak, live uint64, samples int) {
	close(h.stop)
	<-h.done
	return h.peak, h.live, h.n
}

// A backlog of n long articles (default 1,000 × ~14 KB;
// WIREWATCH_FLOOD_ARTICLES=N for more) queued in INGEST before the daemon
// starts is drained by a daemon with 4 workers: the live heap, sampled while
// it drains, stays within floodLiveCap(n) of what it was before, and every
// article is archived.
func TestFloodHeapBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("flood: skipped with -short")
	}
	n := 1000
	if raceEnabled {
		n = 100 // the race detector makes each article far dearer; the bound is the same
	}
	if v := os.Getenv(floodEnv); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			t.Fatalf("%s=%q: want a positive number", floodEnv, v)
		}
	}
	dataDir := t.TempDir()
	began := time.Now()
	payload := queueFlood(t, dataDir, n)
	queued := time.Since(began)

	cfg := testConfig(dataDir)
	cfg.Pipeline.Workers = 4 // MaxAckPending 256, PullMaxMessages 32
	if v := os.Getenv(floodNearEnv); v == "off" {
		off := false
		cfg.Dedup.Near = &off
	}
	base := testkit.HeapAfterGC().HeapInuse
	h := sampleHeap()
	began = time.Now()
	d := start(t, cfg)
	profiled := false
	wait := 10 * time.Minute
	if dl, ok := t.Deadline(); ok && time.Until(dl)-time.Minute > wait {
		wait = time.Until(dl) - time.Minute // big runs: up to the -timeout, leaving a minute to report
	}
	nextLog := n / 10
	testkit.WaitFor(t, wait, fmt.Sprintf("%d articles archived and an idle pipeline", n), func() (bool, string) {
		got := streamMsgs(t, d.js, natsutil.StreamArticles)
		if f := os.Getenv(floodProfileEnv); f != "" && got >= uint64(n/2) && !profiled {
			profiled = true
			writeHeapProfile(t, f)
		}
		if n >= 10000 && got >= uint64(nextLog) {
			// Progress of a big run, so a run cut short still says what it measured.
			nextLog += n / 10
			peak, live := h.sofar()
			t.Logf("flood: %d/%d archived after %v; so far HeapInuse peak +%.1f MiB, live heap peak +%.1f MiB over the %.1f MiB before",
				got, n, time.Since(began).Round(time.Second), float64(int64(peak)-int64(base))/(1<<20),
				float64(int64(live)-int64(base))/(1<<20), float64(base)/(1<<20))
		}
		return got == uint64(n) && idle(t, d.js), fmt.Sprintf("%d archived", got)
	})
	drained := time.Since(began)
	peak, live, samples := h.finish()
	grew := int64(peak) - int64(base)
	t.Logf("flood: %d articles (%.1f MiB of JSON) queued in %v, drained in %v (%.0f articles/s, workers=%d); HeapInuse before %.1f MiB, peak %.1f MiB (+%.1f MiB) over %d samples; peak live heap after GC %.1f MiB",
		n, float64(payload)/(1<<20), queued.Round(time.Millisecond), drained.Round(time.Millisecond),
		float64(n)/drained.Seconds(), cfg.Pipeline.Workers,
		float64(base)/(1<<20), float64(peak)/(1<<20), float64(grew)/(1<<20), samples, float64(live)/(1<<20))
	if liveGrew := int64(live) - int64(base); liveGrew > floodLiveCap(n) {
		t.Errorf("live heap grew %.1f MiB while draining %d articles (%.1f MiB queued), want ≤ %d MiB",
			float64(liveGrew)/(1<<20), n, float64(payload)/(1<<20), floodLiveCap(n)>>20)
	}
	if got := counter(t, d.reg, "wirewatch_duplicates_total", nil); got != 0 {
		t.Errorf("%v of the distinct flood articles were marked duplicates", got)
	}
}
