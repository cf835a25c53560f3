package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// errUsage means the flags were wrong; the flag package already said why.
var errUsage = errors.New("usage")

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("wirewatch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	return nil
}

// loadConfig reads path, or returns the defaults when path is empty.
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		cfg := config.Default()
		return &cfg, nil
	}
	return config.Load(path)
}

// newLogger builds the slog logger the config asks for.
func newLogger(cfg config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// multiFlag collects a repeatable string flag (also comma-separated).
type multiFlag []string

func (m *multiFlag) String() string { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*m = append(*m, s)
		}
	}
	if len(*m) == 0 {
		return fmt.Errorf("empty value")
	}
	return nil
}

// connectJetStream connects a client command to the daemon's NATS: url
// when given, else the config's nats.url, else the embedded server's
// nats.listen address.
func connectJetStream(cfg *config.Config, url, name string, stderr io.Writer) (*nats.Conn, jetstream.JetStream, error) {
	target := url
	if target == "" {
		target = cfg.NATS.URL
	}
	if target == "" {
		target = "nats://" + cfg.NATS.Listen
	}
	nc, err := natsutil.Connect(daemon.ClientOptions(cfg, target, name, slog.New(slog.NewTextHandler(stderr, nil))))
	if err != nil {
		return nil, nil, err
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	return nc, js, nil
}
