package ledger

import (
	"context"
	"fmt"
	"testing"
	"time"

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
