package natsutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// hung is what a JetStream API call the servers never answer returns: it
// waits for its deadline (nats-io/nats.go#949: of several clients that
// create one replicated stream at once, only one gets an answer).
func hung[T any](ctx context.Context) (T, error) {
	var zero T
	<-ctx.Done()
	return zero, ctx.Err()
}

func TestRetryDeclaresThroughTimeouts(t *testing.T) {
	_, _, js := StartTestServer(t)
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	const first = 100 * time.Millisecond
	// Two streams declared in turn: NEWS hangs twice, WIRE once (as when
	// daemons declare them at once), then both are declared.
	var deadlines []time.Duration
	hangs := map[string]int{"NEWS": 2, "WIRE": 1}
	st, err := retry(context.Background(), time.Minute, first, log, "streams", func(ctx context.Context) (jetstream.Stream, error) {
		d, _ := ctx.Deadline()
		deadlines = append(deadlines, time.Until(d))
		var st jetstream.Stream
		for _, name := range []string{"NEWS", "WIRE"} {
			if hangs[name] > 0 {
				hangs[name]--
				_, err := hung[jetstream.Stream](ctx)
				return nil, fmt.Errorf("declare stream %s: %w", name, err)
			}
			var err error
			if st, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: name, Subjects: []string{strings.ToLower(name) + ".>"}}); err != nil {
				return nil, err
			}
		}
		return st, nil
	})
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	if st.CachedInfo().Config.Name != "WIRE" {
		t.Errorf("returned stream %s, want WIRE", st.CachedInfo().Config.Name)
	}
	for _, name := range []string{"NEWS", "WIRE"} {
		if _, err := js.Stream(context.Background(), name); err != nil {
			t.Errorf("stream %s not on the server after the retries: %v", name, err)
		}
	}
	// The wait doubles once NEWS has hung twice, and starts over when
	// WIRE hangs instead.
	want := []time.Duration{first, first, 2 * first, first}
	if len(deadlines) != len(want) {
		t.Fatalf("%d attempts, want %d", len(deadlines), len(want))
	}
	for i, d := range deadlines {
		if d > want[i] || d < want[i]-first/2 {
			t.Errorf("attempt %d had %v to answer, want about %v", i+1, d.Round(time.Millisecond), want[i])
		}
	}
	if n := strings.Count(logs.String(), `what=streams`); n != 3 {
		t.Errorf("%d warnings naming what was declared, want 3:\n%s", n, logs.String())
	}
}

func TestRetryStopsOnPermanentErrors(t *testing.T) {
	_, _, js := StartTestServer(t)

	// A server without JetStream: said at once, not retried for a minute.
	plain := startServer(t, &server.Options{})
	nc, err := nats.Connect(plain.ClientURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	noJS, _ := jetstream.New(nc)

	for _, c := range []struct {
		name string
		js   jetstream.JetStream
		cfg  jetstream.StreamConfig
	}{
		{"invalid config", js, jetstream.StreamConfig{Name: "BAD NAME", Subjects: []string{"bad.>"}}},
		{"no JetStream", noJS, jetstream.StreamConfig{Name: "NEWS", Subjects: []string{"news.>"}}},
	} {
		var logs bytes.Buffer
		attempts := 0
		_, err := retry(context.Background(), time.Minute, 50*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)), "stream", func(ctx context.Context) (jetstream.Stream, error) {
			attempts++
			return c.js.CreateOrUpdateStream(ctx, c.cfg)
		})
		if err == nil || attempts != 1 || logs.Len() != 0 {
			t.Errorf("%s: err %v after %d attempts, logged %q; want an error at the first attempt, nothing logged", c.name, err, attempts, logs.String())
		}
	}
}

func TestRetryGivesUp(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	t.Run("budget", func(t *testing.T) {
		attempts := 0
		_, err := retry(context.Background(), 300*time.Millisecond, 50*time.Millisecond, log, "stream", func(ctx context.Context) (int, error) {
			attempts++
			return hung[int](ctx)
		})
		if !errors.Is(err, context.DeadlineExceeded) || attempts < 2 || !strings.Contains(err.Error(), "attempts in") {
			t.Errorf("err %v after %d attempts; want the timeout, with the attempts counted", err, attempts)
		}
	})
	t.Run("canceled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		attempts := 0
		_, err := retry(ctx, time.Minute, 50*time.Millisecond, log, "stream", func(actx context.Context) (int, error) {
			if attempts++; attempts == 2 {
				cancel()
			}
			return hung[int](actx)
		})
		if !errors.Is(err, context.Canceled) || attempts != 2 {
			t.Errorf("err %v after %d attempts; want context.Canceled after 2", err, attempts)
		}
	})
}

func TestTransient(t *testing.T) {
	ctx := context.Background()
	done, cancel := context.WithCancel(ctx)
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		err  error
		want bool
	}{
		{"its own deadline", ctx, context.DeadlineExceeded, true},
		{"no answer", ctx, nats.ErrTimeout, true},
		{"no stream response", ctx, jetstream.ErrNoStreamResponse, true},
		{"temporarily unavailable", ctx, &jetstream.APIError{Code: 503, ErrorCode: 10008, Description: "JetStream system temporarily unavailable"}, true},
		{"the caller's context ended", done, context.DeadlineExceeded, false},
		{"no responders", ctx, nats.ErrNoResponders, false},
		{"not enabled", ctx, jetstream.ErrJetStreamNotEnabled, false},
		{"not enabled for the account", ctx, jetstream.ErrJetStreamNotEnabledForAccount, false},
		{"bad request", ctx, &jetstream.APIError{Code: 400, ErrorCode: 10003}, false},
		{"none", ctx, nil, false},
	} {
		if got := Transient(c.ctx, c.err); got != c.want {
			t.Errorf("%s: Transient = %v, want %v", c.name, got, c.want)
		}
	}
}
