package metrics

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

// serve starts a metrics server on a free port with opts and returns its
// base URL; it is shut down when the test ends.
func serve(t *testing.T, opts ...Option) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	New(reg)
	h := &Health{}
	h.SetReady(true)
	srv, err := Listen("127.0.0.1:0", reg, h, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	base := "http://" + srv.Addr()
	testkit.WaitFor(t, 5*time.Second, "server answers /healthz", func() (bool, string) {
		code, body, err := get(base + "/healthz")
		return err == nil && code == http.StatusOK, body
	})
	return base
}

func get(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestPprofOn(t *testing.T) {
	base := serve(t, WithPprof(true))
	code, body, err := get(base + "/debug/pprof/heap?debug=1")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /debug/pprof/heap?debug=1: %d %v", code, err)
	}
	if !strings.Contains(body, "heap profile:") {
		t.Errorf("/debug/pprof/heap?debug=1 is not a heap profile:\n%.300s", body)
	}
	// The binary form is what `go tool pprof URL` reads: a gzipped protobuf.
	code, body, err = get(base + "/debug/pprof/heap")
	if err != nil || code != http.StatusOK || !strings.HasPrefix(body, "\x1f\x8b") {
		t.Errorf("GET /debug/pprof/heap: %d %v, gzip=%v", code, err, strings.HasPrefix(body, "\x1f\x8b"))
	}
	code, body, err = get(base + "/debug/pprof/")
	if err != nil || code != http.StatusOK || !strings.Contains(body, "goroutine") {
		t.Errorf("GET /debug/pprof/: %d %v\n%.300s", code, err, body)
	}
	// The other endpoints stay.
	if code, _, err := get(base + "/metrics"); err != nil || code != http.StatusOK {
		t.Errorf("GET /metrics with pprof on: %d %v", code, err)
	}
}

func TestPprofOffByDefault(t *testing.T) {
	for name, opts := range map[string][]Option{"no option": nil, "WithPprof(false)": {WithPprof(false)}} {
		t.Run(name, func(t *testing.T) {
			base := serve(t, opts...)
			for _, p := range []string{"/debug/pprof/", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1", "/debug/pprof/cmdline"} {
				code, _, err := get(base + p)
				if err != nil {
					t.Fatalf("GET %s: %v", p, err)
				}
				if code != http.StatusNotFound {
					t.Errorf("GET %s with pprof off: %d, want 404", p, code)
				}
			}
			if code, body, err := get(base + "/readyz"); err != nil || code != http.StatusOK {
				t.Errorf("GET /readyz: %d %q %v", code, body, err)
			}
		})
	}
}

func TestListenBadAddress(t *testing.T) {
	_, err := Listen("127.0.0.1:notaport", prometheus.NewRegistry(), &Health{}, slog.New(slog.DiscardHandler), WithPprof(true))
	if err == nil || !strings.Contains(err.Error(), "http.listen") {
		t.Fatalf("Listen on a bad address: %v, want an error naming http.listen", err)
	}
}
