package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Sum adds up the values of every series of the metric called name whose
// labels include all of labels (a counter's or gauge's value, a histogram's
// sample count). Tests and the bench harness read metrics this way, the
// way a dashboard would.
func Sum(g prometheus.Gatherer, name string, labels map[string]string) (float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return 0, err
	}
	total := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			match := true
			for k, v := range labels {
				if have[k] != v {
					match = false
					break
				}
			}
			if !match {
				continue
			}
			switch {
			case m.Counter != nil:
				total += m.GetCounter().GetValue()
			case m.Gauge != nil:
				total += m.GetGauge().GetValue()
			case m.Histogram != nil:
				total += float64(m.GetHistogram().GetSampleCount())
			case m.Untyped != nil:
				total += m.GetUntyped().GetValue()
			}
		}
	}
	return total, nil
}
