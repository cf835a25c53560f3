package bench

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// A few-second run of the whole harness, so it keeps working. The figures
// of a real run are in BENCHMARKS.md.
func TestQuickRun(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	arts := corpus.RSSArticles(t, 3000)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := Run(ctx, Options{Articles: 2000, OneHop: 5000, LatencyRate: 200, LatencyFor: 2 * time.Second, Corpus: arts, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if res.OneHop.PerSec <= 0 || res.Pipeline.PerSec <= 0 || res.Pipeline.RatioToOneHop <= 0 {
		t.Errorf("rates missing: %+v", res)
	}
	if res.Pipeline.Alerts == 0 {
		t.Error("the replay produced no alert: the pipeline did not classify")
	}
	for _, stage := range []string{"normalize", "dedup", "classify", "tag", "sink"} {
		if res.Pipeline.Stages[stage] <= 0 {
			t.Errorf("no rate for stage %s: %v", stage, res.Pipeline.Stages)
		}
	}
	if res.Latency.Measured != 400 || res.Latency.P50ms <= 0 || res.Latency.P99ms < res.Latency.P50ms {
		t.Errorf("latency: %+v", res.Latency)
	}
	table := res.Table()
	for _, want := range []string{"raw JetStream one hop", "ratio to one hop", "p99.9"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}
	t.Logf("\n%s", table)
}

// A small farm: new items are published within one interval and most
// polls are answered 304.
func TestQuickFarm(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a feed farm")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	f, err := RunFarm(ctx, FarmOptions{Feeds: 200, Interval: time.Second, Duration: 4 * time.Second, NewEvery: 10, Hosts: 4, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", f)
	if f.Polls < 400 || f.NotMod < f.Polls/2 {
		t.Errorf("polls %d, not modified %d: want >= 400 polls, most 304", f.Polls, f.NotMod)
	}
	if f.NewItems == 0 || f.LateItems > 0 {
		t.Errorf("new items published %d, late %d (max delay %.2fs)", f.NewItems, f.LateItems, f.MaxDelayS)
	}
}
