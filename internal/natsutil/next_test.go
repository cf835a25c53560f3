package natsutil

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

// stallProxy forwards TCP connections to a server and can hold back what
// the server sends while the connection stays open: a consumer's server
// gone quiet, as when a NATS node holding a consumer goes down and the
// client stays connected to another.
type stallProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	open   chan struct{} // closed while traffic flows
	conns  []net.Conn    // both ends of every connection, closed at the end
	closed bool          // the end came: no more connections
}

func newStallProxy(t *testing.T, target string) *stallProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &stallProxy{ln: ln, target: target, open: make(chan struct{})}
	close(p.open)
	var copiers sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		p.resume()
		p.mu.Lock()
		p.closed = true
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		copiers.Wait()
	})
	copiers.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				c.Close()
				s.Close()
				return
			}
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			copiers.Go(func() { _, _ = io.Copy(s, c) })
			copiers.Go(func() { p.forward(c, s) })
		}
	})
	return p
}

// forward copies from the server to the client, waiting while stalled.
func (p *stallProxy) forward(client, srv net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := srv.Read(buf)
		if err != nil {
			client.Close()
			return
		}
		p.mu.Lock()
		open := p.open
		p.mu.Unlock()
		<-open
		if _, err := client.Write(buf[:n]); err != nil {
			return
		}
	}
}

func (p *stallProxy) stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.open = make(chan struct{})
}

func (p *stallProxy) resume() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.open:
	default:
		close(p.open)
	}
}

func TestNextRidesOutMissedHeartbeats(t *testing.T) {
	e, _, js := StartTestServer(t)
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "NEWS", Subjects: []string{"news.>"}}); err != nil {
		t.Fatal(err)
	}
	proxy := newStallProxy(t, e.ClientURL()[len("nats://"):])
	nc, err := nats.Connect("nats://" + proxy.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	viaProxy, _ := jetstream.New(nc)
	cons, err := viaProxy.CreateOrUpdateConsumer(ctx, "NEWS", jetstream.ConsumerConfig{Durable: "process", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		t.Fatal(err)
	}
	it, err := cons.Messages(jetstream.PullHeartbeat(500 * time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(it.Stop)

	type next struct {
		m   jetstream.Msg
		err error
	}
	var stalls atomic.Int32
	got := make(chan next, 1)
	read := func() {
		go func() {
			m, err := Next(it, func() { stalls.Add(1) })
			got <- next{m, err}
		}()
	}
	publish := func(data string) {
		t.Helper()
		if _, err := js.Publish(ctx, "news.a", []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	receive := func(want string) {
		t.Helper()
		select {
		case r := <-got:
			if r.err != nil {
				t.Fatalf("Next: %v, want message %q", r.err, want)
			}
			if string(r.m.Data()) != want {
				t.Fatalf("Next: message %q, want %q", r.m.Data(), want)
			}
			_ = r.m.Ack()
		case <-time.After(15 * time.Second):
			t.Fatalf("no message %q within 15 s", want)
		}
	}

	publish("first")
	read()
	receive("first")

	// The server goes quiet for several heartbeats; then a message comes.
	proxy.stall()
	read()
	testkit.WaitFor(t, 10*time.Second, "a missed heartbeat reported", func() (bool, string) {
		return stalls.Load() > 0, "no stall yet"
	})
	proxy.resume()
	publish("second")
	receive("second")

	// Without Next, the iterator's caller sees the missed heartbeat as an
	// error: what Next rides out.
	proxy.stall()
	_, err = it.Next()
	proxy.resume()
	if !errors.Is(err, jetstream.ErrNoHeartbeat) {
		t.Errorf("it.Next while stalled: %v, want %v", err, jetstream.ErrNoHeartbeat)
	}
}
