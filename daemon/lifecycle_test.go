package daemon_test

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/daemon"
)

// A daemon that cannot reach its NATS fails with a clear error and leaves
// nothing behind: its metrics port is free again.
func TestRunFailsCleanlyWithoutNATS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := testConfig(t.TempDir())
	cfg.HTTP.Listen = addr
	cfg.NATS.URL = "nats://127.0.0.1:1" // nothing listens on port 1
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err = daemon.Run(ctx, daemon.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry()})
	if err == nil || !strings.Contains(err.Error(), "connect to NATS at nats://127.0.0.1:1") {
		t.Fatalf("Run error = %v, want a NATS connect error naming the URL", err)
	}
	again, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("metrics port %s still held after Run returned: %v", addr, err)
	}
	again.Close()
}
