package natsutil

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// DeclareBudget is how long a daemon keeps making one declaration (a
// stream, a bucket, a consumer, its registration) while JetStream answers
// with timeouts: a cluster still electing its leaders, or several daemons
// declaring the same replicated stream at once, can take longer than one
// API call's timeout (5 s).
const DeclareBudget = time.Minute

// transientCodes are the JetStream API errors that pass on their own while
// a cluster forms or elects: temporarily unavailable, incomplete results,
// no suitable peers (not all known yet), not the leader.
var transientCodes = []jetstream.ErrorCode{10008, 10004, 10005, 10009}

// Transient reports whether err, returned by a JetStream API call made
// with ctx, may pass on its own: the call timed out or had no response,
// or JetStream answered with one of transientCodes. Not when ctx itself
// ended, and not for an answer that needs fixing (no JetStream, no
// account, a store that failed, an invalid configuration): that is said
// at once.
func Transient(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return slices.Contains(transientCodes, api.ErrorCode)
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrNoStreamResponse)
}

// A Declarer makes one JetStream declaration, call, named what (for
// instance "stream INGEST").
type Declarer func(ctx context.Context, what string, call func(context.Context) error) error

// Once is the Declarer that calls once.
func Once(ctx context.Context, what string, call func(context.Context) error) error {
	return call(ctx)
}

// Retrying is the Declarer that retries each declaration while it fails
// transiently, for up to budget (Retry).
func Retrying(log *slog.Logger, budget time.Duration) Declarer {
	return retrying(log, budget, 2*time.Second)
}

// retrying is Retrying with the first attempt's deadline, first.
func retrying(log *slog.Logger, budget, first time.Duration) Declarer {
	return func(ctx context.Context, what string, call func(context.Context) error) error {
		_, err := retry(ctx, budget, first, log, what, func(ctx context.Context) (struct{}, error) {
			return struct{}{}, call(ctx)
		})
		return err
	}
}

// Retry calls declare until it succeeds, fails for good (not Transient),
// ctx ends, or budget has passed since the first call. Each attempt has a
// deadline of its own, 2 s, then doubled up to 10 s: of several clients
// that declare the same replicated stream at once, the servers answer one
// and leave the others waiting while the stream is created all the same
// (nats-io/nats.go#949), so a short first wait and a second attempt beat
// the API's 5 s, while a slow cluster gets longer ones. Each retry is
// logged as a warning about what; an error answered at once is retried
// after a pause that doubles from 100 ms to 2 s.
func Retry[T any](ctx context.Context, budget time.Duration, log *slog.Logger, what string, declare func(context.Context) (T, error)) (T, error) {
	return retry(ctx, budget, 2*time.Second, log, what, declare)
}

// retry is Retry with the first attempt's deadline, first.
func retry[T any](ctx context.Context, budget, first time.Duration, log *slog.Logger, what string, declare func(context.Context) (T, error)) (T, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	began := time.Now()
	wait, pause := first, 100*time.Millisecond
	for attempt := 1; ; attempt++ {
		at := time.Now()
		actx, cancel := context.WithTimeout(ctx, min(wait, time.Until(began.Add(budget))))
		v, err := declare(actx)
		cancel()
		if !Transient(ctx, err) || time.Since(began) >= budget {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (%d attempts in %v)", err, attempt, time.Since(began).Round(time.Second))
			}
			return v, err
		}
		log.Warn("JetStream not answering yet; retrying", "what", what, "attempt", attempt, "err", err)
		if time.Since(at) < wait/2 {
			select {
			case <-ctx.Done():
				return v, fmt.Errorf("%s: %w (after %w)", what, ctx.Err(), err)
			case <-time.After(pause):
			}
			pause = min(2*pause, 2*time.Second)
		}
		wait = min(2*wait, 10*time.Second)
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
