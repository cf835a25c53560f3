// Package sink is the last stage: it archives every processed article on
// the ARTICLES stream and publishes an alert on ww.alert.<topic>.<severity>
// for each topic an original (non-duplicate) article is tagged with. It
// returns only after JetStream acknowledged every publish, so the runner
// acks the input only once the outputs are stored. Every publish carries a
// deterministic Nats-Msg-Id: a redelivered article duplicates nothing.
package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// publisher is the part of jetstream.JetStream the sink uses.
type publisher interface {
	PublishMsgAsync(m *nats.Msg, opts ...jetstream.PublishOpt) (jetstream.PubAckFuture, error)
}

// Config tunes the sink.
type Config struct {
	// HighScore is the score from which an alert's severity is "high"
	// (default 0.8) when the topic match carries no severity of its own.
	HighScore float64
	// MaxArchivedText caps the text kept in the archive (default 256 KiB).
	MaxArchivedText int
	Now             func() time.Time
}

// Sink archives articles and publishes alerts.
type Sink struct {
	js  publisher
	cfg Config
	m   *metrics.Metrics
}

// New returns a sink publishing through js.
func New(js publisher, cfg Config, m *metrics.Metrics) *Sink {
	if cfg.HighScore <= 0 {
		cfg.HighScore = 0.8
	}
	if cfg.MaxArchivedText <= 0 {
		cfg.MaxArchivedText = 256 << 10
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Sink{js: js, cfg: cfg, m: m}
}

// Name is "sink".
func (s *Sink) Name() string { return "sink" }

// Process publishes the archive copy and the alerts and waits for their
// acknowledgements.
func (s *Sink) Process(ctx context.Context, a *pipeline.Article) error {
	archived := *a
	archived.Content = "" // the archive keeps the normalised text
	archived.Text = truncate(archived.Text, s.cfg.MaxArchivedText)
	body, err := json.Marshal(&archived)
	if err != nil {
		return pipeline.Permanent("encode", fmt.Errorf("encode article %s: %w", a.ID, err))
	}
	outs := []*nats.Msg{{Subject: natsutil.SubjectArticle + "." + token(a.FeedKey), Data: body}}
	ids := []string{"article:" + a.ID}
	var topics []string
	for _, t := range a.Topics {
		topics = append(topics, t.Name)
	}
	var alerts []pipeline.Alert
	if a.Duplicate == nil {
		for _, t := range a.Topics {
			al := Build(a, t, topics, s.severity(t), s.cfg.Now())
			data, err := json.Marshal(&al)
			if err != nil {
				return pipeline.Permanent("encode", fmt.Errorf("encode alert for %s: %w", a.ID, err))
			}
			outs = append(outs, &nats.Msg{Subject: Subject(t.Name, al.Severity), Data: data})
			ids = append(ids, al.ID)
			alerts = append(alerts, al)
		}
	}
	futures := make([]jetstream.PubAckFuture, len(outs))
	for i, m := range outs {
		f, err := s.js.PublishMsgAsync(m, jetstream.WithMsgID(ids[i]))
		if err != nil {
			return fmt.Errorf("publish %s: %w", m.Subject, err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("publish %s: %w", outs[i].Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.m.ArticlesStored.Inc()
	for _, al := range alerts {
		s.m.Alerts.WithLabelValues(al.Topic, al.Severity).Inc()
	}
	return nil
}

func (s *Sink) severity(t pipeline.TopicMatch) string {
	if t.Severity != "" {
		return t.Severity
	}
	if t.Score >= s.cfg.HighScore {
		return "high"
	}
	return "normal"
}

// Build makes the alert for article a and one of its topic matches.
func Build(a *pipeline.Article, t pipeline.TopicMatch, topics []string, severity string, now time.Time) pipeline.Alert {
	return pipeline.Alert{
		Version:  pipeline.AlertVersion,
		ID:       pipeline.AlertID(a.ID, t.Name),
		Topic:    t.Name,
		Score:    t.Score,
		Severity: severity,
		Matches:  t.Matches,
		Branch:   t.Branch,
		Created:  now.UTC(),
		Topics:   topics,
		Article: pipeline.AlertArticle{
			ID: a.ID, URL: link(a), Title: a.Title, Feed: a.Feed, Group: a.Group,
			Published: a.Published, Fetched: a.Fetched, Language: a.Language,
			Summary: truncate(a.Text, 400), Entities: a.Entities,
		},
	}
}

// link is the article's canonical URL (tracking parameters removed), else
// its URL as published.
func link(a *pipeline.Article) string {
	if a.CanonicalURL != "" {
		return a.CanonicalURL
	}
	return a.URL
}

// Subject is the alert subject for a topic and severity.
func Subject(topic, severity string) string {
	return natsutil.SubjectAlert + "." + token(topic) + "." + severity
}

// token makes s safe as one subject token.
func token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// truncate cuts s to at most n bytes on a rune boundary, with an ellipsis.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
