package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// abortWait bounds how long a failed Start waits for Run to return after
// cancelling it.
const abortWait = 30 * time.Second

// Running is a daemon started by Start. Its goroutine belongs to it: Stop
// ends it, and Done is closed once Run has returned.
type Running struct {
	// NATSURL is the URL clients connect to: the embedded server's, or
	// nats.url.
	NATSURL string

	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result; read only after done is closed
}

// Start runs the daemon in a goroutine it owns and returns once the daemon
// is ready (what Options.OnReady reports), or fails with what happened: Run
// returned before it was ready ("daemon stopped before ready: <Run's
// error>"), readyTimeout passed ("daemon not ready within ..."), or ctx was
// done. A readyTimeout <= 0 waits without a limit (ctx still applies). A
// failed Start has cancelled the daemon and waited for Run to return (for
// up to 30s, and says so if Run did not).
//
// A caller's opts.OnReady is still called, from the daemon's goroutine,
// before Start returns. Cancelling ctx stops the daemon too; either way,
// call Stop (or wait on Done) to collect Run's result.
func Start(ctx context.Context, opts Options, readyTimeout time.Duration) (*Running, error) {
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan string, 1)
	callerReady := opts.OnReady
	opts.OnReady = func(natsURL string) {
		if callerReady != nil {
			callerReady(natsURL)
		}
		ready <- natsURL
	}
	r := &Running{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = Run(runCtx, opts)
	}()

	var timeout <-chan time.Time
	if readyTimeout > 0 {
		t := time.NewTimer(readyTimeout)
		defer t.Stop()
		timeout = t.C
	}
	select {
	case u := <-ready:
		r.NATSURL = u
		return r, nil
	case <-r.done:
		cancel()
		err := r.err
		if err == nil { // ctx ended the start-up and Run returned quietly
			err = context.Cause(ctx)
		}
		if err == nil {
			return nil, errors.New("daemon stopped before ready")
		}
		return nil, fmt.Errorf("daemon stopped before ready: %w", err)
	case <-timeout:
		return nil, r.abort(fmt.Errorf("daemon not ready within %v", readyTimeout))
	case <-ctx.Done():
		return nil, r.abort(fmt.Errorf("daemon start: %w", context.Cause(ctx)))
	}
}

// abort cancels a daemon that did not get ready and waits (bounded) for
// Run to return; Run's own error, if any, joins why.
func (r *Running) abort(why error) error {
	r.cancel()
	t := time.NewTimer(abortWait)
	defer t.Stop()
	select {
	case <-r.done:
		if r.err != nil && !errors.Is(r.err, context.Canceled) {
			return errors.Join(why, r.err)
		}
		return why
	case <-t.C:
		return errors.Join(why, fmt.Errorf("daemon did not stop within %v after cancel; its goroutine is still running", abortWait))
	}
}

// Stop cancels the daemon and waits for Run to return, for up to timeout
// (<= 0: without a limit), and returns Run's error: nil after a clean
// shutdown, the failure if a component had already stopped it. Stop may be
// called more than once.
func (r *Running) Stop(timeout time.Duration) error {
	r.cancel()
	if timeout <= 0 {
		<-r.done
		return r.err
	}
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return r.err
	case <-t.C:
		return fmt.Errorf("daemon did not stop within %v", timeout)
	}
}

// Done is closed when Run has returned, after Stop or on its own (a
// component failed, or Start's ctx was done).
func (r *Running) Done() <-chan struct{} { return r.done }

// Err is Run's result once Done is closed, and nil before.
func (r *Running) Err() error {
	select {
	case <-r.done:
		return r.err
	default:
		return nil
	}
}
