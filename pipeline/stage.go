package pipeline

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/wirewatch/wirewatch/metrics"
)

// A Stage is one step of processing: it reads and amends the article in
// place. It returns an error only when the article could not be processed;
// wrap a permanent one with Permanent so it is terminated instead of
// redelivered. Stages are safe for concurrent use.
type Stage interface {
	Name() string
	Process(ctx context.Context, a *Article) error
}

// StageFunc adapts a function to a Stage.
type StageFunc struct {
	StageName string
	Fn        func(ctx context.Context, a *Article) error
}

// Name returns the stage name.
func (s StageFunc) Name() string { return s.StageName }

// Process calls the function.
func (s StageFunc) Process(ctx context.Context, a *Article) error { return s.Fn(ctx, a) }

// PermanentError marks an error that retrying cannot fix (unparseable input,
// an article that violates an invariant). Reason is a short, fixed label used
// as a metric label value.
type PermanentError struct {
	Reason string
	Err    error
}

func (e *PermanentError) Error() string { return fmt.Sprintf("%s: %v", e.Reason, e.Err) }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a permanent error with a metric-safe reason.
func Permanent(reason string, err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Reason: reason, Err: err}
}

// IsPermanent reports whether err (or anything it wraps) is permanent, and
// its reason.
func IsPermanent(err error) (string, bool) {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return pe.Reason, true
	}
	return "", false
}

// Chain runs stages in order over one article. It is what the daemon runs on
// each message and what `wirewatch inspect` runs offline.
type Chain []Stage

// Process runs every stage; it stops at the first error, naming the stage.
func (c Chain) Process(ctx context.Context, a *Article) error {
	for _, s := range c {
		if err := s.Process(ctx, a); err != nil {
			return fmt.Errorf("stage %s: %w", s.Name(), err)
		}
	}
	return nil
}

// Instrument wraps each stage so it counts processed articles, errors by
// reason and time spent, under the stage's name.
func Instrument(m *metrics.Metrics, stages ...Stage) Chain {
	c := make(Chain, len(stages))
	for i, s := range stages {
		c[i] = instrumented{s: s, m: m}
	}
	return c
}

type instrumented struct {
	s Stage
	m *metrics.Metrics
}

func (i instrumented) Name() string { return i.s.Name() }

func (i instrumented) Process(ctx context.Context, a *Article) error {
	start := time.Now()
	err := i.s.Process(ctx, a)
	name := i.s.Name()
	i.m.StageDuration.WithLabelValues(name).Observe(time.Since(start).Seconds())
	if err != nil {
		reason, ok := IsPermanent(err)
		if !ok {
			reason = "transient"
		}
		i.m.StageErrors.WithLabelValues(name, reason).Inc()
		return err
	}
	i.m.StageProcessed.WithLabelValues(name).Inc()
	return nil
}
