package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/demo"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/tail"
)

// cmdDemo runs the whole daemon on the sample feeds the project ships,
// served from a local feed server that releases a new item every few
// seconds, and prints alerts as they arrive.
func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", stderr)
	dataDir := fs.String("data-dir", "", "JetStream directory (default: a temporary one, removed at exit)")
	every := fs.Duration("every", 3*time.Second, "release a new sample item this often")
	asJSON := fs.Bool("json", false, "print alerts as JSON Lines")
	verbose := fs.Bool("v", false, "show the daemon's info logs")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *dataDir == "" {
		tmp, err := os.MkdirTemp("", "wirewatch-demo-")
		if err != nil {
			return fmt.Errorf("temporary data dir: %w", err)
		}
		defer os.RemoveAll(tmp)
		*dataDir = tmp
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	feedSrv, err := demo.NewFeedServer(demo.Options{Every: *every, Logger: log})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo feed server: %w", err)
	}
	hs := &http.Server{Handler: feedSrv, ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { _ = hs.Serve(ln) })
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	cfg := config.Default()
	cfg.DataDir = *dataDir
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Fetch.AllowNetworks = []string{"127.0.0.0/8"} // the demo feeds are local
	cfg.Fetch.PerHostSpacing = 0
	cfg.Fetch.PerHostConcurrency = 4
	cfg.Poll = config.Poll{Interval: *every, MinInterval: min(time.Second, *every), MaxInterval: 4 * *every}
	for _, f := range feedSrv.Feeds(base) {
		cfg.Feeds = append(cfg.Feeds, config.Feed{URL: f.URL, Name: f.Name, Interval: *every})
	}

	fmt.Fprintf(stderr, "wirewatch demo: %d sample feeds at %s, a new item every %v; alerts below. Ctrl-C stops.\n\n",
		len(cfg.Feeds), base, *every)

	// No ready timeout: Ctrl-C (ctx) ends a slow start, as a clean stop.
	d, err := daemon.Start(ctx, daemon.Options{Config: &cfg, Logger: log, Registry: prometheus.NewRegistry()}, 0)
	if err != nil {
		if ctx.Err() != nil {
			fmt.Fprintln(stderr, "\nwirewatch demo: stopped")
			return nil
		}
		return err
	}
	nc, err := natsutil.Connect(natsutil.ClientOptions{URL: d.NATSURL, Name: "wirewatch-demo", Logger: log})
	if err != nil {
		return errors.Join(err, d.Stop(0))
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return errors.Join(err, d.Stop(0))
	}
	// The printer follows until Ctrl-C, or until the daemon stops on its
	// own (a component failed), when its error is what the user sees.
	followCtx, stopFollow := context.WithCancel(ctx)
	wg.Go(func() {
		select {
		case <-d.Done():
		case <-followCtx.Done():
		}
		stopFollow()
	})
	followErr := tail.Follow(followCtx, js, tail.Options{All: true, JSON: *asJSON}, stdout)
	stopFollow()
	nc.Close() // before the embedded server goes, so it is not a disconnect
	runErr := d.Stop(0)
	if ctx.Err() != nil {
		fmt.Fprintln(stderr, "\nwirewatch demo: stopped")
	}
	return errors.Join(followErr, runErr)
}
