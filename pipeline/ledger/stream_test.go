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
	for seq := uint64(1); seq <= last; seq++ {
		if seq == 31 {
			continue // the undecodable one
		}
		a, errA := live.Index().Wait(ctx, seq)
		b, errB := later.Index().Wait(ctx, seq)
		if errA != nil || errB != nil || fmt.Sprint(a.Duplicate, a.Story) != fmt.Sprint(b.Duplicate, b.Story) {
			t.Fatalf("record %d: live %v %v (%v), replayed %v %v (%v)", seq, a.Duplicate, a.Story, errA, b.Duplicate, b.Story, errB)
		}
	}
	if n, _ := metrics.Sum(reg, "wirewatch_stage_errors_total", map[string]string{"stage": "ledger", "reason": "decode"}); n != 1 {
		t.Fatalf("decode errors counted %v, want 1", n)
	}
	if n, _ := metrics.Sum(reg, "wirewatch_dedup_index_articles", nil); n != 60 {
		t.Fatalf("index gauge %v, want 60", n)
	}
}
