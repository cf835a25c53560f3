package natsutil

import (
	"bytes"
	"context"
	"errors"
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
	const first = 100 * time.Millisecond
	retried := retrying(slog.New(slog.NewTextHandler(&logs, nil)), time.Minute, first)
	// Every declaration goes unanswered once, as when daemons declare the
	// same streams at once; LEDGER's three times.
	hangs := map[string]int{"stream LEDGER": 3}
	deadlines := map[string][]time.Duration{}
	declare := func(ctx context.Context, what string, call func(context.Context) error) error {
		return retried(ctx, what, func(ctx context.Context) error {
			d, _ := ctx.Deadline()
			deadlines[what] = append(deadlines[what], time.Until(d))
			n, seen := hangs[what]
			if !seen {
				n = 1 // every declaration: once
			}
			if n > 0 {
				hangs[what] = n - 1
				_, err := hung[struct{}](ctx)
				return err
			}
			return call(ctx)
		})
	}
	res, err := EnsureResourcesWith(context.Background(), js, Limits{}, declare)
	if err != nil {
		t.Fatalf("declare: %v", err)
	}
	for _, name := range []string{StreamIngest, StreamArticles, StreamAlerts, StreamLedger, "KV_" + BucketFeeds, "KV_" + BucketDedup} {
		if _, err := js.Stream(context.Background(), name); err != nil {
			t.Errorf("stream %s not on the server after the retries: %v", name, err)
		}
	}
	if res.Ledger == nil || res.Dedup == nil {
		t.Errorf("resources not returned: %+v", res)
	}
	if len(deadlines) != 6 {
		t.Errorf("%d declarations, want 6: %v", len(deadlines), deadlines)
	}
	// Each declaration starts at the first wait and doubles its own.
	for what, ds := range deadlines {
		want := []time.Duration{first, 2 * first}
		if what == "stream LEDGER" {
			want = []time.Duration{first, 2 * first, 4 * first, 8 * first}
		}
		if len(ds) != len(want) {
			t.Errorf("%s: %d attempts, want %d", what, len(ds), len(want))
			continue
		}
		for i, d := range ds {
			if d > want[i] || d < want[i]-first/2 {
				t.Errorf("%s: attempt %d had %v to answer, want about %v", what, i+1, d.Round(time.Millisecond), want[i])
			}
		}
	}
	if n := strings.Count(logs.String(), "JetStream not answering yet"); n != 8 {
		t.Errorf("%d warnings, want 8 (one a retry):\n%s", n, logs.String())
	}
	if !strings.Contains(logs.String(), `what="stream LEDGER"`) {
		t.Errorf("the warnings do not name the stream:\n%s", logs.String())
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
		{"incomplete results", ctx, &jetstream.APIError{Code: 503, ErrorCode: 10004}, true},
		{"no suitable peers yet", ctx, &jetstream.APIError{Code: 400, ErrorCode: 10005}, true},
		{"not the leader", ctx, &jetstream.APIError{Code: 500, ErrorCode: 10009}, true},
		{"store failed (a 503 that needs fixing)", ctx, &jetstream.APIError{Code: 503, ErrorCode: 10077}, false},
		{"no account", ctx, &jetstream.APIError{Code: 503, ErrorCode: 10035}, false},
		{"bad request", ctx, &jetstream.APIError{Code: 400, ErrorCode: 10003}, false},
		{"none", ctx, nil, false},
	} {
		if got := Transient(c.ctx, c.err); got != c.want {
			t.Errorf("%s: Transient = %v, want %v", c.name, got, c.want)
		}
	}
}
