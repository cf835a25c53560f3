package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// shutdownStack holds stop functions, run last-in first-out, each bounded.
type shutdownStack struct {
	steps []step
}

type step struct {
	name string
	stop func(context.Context) error
}

func (s *shutdownStack) push(name string, stop func(context.Context) error) {
	s.steps = append(s.steps, step{name, stop})
}

// unwind stops everything in reverse start order, giving each step at most
// timeout; a step that overruns is logged and left behind.
func (s *shutdownStack) unwind(log *slog.Logger, timeout time.Duration) {
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		done := make(chan error, 1)
		go func() { done <- st.stop(ctx) }()
		select {
		case err := <-done:
			if err != nil {
				log.Warn("stop failed", "component", st.name, "err", err)
			} else {
				log.Debug("stopped", "component", st.name)
			}
		case <-ctx.Done():
			log.Error("stop timed out", "component", st.name, "timeout", timeout)
		}
		cancel()
	}
	s.steps = nil
}

// run starts a long-running fn in a goroutine with its own context, so the
// stack stops components one at a time, in order. An error fn returns
// before being asked to stop goes to failed. Its stop step cancels it and
// waits for it.
func (s *shutdownStack) run(name string, failed chan<- error, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := fn(ctx); err != nil && ctx.Err() == nil {
			select {
			case failed <- fmt.Errorf("%s: %w", name, err):
			default:
			}
		}
	}()
	s.push(name, func(sctx context.Context) error {
		cancel()
		select {
		case <-done:
			return nil
		case <-sctx.Done():
			return sctx.Err()
		}
	})
}
