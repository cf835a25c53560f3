package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/notify"
)

// cmdNotify runs only the subscriptions' notifiers against the configured
// NATS (`wirewatch notify --config F`), or sends a sample alert to one
// subscription's destination (`wirewatch notify test NAME --config F`).
func cmdNotify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "test" {
		return cmdNotifyTest(ctx, args[1:], stdout, stderr)
	}
	fs := newFlags("notify", stderr)
	path := fs.String("config", "wirewatch.yaml", "config file")
	url := fs.String("nats", "", "NATS URL (overrides the config)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	subs, err := notify.FromConfig(cfg.Subscriptions, os.Getenv)
	if err != nil {
		return err
	}
	if len(subs) == 0 {
		return fmt.Errorf("%s has no subscriptions", *path)
	}
	nc, js, err := connectJetStream(cfg, *url, "wirewatch-notify", log)
	if err != nil {
		return err
	}
	defer nc.Close()
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	if cfg.HTTP.Listen != "" {
		health := &metrics.Health{}
		srv, err := metrics.Listen(cfg.HTTP.Listen, reg, health, log, metrics.WithPprof(cfg.HTTP.Pprof))
		if err != nil {
			return err
		}
		var wg sync.WaitGroup
		defer wg.Wait()
		sctx, stop := context.WithCancel(ctx)
		defer stop() // runs before wg.Wait: the server stops when notifying does
		wg.Go(func() { _ = srv.Serve(sctx) })
		health.SetReady(true)
	}
	log.Info("notifiers running", "subscriptions", len(subs), "nats", nc.ConnectedUrlRedacted())
	return notify.Run(ctx, js, subs, cfg.NATS.Replicas, notify.Options{Metrics: m, Logger: log})
}

func cmdNotifyTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("notify test", stderr)
	path := fs.String("config", "wirewatch.yaml", "config file")
	var name string
	if len(args) > 0 && args[0] != "" && args[0][0] != '-' {
		name, args = args[0], args[1:]
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if name == "" && fs.NArg() == 1 {
		name = fs.Arg(0)
	}
	if name == "" {
		fmt.Fprintln(stderr, "usage: wirewatch notify test SUBSCRIPTION --config F")
		return errUsage
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	for i, c := range cfg.Subscriptions {
		if c.Name != name {
			continue
		}
		subs, err := notify.FromConfig(cfg.Subscriptions[i:i+1], os.Getenv)
		if err != nil {
			return err
		}
		s := subs[0]
		a := notify.SampleAlert(time.Now())
		n := &notify.Notification{Subscription: s.Name, ID: notify.DeliveryID(s.Name, &a), Alert: a, Test: true}
		timeout := s.Timeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		if err := s.Destination.Send(sctx, n); err != nil {
			return fmt.Errorf("subscription %s (%s): %w", s.Name, s.Destination.Type(), err)
		}
		fmt.Fprintf(stdout, "sent a test alert to subscription %s (%s)\n", s.Name, s.Destination.Type())
		return nil
	}
	return fmt.Errorf("no subscription named %q in %s", name, *path)
}
