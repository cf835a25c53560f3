// Package daemon wires Wirewatch together and runs it: the embedded (or an
// external) NATS, the streams, the feed poller, the pipeline runner, the
// topic watcher and the metrics endpoint. Run owns every goroutine it
// starts and stops them in order: first the poller (no new input), then the
// pipeline (in-flight articles finish or are left for redelivery), then the
// watchers and the HTTP endpoint, then NATS.
package daemon

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/notify"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/classify"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/ledger"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
	"github.com/wirewatch/wirewatch/pipeline/sink"
	"github.com/wirewatch/wirewatch/pipeline/story"
	"github.com/wirewatch/wirewatch/pipeline/tag"
	"github.com/wirewatch/wirewatch/sources"
	"github.com/wirewatch/wirewatch/topics"
)

// Options are what Run needs besides the context.
type Options struct {
	Config   *config.Config
	Logger   *slog.Logger
	Registry *prometheus.Registry
	// Reload receives a value on SIGHUP: topic files are re-read.
	Reload <-chan struct{}
	// OnReady is called once everything runs and the dedup index holds the
	// ledger (readiness: /readyz), with the NATS URL clients
	// (tail, demo's printer) connect to.
	OnReady func(natsURL string)
	// ShutdownTimeout bounds each step of the shutdown (default 10s).
	ShutdownTimeout time.Duration
}

// Run runs the daemon until ctx is done or a component fails.
func Run(ctx context.Context, o Options) error {
	started := time.Now()
	cfg, log := o.Config, o.Logger
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = 10 * time.Second
	}
	m := metrics.New(o.Registry)
	health := &metrics.Health{}

	// Rules and feeds first: a bad topic file refuses to start.
	set, err := LoadTopics(cfg)
	if err != nil {
		return err
	}
	gaz, err := LoadGazetteer(cfg)
	if err != nil {
		return err
	}
	feeds, err := Feeds(cfg)
	if err != nil {
		return err
	}

	var stack shutdownStack
	defer stack.unwind(log, o.ShutdownTimeout)

	httpSrv, err := metrics.Listen(cfg.HTTP.Listen, o.Registry, health, log, metrics.WithPprof(cfg.HTTP.Pprof))
	if err != nil {
		return err
	}
	// Closes the listener if Run returns before the server is started.
	stack.push("http-listener", func(context.Context) error { httpSrv.Close(); return nil })

	natsURL := cfg.NATS.URL
	if natsURL == "" {
		store := filepath.Join(cfg.DataDir, "jetstream")
		if err := os.MkdirAll(store, 0o750); err != nil {
			return fmt.Errorf("data_dir %s: %w", cfg.DataDir, err)
		}
		emb, err := natsutil.StartEmbedded(natsutil.EmbeddedOptions{Listen: cfg.NATS.Listen, StoreDir: store, Logger: log})
		if err != nil {
			return err
		}
		stack.push("nats-server", func(context.Context) error { emb.Shutdown(); return nil })
		natsURL = emb.ClientURL()
		log.Info("embedded nats-server started", "url", natsURL, "store", store)
	}
	nc, err := natsutil.Connect(ClientOptions(cfg, natsURL, "wirewatch", log))
	if err != nil {
		return err
	}
	stack.push("nats-client", func(context.Context) error { return drain(nc) })
	health.Alive = func() error {
		if nc.IsClosed() {
			return errors.New("NATS connection closed")
		}
		return nil
	}
	js, err := jetstream.New(nc)
	if err != nil {
		return fmt.Errorf("jetstream: %w", err)
	}
	res, err := ensureResources(ctx, js, cfg, log)
	if err != nil {
		return err
	}
	o.Registry.MustRegister(metrics.NewStreamCollector(js, log, natsutil.StreamIngest, natsutil.StreamArticles,
		natsutil.StreamAlerts, natsutil.StreamLedger, "KV_ww_feeds", "KV_ww_dedup"))

	failed := make(chan error, 8)
	stack.run("http", failed, httpSrv.Serve)

	// Roles (config/roles.go): each part runs only where configured; the
	// pipeline and the notifiers are competing consumers, so any number of
	// daemons may run them.
	classifier := classify.New(set, m, log)
	if cfg.Topics != "" && cfg.Runs(config.RoleProcess) {
		stack.run("topic-watcher", failed, func(ctx context.Context) error {
			return classifier.Watch(ctx, cfg.Topics, classify.WatchOptions{Reload: o.Reload})
		})
	}
	// A daemon that decides articles is ready once its dedup index holds
	// the ledger (until then new articles wait behind the replay).
	var indexLoaded <-chan struct{}
	if cfg.Runs(config.RoleProcess) {
		// The ledger's tail runs before the pipeline starts and stops after
		// it (the stack unwinds in reverse): workers wait on it.
		led := ledger.NewStream(ledger.StreamConfig{JS: js, Rules: DedupRules(cfg), Metrics: m, Logger: log,
			Snapshot: filepath.Join(cfg.DataDir, IndexSnapshot), SnapshotEvery: cfg.Dedup.SnapshotEvery})
		stack.run("dedup-ledger", failed, led.Run)
		indexLoaded = led.Loaded()
		sinkCfg := sink.Config{}
		if cfg.Dedup.Stories.AlertOnceOn() {
			sinkCfg.Stories = dedup.NewKVStore(res.Dedup)
		}
		stages := append(Stages(log, led, classifier, gaz, m, cfg), sink.New(js, sinkCfg, m))
		chain := pipeline.Instrument(m, stages...)
		runner, err := natsutil.Retry(ctx, natsutil.DeclareBudget, log, "consumer process", func(ctx context.Context) (*pipeline.Runner, error) {
			return pipeline.NewRunner(ctx, js, pipeline.RunnerConfig{
				Stream: natsutil.StreamIngest, Durable: "process", Chain: chain,
				Workers: cfg.Pipeline.Workers, Metrics: m, Logger: log,
			})
		})
		if err != nil {
			return err
		}
		stack.run("pipeline", failed, runner.Run)
	}

	// Subscriptions: one durable consumer each on ALERTS; they stop before
	// the NATS client (the stack unwinds in reverse).
	if len(cfg.Subscriptions) > 0 && cfg.Runs(config.RoleNotify) {
		subs, err := notify.FromConfig(cfg.Subscriptions, os.Getenv)
		if err != nil {
			return err
		}
		stack.run("notifiers", failed, func(ctx context.Context) error {
			// A new subscription starts with the alerts of this run (a
			// minute earlier, for clocks that differ from the servers'):
			// the pipeline may publish some before its consumer exists.
			return notify.Run(ctx, js, subs, cfg.NATS.Replicas, notify.Options{Metrics: m, Logger: log, Since: started.Add(-time.Minute)})
		})
	}

	if cfg.Runs(config.RolePoll) {
		// Against an external NATS, several daemons may poll: each polls
		// the feeds it owns (sources/ownership.go).
		var members *sources.Membership
		if cfg.NATS.URL != "" {
			if members, err = JoinPollers(ctx, js, cfg, log); err != nil {
				return err
			}
			stack.run("membership", failed, members.Run)
		}
		fetcher := sources.NewFetcher(FetcherConfig(cfg))
		poller := sources.NewPoller(sources.PollerConfig{
			Feeds: feeds, Fetcher: fetcher, KV: res.Feeds, JS: js, Metrics: m, Logger: log,
			Concurrency: cfg.Fetch.Concurrency, PerHostConcurrency: cfg.Fetch.PerHostConcurrency,
			PerHostSpacing: cfg.Fetch.PerHostSpacing, Members: members,
		})
		stack.run("poller", failed, poller.Run)
	}
	stack.run("stream-limits", failed, func(ctx context.Context) error {
		return natsutil.WatchLimits(ctx, js, natsutil.LimitWatch{Logger: log, OnHit: func(stream, limit string, n uint64) {
			m.StreamLimitHits.WithLabelValues(stream, limit).Add(float64(n))
		}})
	})

	ready := func() {
		health.SetReady(true)
		stack.push("readiness", func(context.Context) error { health.SetReady(false); return nil })
		log.Info("wirewatch running", "feeds", len(feeds), "topics", len(set.Topics()), "nats", natsutil.RedactURLs(natsURL), "http", httpSrv.Addr())
		if o.OnReady != nil {
			o.OnReady(natsURL)
		}
	}
	if indexLoaded == nil {
		ready()
	}
	for {
		select {
		case <-indexLoaded:
			ready()
			indexLoaded = nil // (a nil channel is never ready)
		case <-ctx.Done():
			log.Info("shutting down")
			return nil
		case err := <-failed:
			log.Error("component failed; shutting down", "err", err)
			return err
		}
	}
}

// ensureResources declares the streams and buckets, each retried while
// JetStream does not answer (natsutil.Retry).
func ensureResources(ctx context.Context, js jetstream.JetStream, cfg *config.Config, log *slog.Logger) (*natsutil.Resources, error) {
	return natsutil.EnsureResourcesWith(ctx, js, Limits(cfg), natsutil.Retrying(log, natsutil.DeclareBudget))
}

// JoinPollers registers this daemon among the polling daemons. The
// heartbeat is a tenth of poll.min_interval (between 200ms and 5s), so a
// dead daemon's feeds are taken over well within 2 poll intervals; all
// daemons of a cluster should share poll.min_interval.
func JoinPollers(ctx context.Context, js jetstream.JetStream, cfg *config.Config, log *slog.Logger) (*sources.Membership, error) {
	hb := min(max(cfg.Poll.MinInterval/10, 200*time.Millisecond), sources.DefaultHeartbeat)
	kv, err := natsutil.Retry(ctx, natsutil.DeclareBudget, log, "bucket "+sources.BucketMembers, func(ctx context.Context) (jetstream.KeyValue, error) {
		return sources.EnsureMembersBucket(ctx, js, cfg.NATS.Replicas, hb)
	})
	if err != nil {
		return nil, err
	}
	// One id for every attempt: a registration that landed before its
	// attempt timed out is this member's, not a second one.
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = rand.Read(b[:])
	host = natsutil.Token(host) // a KV key
	id := fmt.Sprintf("%s-%d-%x", host, os.Getpid(), b)
	return natsutil.Retry(ctx, natsutil.DeclareBudget, log, "registration in "+sources.BucketMembers, func(ctx context.Context) (*sources.Membership, error) {
		return sources.Join(ctx, sources.MembershipConfig{KV: kv, ID: id, Heartbeat: hb, Logger: log})
	})
}

// drain flushes what the client still has to send and closes it.
func drain(nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return err
	}
	<-closed
	return nil
}

// Stages are the processing stages, in order, that the daemon runs before
// its sink and `wirewatch inspect` runs offline: the same code either way.
// The dedup stage decides through l, a ledger built with DedupRules(cfg).
func Stages(log *slog.Logger, l ledger.Appender, c *classify.Classifier, g *tag.Gazetteer, m *metrics.Metrics, cfg *config.Config) []pipeline.Stage {
	return []pipeline.Stage{normalize.New(log), ledger.NewStage(l, DedupRules(cfg), cfg.Dedup.NearOn(), m), c, tag.New(g)}
}

// IndexSnapshot is the file in data_dir a daemon keeps its dedup index
// in between runs (dedup.snapshot_every).
const IndexSnapshot = "dedup-index.snap"

// DedupRules are the duplicate and story rules the config sets.
func DedupRules(cfg *config.Config) ledger.Rules {
	d := cfg.Dedup
	p := dedup.DefaultParams()
	if d.NearThreshold > 0 {
		p.Threshold = d.NearThreshold
	}
	return ledger.Rules{
		Near:    p,
		Story:   story.Config{Threshold: d.Stories.Threshold, BreakingSources: d.Stories.BreakingSources, BreakingWindow: d.Stories.BreakingWindow},
		Horizon: cfg.Pipeline.DedupHorizon,
	}
}

// Version is the module version the binary was built from ("dev" when
// built from a work tree).
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// OfflineChain is what `wirewatch inspect` runs: the daemon's stages, with
// duplicates remembered in memory for the run, and no sink.
func OfflineChain(cfg *config.Config, log *slog.Logger) (pipeline.Chain, error) {
	set, err := LoadTopics(cfg)
	if err != nil {
		return nil, err
	}
	return OfflineChainFor(cfg, set, log)
}

// OfflineChainFor is OfflineChain with the topic set given instead of
// loaded from the config (`wirewatch topics test` tries other rules).
func OfflineChainFor(cfg *config.Config, set *topics.Set, log *slog.Logger) (pipeline.Chain, error) {
	gaz, err := LoadGazetteer(cfg)
	if err != nil {
		return nil, err
	}
	m := metrics.NewUnregistered()
	return pipeline.Chain(Stages(log, ledger.NewMemory(DedupRules(cfg), nil), classify.New(set, m, log), gaz, m, cfg)), nil
}

// LoadTopics loads the configured topic file, or the default pack.
func LoadTopics(cfg *config.Config) (*topics.Set, error) {
	if cfg.Topics == "" {
		return topics.Default(), nil
	}
	set, err := topics.LoadFile(cfg.Topics)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return set, nil
}

// LoadGazetteer loads the configured gazetteer, or the shipped one.
func LoadGazetteer(cfg *config.Config) (*tag.Gazetteer, error) {
	if cfg.Gazetteer == "" {
		return tag.Default(), nil
	}
	g, err := tag.LoadFile(cfg.Gazetteer)
	if err != nil {
		return nil, fmt.Errorf("gazetteer: %w", err)
	}
	return g, nil
}

// Feeds merges the configured feeds and the OPML file's, first one wins.
func Feeds(cfg *config.Config) ([]sources.Feed, error) {
	var out []sources.Feed
	seen := map[string]bool{}
	add := func(f sources.Feed) {
		if seen[f.URL] {
			return
		}
		seen[f.URL] = true
		if f.Interval <= 0 {
			f.Interval = cfg.Poll.Interval
		}
		f.MinInterval, f.MaxInterval = cfg.Poll.MinInterval, cfg.Poll.MaxInterval
		f.MinInterval = min(f.MinInterval, f.Interval)
		out = append(out, f)
	}
	for _, f := range cfg.Feeds {
		add(sources.Feed{URL: f.URL, Name: f.Name, Group: f.Group, Interval: f.Interval})
	}
	if cfg.OPML != "" {
		fh, err := os.Open(cfg.OPML)
		if err != nil {
			return nil, fmt.Errorf("opml: %w", err)
		}
		defer fh.Close()
		list, err := sources.ParseOPML(fh)
		if err != nil {
			return nil, fmt.Errorf("opml %s: %w", cfg.OPML, err)
		}
		for _, f := range list {
			add(f)
		}
	}
	return out, nil
}

// FetcherConfig maps the config to the fetcher's.
func FetcherConfig(cfg *config.Config) sources.FetcherConfig {
	return sources.FetcherConfig{
		Timeout:       cfg.Fetch.Timeout,
		MaxBodySize:   cfg.Fetch.MaxBodyBytes,
		UserAgent:     cfg.Fetch.UserAgent,
		Version:       Version(),
		AllowNetworks: cfg.AllowedNetworks(),
	}
}

// Limits maps the config to stream limits.
func Limits(cfg *config.Config) natsutil.Limits {
	r := cfg.Retention
	return natsutil.Limits{
		Replicas:     cfg.NATS.Replicas,
		IngestMaxAge: r.IngestMaxAge, IngestMaxBytes: r.IngestMaxBytes,
		ArticlesMaxAge: r.ArticlesMaxAge, ArticlesMaxBytes: r.ArticlesMaxBytes,
		AlertsMaxAge: r.AlertsMaxAge, AlertsMaxBytes: r.AlertsMaxBytes,
		DedupHorizon: cfg.Pipeline.DedupHorizon,
	}
}

// ClientOptions maps the config to NATS client options, reading secrets
// from the environment variables the config names.
func ClientOptions(cfg *config.Config, url, name string, log *slog.Logger) natsutil.ClientOptions {
	o := natsutil.ClientOptions{
		URL: url, Name: name, Credentials: cfg.NATS.Credentials, User: cfg.NATS.User,
		CA: cfg.NATS.TLS.CA, Cert: cfg.NATS.TLS.Cert, Key: cfg.NATS.TLS.Key, Logger: log,
	}
	if cfg.NATS.PasswordEnv != "" {
		o.Password = os.Getenv(cfg.NATS.PasswordEnv)
	}
	if cfg.NATS.TokenEnv != "" {
		o.Token = os.Getenv(cfg.NATS.TokenEnv)
	}
	return o
}
