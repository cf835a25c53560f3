package daemon_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
)

// startGoroutines counts the goroutines daemon.Start created that are
// still running.
func startGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Count(string(buf), "created by github.com/wirewatch/wirewatch/daemon.Start in goroutine")
}

func waitNoStartGoroutine(t *testing.T) {
	t.Helper()
	testkit.WaitFor(t, 5*time.Second, "the daemon goroutine to exit", func() (bool, string) {
		n := startGoroutines()
		return n == 0, fmt.Sprintf("%d still running", n)
	})
}

func startOptions(t *testing.T) daemon.Options {
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return daemon.Options{Config: testConfig(t.TempDir()), Logger: logger, Registry: prometheus.NewRegistry()}
}

// Start returns a daemon whose NATS URL serves the streams, still calls
// the caller's OnReady, and Stop ends it cleanly with nothing left running.
func TestStartAndStop(t *testing.T) {
	opts := startOptions(t)
	var reported string
	opts.OnReady = func(u string) { reported = u }
	d, err := daemon.Start(context.Background(), opts, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reported == "" || reported != d.NATSURL {
		t.Errorf("caller's OnReady got %q, Start returned NATSURL %q", reported, d.NATSURL)
	}
	if n := startGoroutines(); n != 1 {
		t.Errorf("%d goroutines from Start while the daemon runs, want 1", n)
	}

	nc, err := nats.Connect(d.NATSURL)
	if err != nil {
		t.Fatalf("connect to %s: %v", d.NATSURL, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := js.Stream(ctx, natsutil.StreamIngest); err != nil {
		t.Errorf("stream %s at %s: %v", natsutil.StreamIngest, d.NATSURL, err)
	}
	nc.Close()

	select {
	case <-d.Done():
		t.Fatalf("daemon stopped on its own: %v", d.Err())
	default:
	}
	if err := d.Stop(30 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	select {
	case <-d.Done():
	default:
		t.Fatal("Done not closed after Stop returned")
	}
	if err := d.Stop(time.Second); err != nil {
		t.Errorf("second Stop: %v", err)
	}
	waitNoStartGoroutine(t)
}

// A config Run rejects fails Start with Run's error at once, not after the
// ready timeout, and leaves no goroutine behind.
func TestStartReturnsRunError(t *testing.T) {
	opts := startOptions(t)
	opts.Config.NATS.Listen = "127.0.0.1:notaport"
	began := time.Now()
	d, err := daemon.Start(context.Background(), opts, 30*time.Second)
	took := time.Since(began)
	if err == nil {
		_ = d.Stop(30 * time.Second)
		t.Fatal("Start succeeded with nats.listen 127.0.0.1:notaport")
	}
	if !errors.Is(err, strconv.ErrSyntax) || !strings.Contains(err.Error(), "daemon stopped before ready") ||
		!strings.Contains(err.Error(), "nats.listen") {
		t.Errorf("Start error = %v, want daemon stopped before ready wrapping the nats.listen port error", err)
	}
	if took > 10*time.Second {
		t.Errorf("Start took %v to report Run's error", took)
	}
	waitNoStartGoroutine(t)
}

// A daemon that is not ready in time is stopped, and Start says why.
func TestStartReadyTimeout(t *testing.T) {
	d, err := daemon.Start(context.Background(), startOptions(t), time.Nanosecond)
	if err == nil {
		_ = d.Stop(30 * time.Second)
		t.Fatal("Start succeeded within 1ns")
	}
	if !strings.Contains(err.Error(), "daemon not ready within 1ns") {
		t.Errorf("Start error = %v, want daemon not ready within 1ns", err)
	}
	waitNoStartGoroutine(t)
}

// A start-up whose ctx is done fails with the ctx's error.
func TestStartContextDone(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	d, err := daemon.Start(ctx, startOptions(t), 30*time.Second)
	if err == nil {
		_ = d.Stop(30 * time.Second)
		t.Fatal("Start succeeded with a cancelled ctx")
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Start error = %v, want context.Canceled", err)
	}
	waitNoStartGoroutine(t)
}
