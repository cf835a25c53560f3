// Package classify is the pipeline stage that tags articles with topics. It
// runs a compiled topics.Set over each article and swaps in new rules, from
// a topic file that changed or on SIGHUP, without stopping.
package classify

import (
	"context"
	"log/slog"
	"sync/atomic"

	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/topics"
)

// Classifier is the "classify" stage. It is safe for concurrent use,
// including Process running while the rules are swapped.
type Classifier struct {
	rules atomic.Pointer[topics.Set]
	m     *metrics.Metrics
	log   *slog.Logger
}

var _ pipeline.Stage = (*Classifier)(nil)

// New returns a classifier running set. A nil set tags nothing until Swap;
// nil metrics or logger are replaced by private ones that go nowhere.
func New(set *topics.Set, m *metrics.Metrics, logger *slog.Logger) *Classifier {
	if m == nil {
		m = metrics.NewUnregistered()
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	c := &Classifier{m: m, log: logger}
	if set != nil {
		c.rules.Store(set)
	}
	return c
}

// Name is "classify".
func (c *Classifier) Name() string { return "classify" }

// Process sets a.Topics to the topics the article is tagged with (score at
// or above the topic's threshold, highest score first), replacing what a
// previous delivery set, and counts each in wirewatch_topic_matches_total.
func (c *Classifier) Process(_ context.Context, a *pipeline.Article) error {
	set := c.rules.Load()
	if set == nil {
		a.Topics = nil
		return nil
	}
	a.Topics = set.Match(a)
	for _, t := range a.Topics {
		c.m.TopicMatches.WithLabelValues(t.Name).Inc()
	}
	return nil
}

// Swap replaces the rules atomically: an article being processed finishes
// with the rules it started with, the next one gets the new ones.
func (c *Classifier) Swap(set *topics.Set) { c.rules.Store(set) }

// Rules returns the rules in use (nil if none).
func (c *Classifier) Rules() *topics.Set { return c.rules.Load() }

// Reload loads the topic file at path and, if it is valid, swaps it in. An
// invalid file keeps the rules in use; the error (with file:line:col) is
// logged and returned. Either way it is counted in
// wirewatch_topic_reloads_total{result}.
func (c *Classifier) Reload(path string) error {
	set, err := topics.LoadFile(path)
	if err != nil {
		c.m.TopicReloads.WithLabelValues("error").Inc()
		c.log.Error("topics reload failed; keeping the previous rules", "file", path, "err", err)
		return err
	}
	c.Swap(set)
	c.m.TopicReloads.WithLabelValues("ok").Inc()
	c.log.Info("topics reloaded", "file", path, "topics", set.Len())
	return nil
}
