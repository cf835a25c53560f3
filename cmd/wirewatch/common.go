package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/corpus"
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
// nats.listen address. The connection logs to log.
func connectJetStream(cfg *config.Config, url, name string, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	target := url
	if target == "" {
		target = cfg.NATS.URL
	}
	if target == "" {
		target = "nats://" + cfg.NATS.Listen
	}
	nc, err := natsutil.Connect(daemon.ClientOptions(cfg, target, name, log))
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

// stderrLogger is the plain text logger of a client command.
func stderrLogger(stderr io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(stderr, nil))
}

// newBar is a progress bar on w counting to total, redrawn at most every
// 100ms and cleared when finished; extra options add to these.
func newBar(w io.Writer, desc string, total int64, extra ...progressbar.Option) *progressbar.ProgressBar {
	opts := append([]progressbar.Option{progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc), progressbar.OptionShowCount(),
		progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionClearOnFinish()}, extra...)
	return progressbar.NewOptions64(total, opts...)
}

// highlightMarks is how matches are marked on w: reverse video on a
// terminal, unless noColor or $NO_COLOR, else [[ ]].
func highlightMarks(w io.Writer, noColor bool) hlMarks {
	if !noColor && isTerminalWriter(w) && os.Getenv("NO_COLOR") == "" {
		return hlANSI
	}
	return hlPlain
}

// datasetsDir is the datasets folder: flag when given, else
// $WIREWATCH_DATASETS, else ../shared/datasets (see corpus.Locate).
func datasetsDir(flag string) (string, error) {
	if flag != "" {
		return flag, nil
	}
	return corpus.Locate(corpus.DatasetsEnv, "datasets")
}
