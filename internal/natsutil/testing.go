package natsutil

import (
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StartTestServer starts an embedded nats-server on a random loopback port
// with JetStream in t.TempDir(), and a client connected to it. Both are
// stopped when the test ends.
func StartTestServer(t testing.TB) (*Embedded, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	return StartTestServerWith(t, EmbeddedOptions{})
}

// StartTestServerWith is StartTestServer with options (Listen and StoreDir
// are filled in when empty).
func StartTestServerWith(t testing.TB, o EmbeddedOptions) (*Embedded, *nats.Conn, jetstream.JetStream) {
	t.Helper()
	if o.Listen == "" {
		o.Listen = "127.0.0.1:0"
	}
	if o.StoreDir == "" {
		o.StoreDir = t.TempDir()
	}
	e, err := StartEmbedded(o)
	if err != nil {
		t.Fatalf("start nats-server: %v", err)
	}
	t.Cleanup(e.Shutdown)
	nc, err := nats.Connect(e.ClientURL())
	if err != nil {
		t.Fatalf("connect to %s: %v", e.ClientURL(), err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return e, nc, js
}

// ConnectTest connects another client to url (another daemon's
// connection, say), closed when the test ends.
func ConnectTest(t testing.TB, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatalf("connect to %s: %v", url, err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatalf("jetstream: %v", err)
	}
	return js
}
