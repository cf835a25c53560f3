package metrics_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
)

func TestStreamCollectorReportsStreamSizes(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx := context.Background()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := js.Publish(ctx, "ww.ingest.0123456789abcdef", []byte(`{"v":1}`)); err != nil {
			t.Fatal(err)
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewStreamCollector(js, slog.New(slog.DiscardHandler), natsutil.StreamIngest, natsutil.StreamAlerts, "MISSING"))

	get := func(name, stream string) float64 {
		t.Helper()
		v, err := metrics.Sum(reg, name, map[string]string{"stream": stream})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if got := get("wirewatch_stream_messages", natsutil.StreamIngest); got != 3 {
		t.Errorf("INGEST messages = %v, want 3", got)
	}
	if got := get("wirewatch_stream_bytes", natsutil.StreamIngest); got <= 0 {
		t.Errorf("INGEST bytes = %v, want > 0", got)
	}
	if got := get("wirewatch_stream_messages", natsutil.StreamAlerts); got != 0 {
		t.Errorf("ALERTS messages = %v, want 0", got)
	}
	if got := get("wirewatch_stream_info_ok", natsutil.StreamIngest); got != 1 {
		t.Errorf("INGEST info_ok = %v, want 1", got)
	}
	if got := get("wirewatch_stream_info_ok", "MISSING"); got != 0 {
		t.Errorf("MISSING info_ok = %v, want 0", got)
	}
}
