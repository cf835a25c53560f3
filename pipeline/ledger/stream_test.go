package ledger

import (
	"bytes"
	"context"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// A process that starts later (a restarted daemon, another daemon) builds
// its index by replaying the ledger and reaches the same verdict on every
// record as the process that was there; a record nobody can decode is
// skipped with a metric, and the ledger goes on.
func TestReplayAgrees(t *testing.T) {
	ctx := context.Background()
	_, _, js := natsutil.StartTestServer(t)
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	live := NewStream(StreamConfig{JS: js})
	runInBackground(t, live.Run)
	st := NewStage(live, Rules{}, true, metrics.NewUnregistered())
	var arts []*pipeline.Article
	for i := range 60 {
		// Ten stories, six outlets each: copies, near copies, stories.
		a := &pipeline.Article{
			ID: fmt.Sprintf("a%d", i), Feed: fmt.Sprintf("outlet %d", i%6),
			Title: fmt.Sprintf("Story %d told by outlet %d", i/6, i%6),
			Text:  fmt.Sprintf("Outlet %d says: %s", i%6, storyText(i/6, 120)),
		}
		if i == 30 {
			if _, err := js.Publish(ctx, natsutil.SubjectLedger, []byte("not a record")); err != nil {
				t.Fatal(err)
			}
		}
		if i == 40 { // a batch of two records written by another process
			two := [][]byte{}
			for _, id := range []string{"x1", "x2"} {
				b, _ := st.Record(&pipeline.Article{ID: id, Feed: "other", Title: "t", Text: storyText(1000, 80)}).Encode(nil)
				two = append(two, b)
			}
			msg, _ := EncodeBatch(two)
			if _, err := js.Publish(ctx, natsutil.SubjectLedger, msg); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.Process(ctx, a); err != nil {
			t.Fatal(err)
		}
		arts = append(arts, a)
	}
	dups := 0
	for _, a := range arts {
		if a.Duplicate != nil {
			dups++
		}
	}
	if dups != 50 {
		t.Fatalf("%d duplicates among 10 stories of 6 copies, want 50", dups)
	}

	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	later := NewStream(StreamConfig{JS: js, Metrics: m})
	runInBackground(t, later.Run)
	last := live.Index().Applied()
	testkit.WaitFor(t, 10*time.Second, "the replay to catch up", func() (bool, string) {
		got := later.Index().Applied()
		return got >= last, fmt.Sprintf("applied %d of %d", got, last)
	})
	var positions []uint64
	posOf := map[string]uint64{}
	live.Index().mu.Lock()
	for _, s := range live.Index().segs {
		for j := range s.entries.len() {
			e := s.ref(j)
			positions = append(positions, e.seq())
			posOf[string(e.id())] = e.seq()
		}
	}
	live.Index().mu.Unlock()
	if len(positions) != 62 {
		t.Fatalf("%d records in the live index, want 60 articles + 2 from another process", len(positions))
	}
	for _, pos := range positions {
		a, errA := live.Index().Wait(ctx, pos)
		b, errB := later.Index().Wait(ctx, pos)
		if errA != nil || errB != nil || fmt.Sprint(a.Duplicate, a.Story) != fmt.Sprint(b.Duplicate, b.Story) {
			t.Fatalf("record at %d: live %v %v (%v), replayed %v %v (%v)", pos, a.Duplicate, a.Story, errA, b.Duplicate, b.Story, errB)
		}
	}
	if posOf["x2"] != posOf["x1"]+1 {
		t.Fatalf("x1 at %d, x2 at %d: want consecutive positions in one message", posOf["x1"], posOf["x2"])
	}
	x2, err := later.Index().Wait(ctx, posOf["x2"])
	if err != nil || x2.Duplicate == nil || x2.Duplicate.Of != "x1" {
		t.Fatalf("the second record of the two-record message: %+v, %v; want a duplicate of x1", x2.Duplicate, err)
	}
	if n, _ := metrics.Sum(reg, "wirewatch_stage_errors_total", map[string]string{"stage": "ledger", "reason": "decode"}); n != 1 {
		t.Fatalf("decode errors counted %v, want 1", n)
	}
	if n, _ := metrics.Sum(reg, "wirewatch_dedup_index_articles", nil); n != 62 {
		t.Fatalf("index gauge %v, want 62", n)
	}
}

// A starting process's index is loaded (Stream.Loaded, which the daemon's
// readiness waits for) once it holds every record the ledger stored when
// it started, an undecodable last message included; a ledger that is
// empty, or whose records have all aged out, is loaded at once.
func TestLoaded(t *testing.T) {
	ctx := context.Background()
	_, _, js := natsutil.StartTestServer(t)
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	loaded := func() *Stream {
		t.Helper()
		s := NewStream(StreamConfig{JS: js})
		run(t, s) // (waits for Loaded)
		return s
	}
	if n := loaded().Index().Len(); n != 0 {
		t.Fatalf("empty ledger: %d records indexed", n)
	}

	st := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
	for b := range 3 {
		var recs []*Record
		for i := range MaxBatch {
			recs = append(recs, st.Record(&pipeline.Article{ID: fmt.Sprint("a", b, "-", i), Feed: "f", Title: "t", Text: storyText(b*MaxBatch+i, 60)}))
		}
		publishBatch(t, js, recs)
	}
	if _, err := js.Publish(ctx, natsutil.SubjectLedger, []byte("not a record")); err != nil {
		t.Fatal(err)
	}
	// Loaded is closed after the last stored record is applied, so the
	// index holds them all when it is seen closed.
	if n := loaded().Index().Len(); n != 3*MaxBatch {
		t.Fatalf("loaded with %d records indexed, want %d", n, 3*MaxBatch)
	}

	s, err := js.Stream(ctx, natsutil.StreamLedger)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil { // as if every record had aged out
		t.Fatal(err)
	}
	if n := loaded().Index().Len(); n != 0 {
		t.Fatalf("purged ledger: %d records indexed", n)
	}
}

// positions are the ledger positions of the index's entries, in order.
func (x *Index) positions() iter.Seq[uint64] {
	x.mu.Lock()
	var pos []uint64
	for _, s := range x.segs {
		for j := range s.entries.len() {
			pos = append(pos, s.ref(j).seq())
		}
	}
	x.mu.Unlock()
	return slices.Values(pos)
}

// publishBatch appends recs to the ledger as one message, as another
// process's workers would, and returns its sequence.
func publishBatch(t *testing.T, js jetstream.JetStream, recs []*Record) uint64 {
	t.Helper()
	var batch [][]byte
	for _, r := range recs {
		data, err := r.Encode(nil)
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, data)
	}
	msg, err := EncodeBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(context.Background(), natsutil.SubjectLedger, msg)
	if err != nil {
		t.Fatal(err)
	}
	return ack.Sequence
}

// run runs s until the returned stop is called, which waits for Run to
// return (and so for the snapshot it saves as it ends).
func run(t *testing.T, s *Stream) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	select {
	case <-s.Loaded():
	case err := <-done:
		t.Fatalf("ledger tail stopped: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("ledger not loaded after 10s")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("ledger tail: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// A restarted process loads its snapshot and replays only the records
// after it: it holds records the ledger no longer does, and reaches the
// verdicts of a process that replayed everything. A damaged snapshot, one
// of a ledger stream declared again, and one the ledger has moved past
// (the records after it gone) are each counted and ignored, and the
// ledger is replayed from its first record.
func TestSnapshotRestart(t *testing.T) {
	ctx := context.Background()
	_, _, js := natsutil.StartTestServer(t)
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "index.snap")
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	stream := func(snapshot string) *Stream {
		return NewStream(StreamConfig{JS: js, Snapshot: snapshot, SnapshotEvery: time.Hour, Metrics: m})
	}
	loads := func(result string) float64 {
		n, _ := metrics.Sum(reg, "wirewatch_dedup_index_snapshots_total", map[string]string{"op": "load", "result": result})
		return n
	}
	article := func(i int) *pipeline.Article {
		// Stories of three copies each, from three outlets.
		return &pipeline.Article{ID: fmt.Sprint("a", i), Feed: fmt.Sprint("outlet ", i%3), Title: "t",
			Text: fmt.Sprintf("Outlet %d: %s", i%3, storyText(i/3, 80))}
	}

	// A first process decides 300 articles and saves its snapshot as it
	// stops.
	first := stream(path)
	stopFirst := run(t, first)
	st := NewStage(first, Rules{}, true, metrics.NewUnregistered())
	for i := range 300 {
		if err := st.Process(ctx, article(i)); err != nil {
			t.Fatal(err)
		}
	}
	snapAt := first.Index().Applied() >> 8
	stopFirst()
	if n, _ := metrics.Sum(reg, "wirewatch_dedup_index_snapshots_total", map[string]string{"op": "save", "result": "ok"}); n != 1 {
		t.Fatalf("snapshots saved: %v, want 1", n)
	}
	s1, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Another process appends 100 more (copies of earlier stories among
	// them), and a process that replays everything is the reference.
	other := NewStage(nil, Rules{}, true, metrics.NewUnregistered())
	for b := range 2 {
		var recs []*Record
		for i := 300 + 50*b; i < 350+50*b; i++ {
			a := article(i)
			a.ID = fmt.Sprint("b", i)
			if i%4 == 0 {
				a.Text = article(i - 290).Text // a copy of an article the snapshot holds
			}
			recs = append(recs, other.Record(a))
		}
		publishBatch(t, js, recs)
	}
	reference := stream("")
	run(t, reference)
	if n := reference.Index().Len(); n != 400 {
		t.Fatalf("the reference replayed %d records, want 400", n)
	}
	// The ledger drops every record the snapshot holds.
	ledgerStream, err := js.Stream(ctx, natsutil.StreamLedger)
	if err != nil {
		t.Fatal(err)
	}
	if err := ledgerStream.Purge(ctx, jetstream.WithPurgeSequence(snapAt+1)); err != nil {
		t.Fatal(err)
	}

	restarted := stream(path)
	stopRestarted := run(t, restarted)
	if loads("ok") != 1 || restarted.Index().Len() != 400 {
		t.Fatalf("restarted: %v snapshots loaded, %d records indexed; want 1 and 400 (300 from the snapshot)", loads("ok"), restarted.Index().Len())
	}
	dups := 0
	for pos := range reference.Index().positions() {
		a, errA := reference.Index().Wait(ctx, pos)
		b, errB := restarted.Index().Wait(ctx, pos)
		if errA != nil || errB != nil || verdict(a) != verdict(b) {
			t.Fatalf("record at %d: replayed %s (%v), restarted from the snapshot %s (%v)", pos, verdict(a), errA, verdict(b), errB)
		}
		if pos>>8 > snapAt && b.Duplicate != nil {
			dups++
		}
	}
	if dups < 20 {
		t.Fatalf("%d of the records after the snapshot are duplicates, want 25: the test exercised too little", dups)
	}
	stopRestarted() // saves the snapshot of all 400

	s2, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	damaged := bytes.Clone(s2)
	damaged[len(damaged)/2] ^= 1
	if err := os.WriteFile(path, damaged, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := run(t, stream(path))
	if loads("damaged") != 1 {
		t.Fatalf("damaged snapshots counted: %v, want 1", loads("damaged"))
	}
	stop()

	// The ledger drops the first message after the first snapshot.
	if err := ledgerStream.Purge(ctx, jetstream.WithPurgeSequence(snapAt+2)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, s1, 0o600); err != nil {
		t.Fatal(err)
	}
	gap := stream(path)
	stop = run(t, gap)
	if loads("gap") != 1 || gap.Index().Len() != 50 {
		t.Fatalf("a snapshot the ledger moved past: %v counted as a gap, %d records indexed; want 1 and the 50 the ledger holds", loads("gap"), gap.Index().Len())
	}
	stop()

	if err := os.WriteFile(path, s2, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := js.DeleteStream(ctx, natsutil.StreamLedger); err != nil {
		t.Fatal(err)
	}
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	fresh := stream(path)
	run(t, fresh)
	if loads("stale") != 1 || fresh.Index().Len() != 0 {
		t.Fatalf("a snapshot of a ledger stream since declared again: %v counted stale, %d records indexed; want 1 and 0", loads("stale"), fresh.Index().Len())
	}
}
