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
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/textcut"
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
	// Stories, when set, turns per-story alerting on: an article that
	// belongs to a story alerts once per story and topic, then an update
	// (Alert.Update) each time more sources have joined, instead of once
	// per article; a duplicate can only update. The store remembers, per
	// story and topic, which article alerted first and at how many
	// sources. A breaking story alerts with severity high.
	Stories StoryStore
	Now     func() time.Time
}

// StoryStore is the part of the shared index (dedup.Store) per-story
// alerting uses.
type StoryStore interface {
	Claim(ctx context.Context, key, value string) (string, error)
	Get(ctx context.Context, key string) (string, bool, error)
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
	archived.Text = textcut.Ellipsize(archived.Text, s.cfg.MaxArchivedText)
	body, err := json.Marshal(&archived)
	if err != nil {
		return pipeline.Permanent("encode", fmt.Errorf("encode article %s: %w", a.ID, err))
	}
	outs := []*nats.Msg{{Subject: natsutil.SubjectArticle + "." + natsutil.Token(a.FeedKey), Data: body, Header: msgID("article:" + a.ID)}}
	var topics []string
	for _, t := range a.Topics {
		topics = append(topics, t.Name)
	}
	var alerts []pipeline.Alert
	if a.Duplicate == nil || (s.cfg.Stories != nil && a.Story != nil) {
		for _, t := range a.Topics {
			al := Build(a, t, topics, s.severity(t), s.cfg.Now())
			if s.cfg.Stories != nil && a.Story != nil {
				send, err := s.storyAlert(ctx, a, &al)
				if err != nil {
					return err
				}
				if !send {
					continue
				}
			}
			data, err := json.Marshal(&al)
			if err != nil {
				return pipeline.Permanent("encode", fmt.Errorf("encode alert for %s: %w", a.ID, err))
			}
			outs = append(outs, &nats.Msg{Subject: Subject(t.Name, al.Severity), Data: data, Header: msgID(al.ID)})
			alerts = append(alerts, al)
		}
	}
	futures := make([]jetstream.PubAckFuture, len(outs))
	for i, m := range outs { // all at once, then one wait for every ack
		f, err := s.js.PublishMsgAsync(m)
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
	switch {
	case a.Duplicate != nil:
		s.m.StageDropped.WithLabelValues("sink", "duplicate").Inc()
	case len(a.Topics) == 0:
		s.m.StageDropped.WithLabelValues("sink", "no_topic").Inc()
	}
	for _, al := range alerts {
		s.m.Alerts.WithLabelValues(al.Topic, al.Severity).Inc()
	}
	return nil
}

// msgID is the header of a publish with Nats-Msg-Id id: what
// jetstream.WithMsgID sets, without the option machinery per publish.
func msgID(id string) nats.Header {
	return nats.Header{jetstream.MsgIDHeader: []string{id}}
}

// storyAlert decides whether the alert for a story article is sent: the
// first article of the story to match the topic (a.ID recorded, with the
// story's source count, under story.<id>.<topic>) sends the story's alert;
// a later one sends an update when the story has more sources than at
// that first alert. Ids are deterministic (story and topic; story, topic
// and source count for an update), so a redelivery publishes nothing new.
func (s *Sink) storyAlert(ctx context.Context, a *pipeline.Article, al *pipeline.Alert) (bool, error) {
	ref := *a.Story
	al.Story = &ref
	if ref.Breaking {
		al.Severity = "high"
	}
	key := "salert." + natsutil.Token(ref.ID) + "." + natsutil.Token(al.Topic)
	mine := a.ID + " " + strconv.Itoa(ref.Sources)
	var owner string
	var err error
	if a.Duplicate == nil {
		owner, err = s.cfg.Stories.Claim(ctx, key, mine)
	} else {
		var ok bool
		owner, ok, err = s.cfg.Stories.Get(ctx, key)
		if err == nil && !ok {
			s.m.StoryAlerts.WithLabelValues("suppressed").Inc()
			return false, nil // a duplicate never opens a story's alerts
		}
	}
	if err != nil {
		return false, fmt.Errorf("story alert %s: %w", key, err)
	}
	if id, _, _ := strings.Cut(owner, " "); id == a.ID {
		al.ID = pipeline.AlertID("story:"+ref.ID, al.Topic)
		s.m.StoryAlerts.WithLabelValues("new").Inc()
		return true, nil
	}
	_, n, _ := strings.Cut(owner, " ")
	first, _ := strconv.Atoi(n)
	if ref.Sources <= first {
		s.m.StoryAlerts.WithLabelValues("suppressed").Inc()
		return false, nil
	}
	al.Update = true
	al.ID = pipeline.AlertID("story:"+ref.ID+":"+strconv.Itoa(ref.Sources), al.Topic)
	s.m.StoryAlerts.WithLabelValues("update").Inc()
	return true, nil
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
			Summary: textcut.Ellipsize(a.Text, 400), Entities: a.Entities,
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
	return natsutil.SubjectAlert + "." + natsutil.Token(topic) + "." + severity
}
