package ledger

import (
	"context"

	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// Appender orders a record in the ledger and returns its verdict.
type Appender interface {
	Append(ctx context.Context, r *Record) (Result, error)
}

// Stage is the dedup stage: it marks duplicates and assigns stories.
type Stage struct {
	ledger Appender
	rules  Rules
	near   bool
	m      *metrics.Metrics
}

// NewStage returns the dedup stage over ledger l, deciding by r (the
// rules the ledger's index applies too); near false detects exact
// duplicates only.
func NewStage(l Appender, r Rules, near bool, m *metrics.Metrics) *Stage {
	return &Stage{ledger: l, rules: r.withDefaults(), near: near, m: m}
}

// Name is "dedup".
func (s *Stage) Name() string { return "dedup" }

// Record is what the ledger holds of a.
func (s *Stage) Record(a *pipeline.Article) *Record {
	w := dedup.WordsOf(a)
	id := s.rules.Near.Identify(a, w, s.near)
	r := &Record{Article: a.ID, Feed: a.FeedKey, NearSig: id.Entry}
	if r.Feed == "" {
		r.Feed = a.Feed
	}
	for _, fp := range id.Exact {
		r.Keys = append(r.Keys, Key{Kind: exactKind(fp.Kind), Hash: fp.Hash})
	}
	if id.Lead != 0 {
		r.Keys = append(r.Keys, Key{Kind: KindNear, Hash: id.Lead})
	}
	for _, h := range id.Bands {
		r.Keys = append(r.Keys, Key{Kind: KindNear, Hash: h})
	}
	if bands, sig, ok := s.rules.Story.Sketch(w); ok {
		r.StoryKeys, r.StorySig = bands, sig
	}
	return r
}

func exactKind(k string) Kind {
	switch k {
	case "url":
		return KindURL
	case "guid":
		return KindGUID
	}
	return KindContent
}

// Process sets a.Duplicate and a.Story.
func (s *Stage) Process(ctx context.Context, a *pipeline.Article) error {
	a.Duplicate, a.Story = nil, nil
	r := s.Record(a)
	if len(r.Keys) == 0 && len(r.StoryKeys) == 0 {
		return nil // nothing to know it by
	}
	res, err := s.ledger.Append(ctx, r)
	if err != nil {
		return err
	}
	a.Duplicate, a.Story = res.Duplicate, res.Story
	if res.Repeat {
		return nil
	}
	if a.Duplicate != nil {
		s.m.Duplicates.WithLabelValues(a.Duplicate.Kind).Inc()
	}
	if a.Story != nil && res.Added {
		event := "joined"
		if res.NewStory {
			event = "new"
		}
		s.m.Stories.WithLabelValues(event).Inc()
		if a.Story.Breaking {
			s.m.Stories.WithLabelValues("breaking").Inc()
		}
	}
	return nil
}
