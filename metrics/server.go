package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Health is what /healthz and /readyz report. The daemon sets it as it
// starts and stops.
type Health struct {
	ready atomic.Bool
	// Alive is consulted by /healthz; nil means always alive.
	Alive func() error
}

// SetReady marks the daemon ready (or not) to serve.
func (h *Health) SetReady(v bool) { h.ready.Store(v) }

// Server serves /metrics, /healthz and /readyz, and /debug/pprof/ when
// asked (WithPprof).
type Server struct {
	srv *http.Server
	ln  net.Listener
}

// Option changes what Listen serves.
type Option func(*options)

type options struct {
	pprof bool
}

// WithPprof serves the Go profiler under /debug/pprof/ (index, cmdline,
// profile, symbol, trace and the named profiles: heap, goroutine, allocs,
// block, mutex, threadcreate) when on is true (config http.pprof). Off,
// those paths answer 404.
func WithPprof(on bool) Option { return func(o *options) { o.pprof = on } }

// Listen binds addr and prepares the handlers; Serve runs them.
func Listen(addr string, g prometheus.Gatherer, h *Health, logger *slog.Logger, opts ...Option) (*Server, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http.listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	if o.pprof {
		// On this mux only: importing net/http/pprof also registers on
		// http.DefaultServeMux, which Wirewatch never serves.
		// Any method, as net/http/pprof expects (symbol takes POST).
		mux.HandleFunc("/debug/pprof/", pprof.Index) // the named profiles too: /debug/pprof/heap
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		if h.Alive != nil {
			if err := h.Alive(); err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !h.ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	return &Server{
		ln:  ln,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}, nil
}

// Addr is the bound address.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Close releases the listener (a no-op once Serve has shut it down).
func (s *Server) Close() { _ = s.ln.Close() }

// Serve serves until ctx is done, then shuts down within 5s.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("metrics server: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	return err
}
