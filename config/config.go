// Package config loads and validates wirewatch.yaml. Every problem it finds
// is reported with the file, line and column it comes from, all at once, so a
// user fixes a config in one pass.
package config

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole configuration. The README's config reference documents
// every key; keep the two in step.
type Config struct {
	// DataDir holds the embedded nats-server's JetStream files.
	DataDir string `yaml:"data_dir"`
	Log     Log    `yaml:"log"`
	NATS    NATS   `yaml:"nats"`
	HTTP    HTTP   `yaml:"http"`
	Fetch   Fetch  `yaml:"fetch"`
	Poll    Poll   `yaml:"poll"`
	Feeds   []Feed `yaml:"feeds"`
	// OPML is an optional OPML file whose feeds are merged with Feeds.
	OPML string `yaml:"opml"`
	// Topics is the topic file; empty means the default topic pack.
	Topics string `yaml:"topics"`
	// Gazetteer is the entity file; empty means the shipped gazetteer.
	Gazetteer string    `yaml:"gazetteer"`
	Pipeline  Pipeline  `yaml:"pipeline"`
	Retention Retention `yaml:"retention"`
	// Dedup tunes near duplicates and stories (config/dedup.go).
	Dedup Dedup `yaml:"dedup"`

	// Subscriptions send alerts to Slack, email or webhooks (notify/).
	Subscriptions []Subscription `yaml:"subscriptions"`

	// Roles are what this daemon runs: poll, process, notify (empty: all;
	// config/roles.go).
	Roles []string `yaml:"roles"`

	// File is the path the config was read from ("" for defaults).
	File string `yaml:"-"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text, json
}

// NATS says where NATS is. With URL empty the daemon runs nats-server
// in-process, listening on Listen.
type NATS struct {
	URL         string `yaml:"url"`
	Listen      string `yaml:"listen"`
	Credentials string `yaml:"credentials"`
	User        string `yaml:"user"`
	PasswordEnv string `yaml:"password_env"`
	TokenEnv    string `yaml:"token_env"`
	TLS         TLS    `yaml:"tls"`
	// Replicas is the replication factor of streams and buckets (1 on one
	// machine, 3 on a 3-node cluster).
	Replicas int `yaml:"replicas"`
}

// TLS files for an external NATS.
type TLS struct {
	CA   string `yaml:"ca"`
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// HTTP is the metrics and health endpoint.
type HTTP struct {
	Listen string `yaml:"listen"`
	// Pprof serves the Go profiler under /debug/pprof/ on Listen (off by
	// default: profiles expose memory contents and cost CPU while taken).
	Pprof bool `yaml:"pprof"`
}

// Fetch configures the feed fetcher.
type Fetch struct {
	AllowNetworks      []string      `yaml:"allow_networks"`
	Timeout            time.Duration `yaml:"timeout"`
	MaxBodyBytes       int64         `yaml:"max_body_bytes"`
	UserAgent          string        `yaml:"user_agent"`
	Concurrency        int           `yaml:"concurrency"`
	PerHostConcurrency int           `yaml:"per_host_concurrency"`
	PerHostSpacing     time.Duration `yaml:"per_host_spacing"`
}

// Poll sets the default poll intervals; a feed may override Interval.
type Poll struct {
	Interval    time.Duration `yaml:"interval"`
	MinInterval time.Duration `yaml:"min_interval"`
	MaxInterval time.Duration `yaml:"max_interval"`
}

// Feed is one feed to poll.
type Feed struct {
	URL      string        `yaml:"url"`
	Name     string        `yaml:"name"`
	Group    string        `yaml:"group"`
	Interval time.Duration `yaml:"interval"`
}

// Pipeline tunes processing.
type Pipeline struct {
	// Workers is how many articles one daemon processes at once.
	Workers int `yaml:"workers"`
	// DedupHorizon is how long an article is remembered for duplicate
	// detection.
	DedupHorizon time.Duration `yaml:"dedup_horizon"`
}

// Retention bounds the streams so the disk cannot fill silently.
type Retention struct {
	IngestMaxAge     time.Duration `yaml:"ingest_max_age"`
	IngestMaxBytes   int64         `yaml:"ingest_max_bytes"`
	ArticlesMaxAge   time.Duration `yaml:"articles_max_age"`
	ArticlesMaxBytes int64         `yaml:"articles_max_bytes"`
	AlertsMaxAge     time.Duration `yaml:"alerts_max_age"`
	AlertsMaxBytes   int64         `yaml:"alerts_max_bytes"`
}

// Default returns the configuration used when a key is absent.
func Default() Config {
	return Config{
		DataDir: "./data",
		Log:     Log{Level: "info", Format: "text"},
		NATS:    NATS{Listen: "127.0.0.1:4222", Replicas: 1},
		HTTP:    HTTP{Listen: "127.0.0.1:9464"},
		Fetch: Fetch{
			Timeout:            30 * time.Second,
			MaxBodyBytes:       16 << 20,
			Concurrency:        8,
			PerHostConcurrency: 2,
			PerHostSpacing:     time.Second,
		},
		Poll:     Poll{Interval: 5 * time.Minute, MinInterval: time.Minute, MaxInterval: 6 * time.Hour},
		Pipeline: Pipeline{Workers: 64, DedupHorizon: 7 * 24 * time.Hour},
	}
}

// Load reads, decodes and validates the file at path. Relative paths inside
// the file (opml, topics, gazetteer, TLS files, credentials) are resolved
// against the file's directory. Environment overrides are applied (see
// ApplyEnv). The error, if any, is a Problems listing everything wrong.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data, os.Getenv)
}

// Parse decodes and validates data read from file. getenv supplies
// environment overrides (os.Getenv in production).
func Parse(file string, data []byte, getenv func(string) string) (*Config, error) {
	cfg := Default()
	cfg.File = file
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, Problems{yamlProblem(file, err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) { // an empty file is all defaults
		var te *yaml.TypeError
		if errors.As(err, &te) {
			var ps Problems
			for _, m := range te.Errors {
				ps = append(ps, withCol(&root, lineProblem(file, m)))
			}
			return nil, ps
		}
		return nil, Problems{yamlProblem(file, err)}
	}
	cfg.resolvePaths(filepath.Dir(file))
	cfg.ApplyEnv(getenv)
	if ps := cfg.validate(&root); len(ps) > 0 {
		return nil, ps
	}
	return &cfg, nil
}

// ApplyEnv applies environment overrides: WIREWATCH_DATA_DIR,
// WIREWATCH_NATS_URL, WIREWATCH_NATS_LISTEN, WIREWATCH_HTTP_LISTEN,
// WIREWATCH_LOG_LEVEL. Secrets are never in the file: they are read from
// the variables named by nats.password_env and nats.token_env when the
// client connects.
func (c *Config) ApplyEnv(getenv func(string) string) {
	set := func(dst *string, key string) {
		if v := getenv(key); v != "" {
			*dst = v
		}
	}
	set(&c.DataDir, "WIREWATCH_DATA_DIR")
	set(&c.NATS.URL, "WIREWATCH_NATS_URL")
	set(&c.NATS.Listen, "WIREWATCH_NATS_LISTEN")
	set(&c.HTTP.Listen, "WIREWATCH_HTTP_LISTEN")
	set(&c.Log.Level, "WIREWATCH_LOG_LEVEL")
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) && dir != "" {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.OPML)
	abs(&c.Topics)
	abs(&c.Gazetteer)
	abs(&c.NATS.Credentials)
	abs(&c.NATS.TLS.CA)
	abs(&c.NATS.TLS.Cert)
	abs(&c.NATS.TLS.Key)
}

// AllowedNetworks parses fetch.allow_networks (validated by Load).
func (c *Config) AllowedNetworks() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range c.Fetch.AllowNetworks {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

func (c *Config) validate(root *yaml.Node) Problems {
	var ps Problems
	bad := func(path string, format string, args ...any) {
		line, col := position(root, path)
		ps = append(ps, Problem{File: c.File, Line: line, Col: col, Msg: fmt.Sprintf("%s: ", path) + fmt.Sprintf(format, args...)})
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not one of debug, info, warn, error", c.Log.Level)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not one of text, json", c.Log.Format)
	}
	if c.NATS.URL != "" {
		for _, u := range strings.Split(c.NATS.URL, ",") {
			pu, err := url.Parse(strings.TrimSpace(u))
			if err != nil || pu.Host == "" {
				bad("nats.url", "%q is not a NATS URL (nats://host:port)", u)
				continue
			}
			switch pu.Scheme {
			case "nats", "tls", "ws", "wss":
			default:
				bad("nats.url", "%q: scheme %q is not nats, tls, ws or wss", u, pu.Scheme)
			}
		}
	} else if _, _, err := net.SplitHostPort(c.NATS.Listen); err != nil {
		bad("nats.listen", "%q is not host:port", c.NATS.Listen)
	}
	if c.NATS.Replicas < 1 || c.NATS.Replicas > 5 {
		bad("nats.replicas", "%d is not between 1 and 5", c.NATS.Replicas)
	}
	for key, p := range map[string]string{"nats.credentials": c.NATS.Credentials, "nats.tls.ca": c.NATS.TLS.CA, "nats.tls.cert": c.NATS.TLS.Cert, "nats.tls.key": c.NATS.TLS.Key, "opml": c.OPML, "topics": c.Topics, "gazetteer": c.Gazetteer} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err != nil {
			bad(key, "%v", err)
		}
	}
	if (c.NATS.TLS.Cert == "") != (c.NATS.TLS.Key == "") {
		bad("nats.tls", "cert and key go together")
	}
	if _, _, err := net.SplitHostPort(c.HTTP.Listen); err != nil && c.HTTP.Listen != "" {
		bad("http.listen", "%q is not host:port", c.HTTP.Listen)
	}
	if c.HTTP.Pprof && c.HTTP.Listen == "" {
		bad("http.pprof", "needs http.listen")
	}
	for i, n := range c.Fetch.AllowNetworks {
		if _, err := netip.ParsePrefix(n); err != nil {
			bad(fmt.Sprintf("fetch.allow_networks[%d]", i), "%q is not a CIDR (e.g. 10.0.0.0/8): %v", n, err)
		}
	}
	if c.Fetch.Timeout <= 0 {
		bad("fetch.timeout", "must be positive")
	}
	if c.Fetch.MaxBodyBytes <= 0 {
		bad("fetch.max_body_bytes", "must be positive")
	}
	if c.Fetch.Concurrency < 1 {
		bad("fetch.concurrency", "must be at least 1")
	}
	if c.Fetch.PerHostConcurrency < 1 {
		bad("fetch.per_host_concurrency", "must be at least 1")
	}
	if c.Poll.MinInterval <= 0 || c.Poll.MaxInterval < c.Poll.MinInterval {
		bad("poll", "need 0 < min_interval <= max_interval (have %v, %v)", c.Poll.MinInterval, c.Poll.MaxInterval)
	}
	if c.Poll.Interval < c.Poll.MinInterval || c.Poll.Interval > c.Poll.MaxInterval {
		bad("poll.interval", "%v is outside [min_interval, max_interval] = [%v, %v]", c.Poll.Interval, c.Poll.MinInterval, c.Poll.MaxInterval)
	}
	seen := map[string]int{}
	for i, f := range c.Feeds {
		path := fmt.Sprintf("feeds[%d]", i)
		u, err := url.Parse(f.URL)
		switch {
		case f.URL == "":
			bad(path+".url", "is required")
		case err != nil:
			bad(path+".url", "%v", err)
		case u.Scheme != "http" && u.Scheme != "https":
			bad(path+".url", "%q: scheme must be http or https", f.URL)
		case u.Host == "":
			bad(path+".url", "%q has no host", f.URL)
		}
		if j, dup := seen[f.URL]; dup && f.URL != "" {
			bad(path+".url", "%q is already listed as feeds[%d]", f.URL, j)
		}
		seen[f.URL] = i
		if f.Interval < 0 || (f.Interval > 0 && f.Interval < time.Second) {
			bad(path+".interval", "%v is too short (at least 1s)", f.Interval)
		}
	}
	if c.Pipeline.Workers < 1 {
		bad("pipeline.workers", "must be at least 1")
	}
	if c.Pipeline.DedupHorizon < time.Minute {
		bad("pipeline.dedup_horizon", "%v is too short (at least 1m)", c.Pipeline.DedupHorizon)
	}
	c.validateSubscriptions(bad)
	c.validateDedup(bad)
	c.validateRoles(bad)
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return ps
}
