package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// recorder is a stage that counts what it sees and fails as told.
type recorder struct {
	mu    sync.Mutex
	seen  map[string]int
	delay map[string]time.Duration
	fail  map[string]error // returned on the first attempt only
}

func (r *recorder) Name() string { return "recorder" }

func (r *recorder) Process(ctx context.Context, a *pipeline.Article) error {
	r.mu.Lock()
	r.seen[a.ID]++
	n, d, err := r.seen[a.ID], r.delay[a.ID], r.fail[a.ID]
	r.mu.Unlock()
	if d > 0 {
		select {
		case <-time.After(d): // the slow article being simulated
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if err != nil && (n == 1 || errors.As(err, new(*pipeline.PermanentError))) {
		return err
	}
	return nil
}

func (r *recorder) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[id]
}

func TestRunner(t *testing.T) {
	_, nc, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	rec := &recorder{
		seen:  map[string]int{},
		delay: map[string]time.Duration{"slow": 2 * time.Second},
		fail: map[string]error{
			"transient": errors.New("store unavailable"),
			"permanent": pipeline.Permanent("empty", errors.New("no title or text")),
		},
	}
	runner, err := pipeline.NewRunner(ctx, js, pipeline.RunnerConfig{
		Stream: natsutil.StreamIngest, Durable: "test", Chain: pipeline.Instrument(m, rec),
		Workers: 4, AckWait: 600 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Metrics: m,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()

	for _, id := range []string{"ok", "slow", "transient", "permanent"} {
		data, _ := json.Marshal(pipeline.Article{Version: pipeline.ArticleVersion, ID: id, Title: id})
		if err := nc.Publish("ww.ingest.test", data); err != nil {
			t.Fatal(err)
		}
	}
	_ = nc.Publish("ww.ingest.test", []byte("{not json"))
	data, _ := json.Marshal(pipeline.Article{Version: 99, ID: "future"})
	_ = nc.Publish("ww.ingest.test", data)

	cons, _ := js.Consumer(ctx, natsutil.StreamIngest, "test")
	deadline := time.Now().Add(20 * time.Second)
	for {
		info, err := cons.Info(ctx)
		if err == nil && info.AckFloor.Stream == 6 && info.NumAckPending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("consumer not drained: %+v", info)
		}
		time.Sleep(20 * time.Millisecond) // polling interval
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := rec.count("slow"); n != 1 {
		t.Errorf("slow article (2s, AckWait 600ms) processed %d times, want 1: in-progress not sent", n)
	}
	if n := rec.count("transient"); n != 2 {
		t.Errorf("transient failure processed %d times, want 2 (fail, retry)", n)
	}
	if n := rec.count("permanent"); n != 1 {
		t.Errorf("permanent failure processed %d times, want 1 (terminated)", n)
	}
	want := map[string]float64{"empty": 1, "decode": 1, "version": 1}
	for reason, v := range want {
		got, _ := metrics.Sum(reg, "wirewatch_stage_errors_total", map[string]string{"reason": reason})
		if got != v {
			t.Errorf("errors with reason %s = %v, want %v", reason, got, v)
		}
	}
	if got, _ := metrics.Sum(reg, "wirewatch_redeliveries_total", nil); got != 1 {
		t.Errorf("redeliveries = %v, want 1 (the transient failure)", got)
	}
}
