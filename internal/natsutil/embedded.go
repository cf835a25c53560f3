// Package natsutil starts the embedded nats-server, connects clients with the
// configured credentials, and declares the streams and KV buckets Wirewatch
// uses.
package natsutil

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// EmbeddedOptions configure the in-process nats-server.
type EmbeddedOptions struct {
	// Listen is host:port for clients; port 0 (or "") picks a free port.
	Listen string
	// StoreDir is where JetStream keeps its files.
	StoreDir string
	// ServerName identifies the server (default "wirewatch").
	ServerName string
	// MaxStore caps JetStream file storage in bytes (0: server default).
	MaxStore int64
	// MaxPayload caps one message, headers included (0: DefaultMaxPayload).
	MaxPayload int32
	Logger     *slog.Logger
}

// DefaultMaxPayload is the embedded server's message size cap.
const DefaultMaxPayload = 8 << 20

// Embedded is a running in-process nats-server with JetStream.
type Embedded struct {
	srv *server.Server
}

// StartEmbedded starts nats-server in-process and waits until it accepts
// clients. The caller must call Shutdown.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	host, port := "127.0.0.1", -1 // -1: random port
	if o.Listen != "" {
		h, p, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("nats.listen %q: %w", o.Listen, err)
		}
		if h != "" {
			host = h
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, fmt.Errorf("nats.listen %q: port: %w", o.Listen, err)
		}
		if n != 0 {
			port = n
		}
	}
	name := o.ServerName
	if name == "" {
		name = "wirewatch"
	}
	maxPayload := o.MaxPayload
	if maxPayload <= 0 {
		maxPayload = DefaultMaxPayload
	}
	opts := &server.Options{
		ServerName:            name,
		Host:                  host,
		Port:                  port,
		JetStream:             true,
		StoreDir:              o.StoreDir,
		JetStreamMaxStore:     o.MaxStore,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            maxPayload,
		DisableShortFirstPing: true,
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("embedded nats-server: %w", err)
	}
	if o.Logger != nil {
		srv.SetLoggerV2(&slogAdapter{l: o.Logger.With("component", "nats-server")}, false, false, false)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		srv.Shutdown()
		return nil, fmt.Errorf("embedded nats-server on %s:%d did not become ready in 30s", host, port)
	}
	return &Embedded{srv: srv}, nil
}

// ClientURL is the URL clients connect to.
func (e *Embedded) ClientURL() string { return e.srv.ClientURL() }

// Shutdown stops the server and waits for it to finish.
func (e *Embedded) Shutdown() {
	e.srv.Shutdown()
	e.srv.WaitForShutdown()
}

// slogAdapter sends nats-server log lines to slog.
type slogAdapter struct{ l *slog.Logger }

func (a *slogAdapter) Noticef(f string, v ...any) { a.l.Info(fmt.Sprintf(f, v...)) }
func (a *slogAdapter) Warnf(f string, v ...any)   { a.l.Warn(fmt.Sprintf(f, v...)) }
func (a *slogAdapter) Fatalf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a *slogAdapter) Errorf(f string, v ...any)  { a.l.Error(fmt.Sprintf(f, v...)) }
func (a *slogAdapter) Debugf(f string, v ...any)  { a.l.Debug(fmt.Sprintf(f, v...)) }
func (a *slogAdapter) Tracef(f string, v ...any)  {}
