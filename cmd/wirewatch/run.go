package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/daemon"
)

func cmdRun(ctx context.Context, args []string, _, stderr io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	fs := newFlags("run", stderr)
	path := fs.String("config", "wirewatch.yaml", "config file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	reload := make(chan struct{}, 1)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The forwarder stops before cmdRun returns: cancel, then wait.
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				select {
				case reload <- struct{}{}:
				default:
				}
			}
		}
	})
	return daemon.Run(ctx, daemon.Options{
		Config:   cfg,
		Logger:   newLogger(cfg.Log, stderr),
		Registry: prometheus.NewRegistry(),
		Reload:   reload,
	})
}
