package pipeline_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// gate is a stage that holds every article until the test opens it, and
// counts how many articles entered it and how many times each got through.
type gate struct {
	open    chan struct{}
	entered atomic.Int64

	mu   sync.Mutex
	seen map[string]int
}

func (g *gate) Name() string { return "gate" }

func (g *gate) Process(ctx context.Context, a *pipeline.Article) error {
	g.entered.Add(1)
	select {
	case <-g.open:
	case <-ctx.Done():
		return ctx.Err()
	}
	g.mu.Lock()
	g.seen[a.ID]++
	g.mu.Unlock()
	return nil
}

// raceBuild reports whether the test binary was built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// A runner facing a backlog it cannot work through holds only what its
// consumer's bounds allow, and leaves the rest on disk in the stream.
//
// The test queues 20,000 articles of ~10 KB (~200 MB; 4,000 of ~50 KB under
// -race) in INGEST and runs
// the Runner with a chain whose only stage blocks until the test opens it,
// so nothing is ever acked. Once every worker is blocked and the consumer
// has stopped delivering, it checks what a user would check on a daemon
// stuck behind a flood:
//
//   - the consumer's NumAckPending (and Delivered) stay within
//     MaxAckPending (workers×64) plus one pull batch (workers×8). A runner
//     whose consumer has no MaxAckPending (or a huge one) and that pulls
//     ahead into an in-memory queue would show the whole backlog delivered
//     and ack-pending here.
//   - the bytes the runner's own NATS connection received stay within that
//     many articles. A runner that acks on receipt and queues articles in
//     memory keeps NumAckPending low but fails this: it receives the
//     backlog (and would lose it on a crash).
//   - NumPending still holds the rest of the backlog: it is in the stream,
//     not in the process. Any runner that pulled the backlog in fails this.
//   - the Go heap (the whole process, embedded nats-server included) grew
//     by far less than the backlog. Holding the articles, decoded or as
//     raw messages, costs at least their ~200 MB.
//
// Then the gate opens and every article is processed exactly once:
// bounding memory lost nothing.
func TestRunnerBacklogStaysInStream(t *testing.T) {
	if testing.Short() {
		t.Skip("flood: skipped with -short")
	}
	const workers = 4
	floodN, articleSize := 20000, 10<<10 // articles, bytes of content each
	if raceBuild() {
		// The race detector makes each message far dearer: fewer, larger
		// articles keep the backlog at ~200 MB and ~14× the bound.
		floodN, articleSize = 4000, 50<<10
	}
	maxAckPending := workers * 64 // what NewRunner declares
	pullBatch := workers * 8      // what Run asks for per pull
	bound := maxAckPending + pullBatch

	emb, nc, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}

	// Queue the backlog. The content differs per article only in its
	// number; the size is what matters.
	body := strings.Repeat("Envoys met in Geneva to discuss a ceasefire and security guarantees. ", articleSize/69+1)[:articleSize]
	pub, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(1024))
	if err != nil {
		t.Fatal(err)
	}
	var backlogBytes int64
	began := time.Now()
	for i := range floodN {
		id := fmt.Sprintf("flood-%05d", i)
		data, err := json.Marshal(pipeline.Article{Version: pipeline.ArticleVersion, ID: id, Feed: "Flood", FeedKey: "flood",
			Title: "Flood " + id, Content: body})
		if err != nil {
			t.Fatal(err)
		}
		backlogBytes += int64(len(data))
		if _, err := pub.PublishAsync(natsutil.SubjectIngest+".flood", data, jetstream.WithMsgID(id)); err != nil {
			t.Fatalf("publish %d: %v", i, err)
		}
	}
	select {
	case <-pub.PublishAsyncComplete():
	case <-time.After(5 * time.Minute):
		t.Fatal("backlog publishes not acknowledged in 5m")
	}
	articleBytes := backlogBytes / int64(floodN)
	queued := time.Since(began)

	// The runner gets its own connection so what it received can be read
	// from that connection's counters.
	rnc, err := nats.Connect(emb.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	defer rnc.Close()
	rjs, err := jetstream.New(rnc)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(prometheus.NewRegistry())
	g := &gate{open: make(chan struct{}), seen: map[string]int{}}
	runner, err := pipeline.NewRunner(ctx, rjs, pipeline.RunnerConfig{
		Stream: natsutil.StreamIngest, Durable: "flood", Chain: pipeline.Instrument(m, g),
		// Long enough that nothing waiting in the pull buffer is
		// redelivered while the test holds the gate, even under -race.
		Workers: workers, AckWait: 5 * time.Minute, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	cons, err := js.Consumer(ctx, natsutil.StreamIngest, "flood")
	if err != nil {
		t.Fatal(err)
	}
	if got := cons.CachedInfo().Config.MaxAckPending; got != maxAckPending {
		t.Fatalf("consumer MaxAckPending = %d, want workers×64 = %d (the bound this test checks)", got, maxAckPending)
	}

	base := testkit.HeapAfterGC().HeapAlloc
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()

	// Wait until every worker is blocked in the gate and the consumer has
	// stopped delivering (the same count over several polls, and all of it
	// arrived). A runner that keeps pulling never settles here, or settles
	// only once it has the whole backlog.
	var info *jetstream.ConsumerInfo
	var prevDelivered uint64
	steady := 0
	testkit.WaitFor(t, 2*time.Minute, "all workers blocked and deliveries stopped", func() (bool, string) {
		var err error
		info, err = cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		in := rnc.Stats().InMsgs
		if g.entered.Load() == workers && info.Delivered.Consumer == prevDelivered && in >= info.Delivered.Consumer {
			steady++
		} else {
			steady = 0
		}
		prevDelivered = info.Delivered.Consumer
		return steady >= 10, fmt.Sprintf("%d in the gate, %d delivered, %d messages received", g.entered.Load(), info.Delivered.Consumer, in)
	})
	grew := int64(testkit.HeapAfterGC().HeapAlloc) - int64(base)
	stats := rnc.Stats()
	t.Logf("backlog %d × %d B = %.1f MiB; blocked with %d in the gate: NumAckPending %d, delivered %d, NumPending %d; runner connection received %d messages, %.2f MiB; live heap %+.1f MiB",
		floodN, articleBytes, float64(backlogBytes)/(1<<20), g.entered.Load(), info.NumAckPending, info.Delivered.Consumer,
		info.NumPending, stats.InMsgs, float64(stats.InBytes)/(1<<20), float64(grew)/(1<<20))

	if info.NumAckPending > bound || info.Delivered.Consumer > uint64(bound) {
		t.Errorf("NumAckPending %d, delivered %d: the consumer handed out more than MaxAckPending+batch = %d articles",
			info.NumAckPending, info.Delivered.Consumer, bound)
	}
	// Slack for control traffic on the connection: API replies, heartbeats.
	if limit := uint64(bound)*uint64(articleBytes) + 1<<20; stats.InBytes > limit {
		t.Errorf("the runner's connection received %.1f MiB, more than %d articles (%.1f MiB): the backlog is being pulled into the process",
			float64(stats.InBytes)/(1<<20), bound, float64(limit)/(1<<20))
	}
	if want := uint64(floodN - bound); info.NumPending < want {
		t.Errorf("NumPending %d, want ≥ %d: the backlog left the stream", info.NumPending, want)
	}
	if info.NumPending+uint64(info.NumAckPending) != uint64(floodN) {
		t.Errorf("NumPending %d + NumAckPending %d != %d queued: nothing may be acked while the gate is shut",
			info.NumPending, info.NumAckPending, floodN)
	}
	if limit := backlogBytes / 4; grew > limit {
		t.Errorf("live heap grew %.1f MiB with a %.1f MiB backlog queued, want ≤ %.1f MiB (a quarter of it)",
			float64(grew)/(1<<20), float64(backlogBytes)/(1<<20), float64(limit)/(1<<20))
	}

	// Open the gate: everything is processed, each article once.
	close(g.open)
	began = time.Now()
	testkit.WaitFor(t, 10*time.Minute, "backlog drained", func() (bool, string) {
		info, err := cons.Info(ctx)
		if err != nil {
			return false, err.Error()
		}
		return info.AckFloor.Stream == uint64(floodN) && info.NumAckPending == 0 && info.NumPending == 0,
			fmt.Sprintf("ack floor %d, NumAckPending %d, NumPending %d", info.AckFloor.Stream, info.NumAckPending, info.NumPending)
	})
	t.Logf("queued in %v, drained in %v", queued.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.seen) != floodN {
		t.Errorf("%d distinct articles processed, want %d", len(g.seen), floodN)
	}
	for id, n := range g.seen {
		if n != 1 {
			t.Errorf("article %s processed %d times, want once", id, n)
		}
	}
	if n := g.entered.Load(); n != int64(floodN) {
		t.Errorf("the chain ran %d times for %d articles, want once each", n, floodN)
	}
}
