package natsutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeclareBudget is how long a daemon keeps declaring what it needs (its
// streams, buckets and consumers) while JetStream answers with timeouts: a
// cluster still electing its leaders, or several daemons declaring
// replicated streams at once, can take longer than one API call's timeout
// (5 s) for each of them.
const DeclareBudget = time.Minute

// Transient reports whether err, returned by a JetStream API call made
// with ctx, may pass on its own: the call timed out or had no response,
// or JetStream answered that it is not available yet (503, "JetStream
// system temporarily unavailable"). Not when ctx itself ended, and not
// when the server has no JetStream (no responders, "not enabled"): that
// is a configuration to fix, said at once.
func Transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == http.StatusServiceUnavailable &&
			api.ErrorCode != jetstream.JSErrCodeJetStreamNotEnabled && api.ErrorCode != jetstream.JSErrCodeJetStreamNotEnabledForAccount
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// Retry calls declare until it succeeds, fails for good (not Transient),
// ctx ends, or budget has passed since the first call. Each attempt has a
// deadline of its own: 2 s, doubled (up to 10 s) when an attempt fails as
// the one before did, back to 2 s when it fails otherwise (a declaration
// of several resources got further). Of several clients that declare the
// same replicated stream at once, the servers answer one and leave the
// others waiting while the stream is created all the same
// (nats-io/nats.go#949), so a short wait and a second attempt beat the
// API's 5 s. Each retry is logged as a warning about what; an error
// answered at once is retried after a pause that doubles from 100 ms to
// 2 s.
func Retry[T any](ctx context.Context, budget time.Duration, log *slog.Logger, what string, declare func(context.Context) (T, error)) (T, error) {
	return retry(ctx, budget, 2*time.Second, log, what, declare)
}

// retry is Retry with the first attempt's deadline, first.
func retry[T any](ctx context.Context, budget, first time.Duration, log *slog.Logger, what string, declare func(context.Context) (T, error)) (T, error) {
	began := time.Now()
	wait, pause, prev := first, 100*time.Millisecond, ""
	for attempt := 1; ; attempt++ {
		at := time.Now()
		actx, cancel := context.WithTimeout(ctx, wait)
		v, err := declare(actx)
		cancel()
		if !Transient(ctx, err) || time.Since(began) > budget {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (%d attempts in %v)", err, attempt, time.Since(began).Round(time.Second))
			}
			return v, err
		}
		log.Warn("JetStream not answering yet; retrying", "what", what, "attempt", attempt, "err", err)
		if time.Since(at) < wait/2 {
			select {
			case <-ctx.Done():
				return v, fmt.Errorf("%s: %w", what, ctx.Err())
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		}
		if err.Error() == prev {
			wait = min(2*wait, 10*time.Second)
		} else {
			wait = first
		}
		prev = err.Error()
	}
}

// Next returns the iterator's next message, riding out missed heartbeats:
// when the server that holds the consumer goes quiet (a NATS node down,
// the consumer's leader moving), the iterator reports it and asks again
// by itself, so Next calls stalled and waits on. Any other error (the
// iterator stopped, the consumer deleted) is returned.
func Next(it jetstream.MessagesContext, stalled func()) (jetstream.Msg, error) {
	for {
		m, err := it.Next()
		if !errors.Is(err, jetstream.ErrNoHeartbeat) {
			return m, err
		}
		stalled()
	}
}
