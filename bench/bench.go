// Package bench measures Wirewatch against the broker's own limit, in one
// run on one machine: the raw JetStream rate for article-sized messages
// (publish + acked consume, one hop, file storage, embedded server), the
// full daemon replaying real feed entries, and ingest-to-alert latency at a
// fixed offered load. `wirewatch bench` prints the table and writes JSON.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/cputime"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Options size a run.
type Options struct {
	// Articles replayed through the pipeline (the corpus repeats with
	// fresh ids to reach it).
	Articles int
	// OneHop messages for the raw broker rate.
	OneHop int
	// LatencyRate articles/s offered for LatencyFor.
	LatencyRate int
	LatencyFor  time.Duration
	// Workers of the pipeline (0: the config default).
	Workers int
	// Farm, when Feeds > 0, runs the polling measurement.
	Farm FarmOptions
	// Restart, when Stored > 0 and Binary is set, runs the restart
	// measurement.
	Restart RestartOptions
	// Corpus is the replay source (real feed entries).
	Corpus []*pipeline.Article
	// Dir holds the JetStream files (a temporary directory when empty).
	Dir      string
	Logger   *slog.Logger
	Progress func(stage string, done, total int)
}

// Result is everything one run measured.
type Result struct {
	When     time.Time `json:"when"`
	Machine  Machine   `json:"machine"`
	OneHop   Rate      `json:"one_hop"`
	Pipeline Pipeline  `json:"pipeline"`
	Latency  Latency   `json:"latency"`
	Farm     *Farm     `json:"farm,omitempty"`
	Restart  *Restart  `json:"restart,omitempty"`
}

// Machine describes where the run happened.
type Machine struct {
	Cores    int    `json:"cores"`
	MemBytes uint64 `json:"mem_bytes"`
	CPU      string `json:"cpu"`
	Go       string `json:"go"`
}

// Rate is a count over a time.
type Rate struct {
	Count   int     `json:"count"`
	Seconds float64 `json:"seconds"`
	PerSec  float64 `json:"per_sec"`
}

// Pipeline is the end-to-end replay.
type Pipeline struct {
	Rate
	Workers int `json:"workers"`
	// RatioToOneHop is the end-to-end rate over the one-hop rate.
	RatioToOneHop float64 `json:"ratio_to_one_hop"`
	// CPUSecondsPer1000 is process CPU (user+sys) per 1,000 articles.
	CPUSecondsPer1000 float64 `json:"cpu_seconds_per_1000"`
	PeakRSSBytes      uint64  `json:"peak_rss_bytes"`
	// Stages: 1 / mean time a stage spends on an article: CPU-bound
	// stages show their per-core rate, I/O-bound ones (dedup, sink) their
	// round-trip cost per worker.
	Stages map[string]float64 `json:"stages_per_core"`
	Alerts int                `json:"alerts"`
}

// Latency is ingest-to-output time at a fixed offered load: to the
// archived copy for every article, and to the alert for those that alert
// (the sink publishes both in the same step).
type Latency struct {
	Offered     int     `json:"offered_per_sec"`
	Seconds     float64 `json:"seconds"`
	Measured    int     `json:"measured"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	P999ms      float64 `json:"p999_ms"`
	Alerts      int     `json:"alerts"`
	AlertP50ms  float64 `json:"alert_p50_ms"`
	AlertP99ms  float64 `json:"alert_p99_ms"`
	AlertP999ms float64 `json:"alert_p999_ms"`
}

// Run measures everything Options ask for.
func Run(ctx context.Context, o Options) (*Result, error) {
	if len(o.Corpus) == 0 {
		return nil, fmt.Errorf("bench: empty corpus")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Progress == nil {
		o.Progress = func(string, int, int) {}
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "wirewatch-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		o.Dir = dir
	}
	res := &Result{When: time.Now().UTC(), Machine: machine()}
	payloads := make([][]byte, 0, min(len(o.Corpus), 2000))
	for i := range cap(payloads) {
		data, err := json.Marshal(o.Corpus[i])
		if err != nil {
			return nil, err
		}
		payloads = append(payloads, data)
	}
	var err error
	if o.OneHop > 0 {
		if res.OneHop, err = oneHop(ctx, filepath.Join(o.Dir, "onehop"), payloads, o.OneHop, o.Progress); err != nil {
			return nil, fmt.Errorf("one-hop: %w", err)
		}
	}
	if o.Articles > 0 || o.LatencyRate > 0 {
		if err := runDaemon(ctx, o, res); err != nil {
			return nil, err
		}
	}
	if o.Farm.Feeds > 0 {
		o.Farm.Dir, o.Farm.Logger = o.Dir, o.Logger
		f, err := RunFarm(ctx, o.Farm)
		if err != nil {
			return nil, fmt.Errorf("poll farm: %w", err)
		}
		res.Farm = &f
	}
	if o.Restart.Stored > 0 && o.Restart.Binary != "" {
		o.Restart.Dir, o.Restart.Payloads = o.Dir, payloads
		r, err := RunRestart(ctx, o.Restart)
		if err != nil {
			return nil, fmt.Errorf("restart: %w", err)
		}
		res.Restart = &r
	}
	if res.OneHop.PerSec > 0 {
		res.Pipeline.RatioToOneHop = res.Pipeline.PerSec / res.OneHop.PerSec
	}
	return res, nil
}

// oneHop publishes n messages to a file-backed stream and consumes them
// with acks through one durable pull consumer, concurrently.
func oneHop(ctx context.Context, dir string, payloads [][]byte, n int, progress func(string, int, int)) (Rate, error) {
	srv, err := natsutil.StartEmbedded(natsutil.EmbeddedOptions{Listen: "127.0.0.1:0", StoreDir: dir})
	if err != nil {
		return Rate{}, err
	}
	defer srv.Shutdown()
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		return Rate{}, err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		return Rate{}, err
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, natsutil.StreamIngest, jetstream.ConsumerConfig{
		Durable: "onehop", AckPolicy: jetstream.AckExplicitPolicy, MaxAckPending: 8192,
	})
	if err != nil {
		return Rate{}, err
	}
	start := time.Now()
	consumed := make(chan error, 1)
	go func() {
		it, err := cons.Messages(jetstream.PullMaxMessages(1024))
		if err != nil {
			consumed <- err
			return
		}
		defer it.Stop()
		for i := range n {
			m, err := it.Next()
			if err != nil {
				consumed <- err
				return
			}
			if err := m.Ack(); err != nil {
				consumed <- err
				return
			}
			if i%10000 == 0 {
				progress("one-hop", i, n)
			}
		}
		consumed <- nil
	}()
	for i := range n {
		if err := publishAsync(ctx, js, fmt.Sprintf("%s.onehop%d", natsutil.SubjectIngest, i%16), payloads[i%len(payloads)],
			fmt.Sprintf("onehop-%d", i)); err != nil {
			return Rate{}, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return Rate{}, ctx.Err()
	}
	if err := <-consumed; err != nil {
		return Rate{}, err
	}
	// Acks are fire-and-forget: wait until the server has them all.
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return Rate{}, err
		}
		if info.AckFloor.Stream >= uint64(n) {
			break
		}
		time.Sleep(time.Millisecond) // polling interval
	}
	return rate(n, time.Since(start)), nil
}

// runDaemon starts the real daemon (no feeds; articles are published to
// INGEST directly, as the poller would) and measures the replay and the
// latency run against it.
func runDaemon(ctx context.Context, o Options, res *Result) (err error) {
	cfg := config.Default()
	cfg.DataDir = filepath.Join(o.Dir, "daemon")
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	if o.Workers > 0 {
		cfg.Pipeline.Workers = o.Workers
	}
	reg := prometheus.NewRegistry()
	d, err := daemon.Start(ctx, daemon.Options{Config: &cfg, Logger: o.Logger, Registry: reg}, 0)
	if err != nil {
		return fmt.Errorf("daemon: %w", err)
	}
	defer func() {
		if stopErr := d.Stop(0); stopErr != nil {
			err = errors.Join(err, fmt.Errorf("daemon: %w", stopErr))
		}
	}()
	nc, err := nats.Connect(d.NATSURL)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	if o.Articles > 0 {
		p, err := replay(ctx, js, reg, o)
		if err != nil {
			return fmt.Errorf("replay: %w", err)
		}
		p.Workers = cfg.Pipeline.Workers
		res.Pipeline = p
	}
	if o.LatencyRate > 0 && o.LatencyFor > 0 {
		l, err := latency(ctx, nc, js, o)
		if err != nil {
			return fmt.Errorf("latency: %w", err)
		}
		res.Latency = l
	}
	return nil
}

// nth is the i-th article of the replay, with a fresh id (and link) past
// the first pass so repeats are new articles to the pipeline's identity.
func nth(corpus []*pipeline.Article, i int, tag string) *pipeline.Article {
	a := *corpus[i%len(corpus)]
	if pass := i / len(corpus); pass > 0 || tag != "" {
		a.ID = fmt.Sprintf("%s-%s%d", a.ID, tag, pass)
	}
	return &a
}

func replay(ctx context.Context, js jetstream.JetStream, reg *prometheus.Registry, o Options) (Pipeline, error) {
	var p Pipeline
	before := cputime.Process().Seconds()
	start := time.Now()
	for i := range o.Articles {
		a := nth(o.Corpus, i, "")
		data, err := json.Marshal(a)
		if err != nil {
			return p, err
		}
		if err := publishAsync(ctx, js, natsutil.SubjectIngest+".bench", data, a.ID); err != nil {
			return p, err
		}
		if i%5000 == 0 {
			o.Progress("publish", i, o.Articles)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return p, ctx.Err()
	}
	// The corpus has a few repeated ids, which INGEST stores once (as it
	// would from a feed): the pipeline is done when it acked what INGEST
	// stored.
	ingest, err := js.Stream(ctx, natsutil.StreamIngest)
	if err != nil {
		return p, err
	}
	sinfo, err := ingest.Info(ctx)
	if err != nil {
		return p, err
	}
	stored := sinfo.State.LastSeq
	cons, err := js.Consumer(ctx, natsutil.StreamIngest, "process")
	if err != nil {
		return p, err
	}
	for {
		info, err := cons.Info(ctx)
		if err != nil {
			return p, err
		}
		o.Progress("pipeline", int(info.AckFloor.Stream), int(stored))
		if info.AckFloor.Stream >= stored {
			break
		}
		select {
		case <-ctx.Done():
			return p, ctx.Err()
		case <-time.After(20 * time.Millisecond): // polling interval
		}
	}
	p.Rate = rate(int(stored), time.Since(start))
	p.CPUSecondsPer1000 = (cputime.Process().Seconds() - before) / float64(stored) * 1000
	p.PeakRSSBytes = peakRSS()
	p.Stages, err = stageRates(reg)
	if err != nil {
		return p, err
	}
	alerts, err := js.Stream(ctx, natsutil.StreamAlerts)
	if err != nil {
		return p, err
	}
	info, err := alerts.Info(ctx)
	if err != nil {
		return p, err
	}
	p.Alerts = int(info.State.Msgs)
	return p, nil
}

// latency offers LatencyRate articles/s (the corpus in order) and times
// publish -> archived copy on ww.article.> for every article, and
// publish -> first alert on ww.alert.> for those that alert.
func latency(ctx context.Context, nc *nats.Conn, js jetstream.JetStream, o Options) (Latency, error) {
	var mu sync.Mutex
	sent := map[string]time.Time{}
	alerted := map[string]bool{}
	var archived, alerts []time.Duration
	var seen atomic.Int64
	record := func(id string, alert bool) {
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		t, ok := sent[id]
		if !ok {
			return
		}
		if alert {
			if !alerted[id] {
				alerted[id] = true
				alerts = append(alerts, now.Sub(t))
			}
			return
		}
		archived = append(archived, now.Sub(t))
		seen.Add(1)
	}
	subArt, err := nc.Subscribe(natsutil.SubjectArticle+".>", func(m *nats.Msg) {
		var a struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(m.Data, &a) == nil {
			record(a.ID, false)
		}
	})
	if err != nil {
		return Latency{}, err
	}
	defer subArt.Unsubscribe()
	subAlert, err := nc.Subscribe(natsutil.SubjectAlert+".>", func(m *nats.Msg) {
		var al struct {
			Article struct {
				ID string `json:"id"`
			} `json:"article"`
		}
		if json.Unmarshal(m.Data, &al) == nil {
			record(al.Article.ID, true)
		}
	})
	if err != nil {
		return Latency{}, err
	}
	defer subAlert.Unsubscribe()

	n := int(float64(o.LatencyRate) * o.LatencyFor.Seconds())
	interval := time.Second / time.Duration(o.LatencyRate)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			select {
			case <-ctx.Done():
				return Latency{}, ctx.Err()
			case <-time.After(d): // pacing the offered load
			}
		}
		a := nth(o.Corpus, i, "lat")
		data, err := json.Marshal(a)
		if err != nil {
			return Latency{}, err
		}
		mu.Lock()
		sent[a.ID] = time.Now()
		mu.Unlock()
		if err := publishAsync(ctx, js, natsutil.SubjectIngest+".latency", data, a.ID); err != nil {
			return Latency{}, err
		}
		if i%1000 == 0 {
			o.Progress("latency", i, n)
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for seen.Load() < int64(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // polling interval
	}
	mu.Lock()
	defer mu.Unlock()
	l := Latency{Offered: o.LatencyRate, Seconds: o.LatencyFor.Seconds(), Measured: len(archived), Alerts: len(alerts)}
	l.P50ms, l.P99ms, l.P999ms = quantiles(archived)
	l.AlertP50ms, l.AlertP99ms, l.AlertP999ms = quantiles(alerts)
	return l, nil
}

// quantiles returns p50, p99 and p99.9 in milliseconds.
func quantiles(d []time.Duration) (p50, p99, p999 float64) {
	if len(d) == 0 {
		return 0, 0, 0
	}
	slices.Sort(d)
	q := func(p float64) float64 {
		return float64(d[min(len(d)-1, int(p*float64(len(d))))].Microseconds()) / 1000
	}
	return q(0.50), q(0.99), q(0.999)
}

// stageRates reads the stage histograms: processed / busy seconds.
func stageRates(g prometheus.Gatherer) (map[string]float64, error) {
	mfs, err := g.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "wirewatch_stage_duration_seconds" || mf.GetType() != dto.MetricType_HISTOGRAM {
			continue
		}
		for _, m := range mf.GetMetric() {
			h := m.GetHistogram()
			if h.GetSampleSum() > 0 {
				for _, l := range m.GetLabel() {
					if l.GetName() == "stage" {
						out[l.GetValue()] = float64(h.GetSampleCount()) / h.GetSampleSum()
					}
				}
			}
		}
	}
	return out, nil
}

// publishAsync publishes without waiting for the ack; when too many acks
// are outstanding (a loaded machine), it waits for them and tries again.
func publishAsync(ctx context.Context, js jetstream.JetStream, subject string, data []byte, id string) error {
	for {
		var opts []jetstream.PublishOpt
		if id != "" {
			opts = append(opts, jetstream.WithMsgID(id))
		}
		_, err := js.PublishAsync(subject, data, opts...)
		if !errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
			return err
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func rate(n int, d time.Duration) Rate {
	return Rate{Count: n, Seconds: d.Seconds(), PerSec: float64(n) / d.Seconds()}
}

// peakRSS is the process's high-water resident set (Linux VmHWM).
func peakRSS() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(v), "%d", &kb)
			return kb * 1024
		}
	}
	return 0
}

func machine() Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version()}
	if data, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb uint64
		fmt.Sscanf(strings.TrimPrefix(strings.SplitN(string(data), "\n", 2)[0], "MemTotal:"), "%d", &kb)
		m.MemBytes = kb * 1024
	}
	if data, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(data), "\n") {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				m.CPU = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return m
}

// Table renders the result as the table BENCHMARKS.md quotes.
func (r *Result) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "machine: %d cores, %.1f GiB, %s, %s\n\n", r.Machine.Cores, float64(r.Machine.MemBytes)/(1<<30), r.Machine.CPU, r.Machine.Go)
	fmt.Fprintf(&b, "%-48s %14s\n", "measure", "value")
	row := func(name, format string, v ...any) { fmt.Fprintf(&b, "%-48s %14s\n", name, fmt.Sprintf(format, v...)) }
	if r.OneHop.Count > 0 {
		row(fmt.Sprintf("raw JetStream one hop (%d msgs)", r.OneHop.Count), "%.0f msg/s", r.OneHop.PerSec)
	}
	if p := r.Pipeline; p.Count > 0 {
		row(fmt.Sprintf("pipeline end to end (%d articles, %d workers)", p.Count, p.Workers), "%.0f art/s", p.PerSec)
		if p.RatioToOneHop > 0 {
			row("  ratio to one hop", "%.1f%%", 100*p.RatioToOneHop)
		}
		row("  CPU seconds per 1,000 articles", "%.3f s", p.CPUSecondsPer1000)
		row("  peak RSS", "%.0f MiB", float64(p.PeakRSSBytes)/(1<<20))
		row("  alerts published", "%d", p.Alerts)
		names := make([]string, 0, len(p.Stages))
		for n := range p.Stages {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			row("  stage "+n+" (1 / mean time per article)", "%.0f art/s", p.Stages[n])
		}
	}
	if l := r.Latency; l.Measured > 0 {
		row(fmt.Sprintf("ingest->archive at %d/s for %.0fs: p50", l.Offered, l.Seconds), "%.1f ms", l.P50ms)
		row("  p99", "%.1f ms", l.P99ms)
		row("  p99.9", "%.1f ms", l.P999ms)
		if l.Alerts > 0 {
			row(fmt.Sprintf("ingest->alert (%d alerted): p50", l.Alerts), "%.1f ms", l.AlertP50ms)
			row("  p99", "%.1f ms", l.AlertP99ms)
			row("  p99.9", "%.1f ms", l.AlertP999ms)
		}
	}
	if f := r.Farm; f != nil {
		row(fmt.Sprintf("poll farm: %d feeds every %.0fs for %.0fs: polls", f.Feeds, f.IntervalS, f.Seconds), "%d", f.Polls)
		row("  answered 304", "%d", f.NotMod)
		row("  new items published / later than 1 interval", "%d / %d", f.NewItems, f.LateItems)
		row("  max publish delay", "%.2f s", f.MaxDelayS)
		row("  CPU per poll (poller+NATS+farm server)", "%.3f ms", f.CPUPerPoll)
		row(fmt.Sprintf("  cores for %d feeds at 5-minute cadence", f.Feeds), "%.3f", f.CoresAt5m)
		row("  peak RSS of the process", "%.0f MiB", float64(f.PeakRSSBytes)/(1<<20))
	}
	if r := r.Restart; r != nil {
		row(fmt.Sprintf("restart: ready after kill -9 with %d stored", r.Stored), "%.2f s", r.ReadySeconds)
		row(fmt.Sprintf("  dedup index snapshot (%.0f MiB): records", float64(r.SnapshotBytes)/(1<<20)), "%d", r.IndexedAtReady[0])
		row(fmt.Sprintf("  without it (%d records replayed)", r.IndexedAtReady[1]), "%.2f s", r.ReplayReadyS)
		row("  archive size on disk", "%.0f MiB", float64(r.StoreBytes)/(1<<20))
		row("  first start, empty", "%.2f s", r.FirstReadyS)
	}
	return b.String()
}
