package metrics

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/prometheus/client_golang/prometheus"
)

func TestSumByLabels(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.Fetches.WithLabelValues("error", "timeout").Add(2)
	m.Fetches.WithLabelValues("error", "http_5xx").Inc()
	m.Fetches.WithLabelValues("ok", "").Add(5)
	m.FetchDuration.WithLabelValues("ok").Observe(0.1)
	cases := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"wirewatch_fetches_total", map[string]string{"result": "error"}, 3},
		{"wirewatch_fetches_total", map[string]string{"result": "error", "reason": "timeout"}, 2},
		{"wirewatch_fetches_total", nil, 8},
		{"wirewatch_fetch_duration_seconds", nil, 1},
		{"wirewatch_nothing", nil, 0},
	}
	for _, c := range cases {
		got, err := Sum(reg, c.name, c.labels)
		if err != nil || got != c.want {
			t.Errorf("Sum(%s, %v) = %v, %v; want %v", c.name, c.labels, got, err, c.want)
		}
	}
}

// Every metric follows Prometheus naming: wirewatch_ prefix, _total on
// counters and only on counters, base units (seconds, bytes).
func TestNaming(t *testing.T) {
	reg := prometheus.NewRegistry()
	New(reg)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		name := mf.GetName()
		if strings.HasPrefix(name, "go_") || strings.HasPrefix(name, "process_") {
			continue
		}
		n++
		if !strings.HasPrefix(name, "wirewatch_") {
			t.Errorf("%s lacks the wirewatch_ prefix", name)
		}
		isCounter := mf.GetType() == dto.MetricType_COUNTER
		if isCounter != strings.HasSuffix(name, "_total") {
			t.Errorf("%s: counters and only counters end in _total", name)
		}
		for _, bad := range []string{"_ms", "_milliseconds", "_kb", "_mb"} {
			if strings.Contains(name, bad) {
				t.Errorf("%s: use base units", name)
			}
		}
	}
	if n == 0 {
		t.Fatal("no wirewatch metrics gathered")
	}
}
