// Package notify delivers alerts to where analysts work: Slack, email and
// webhooks. Each subscription is a durable JetStream pull consumer on the
// ALERTS stream (notify-<name>, filtered by its topics), so it runs in any
// daemon, or in `wirewatch notify` on its own, and competing daemons share
// the work. A notification log in the KV bucket ww_notify_log, keyed by
// subscription and the alert's delivery key (article, or story at its
// size), makes each article reach a subscription once even when several
// of its topics match or an alert is redelivered; "sent" is recorded only
// after the destination accepted. Failed deliveries are retried through
// JetStream redelivery with exponential backoff (or the destination's
// Retry-After); permanent failures and the last failed attempt go to the
// DEADLETTER stream.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/wirewatch/wirewatch/pipeline"
)

// Notification is one alert on its way to one subscription's destination.
type Notification struct {
	Subscription string
	// ID identifies the delivery (subscription + delivery key): the same
	// for every attempt, and for every topic-alert of one article.
	ID    string
	Alert pipeline.Alert
	// Test is true for `wirewatch notify test`.
	Test bool
}

// Destination sends notifications. Send returns nil once the destination
// accepted the notification; errors should be *Error (unclassified errors
// are treated as transport errors) and must not contain secrets.
type Destination interface {
	Type() string
	Send(ctx context.Context, n *Notification) error
}

// DeliveryID is the id of the delivery of a to subscription sub.
func DeliveryID(sub string, a *pipeline.Alert) string {
	sum := sha256.Sum256([]byte(sub + "\x00" + a.DeliveryKey()))
	return hex.EncodeToString(sum[:16])
}

// matchedTerms are the distinct matched texts of the alert, at most n.
func matchedTerms(a *pipeline.Alert, n int) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range a.Matches {
		t := m.Text
		if t == "" {
			t = m.Term
		}
		if t == "" || seen[t] {
			continue
		}
		seen[t] = true
		out = append(out, t)
		if len(out) == n {
			break
		}
	}
	return out
}

// SampleAlert is the alert `wirewatch notify test` sends.
func SampleAlert(now time.Time) pipeline.Alert {
	id := "wirewatch-test-" + now.UTC().Format("20060102T150405Z")
	return pipeline.Alert{
		Version: pipeline.AlertVersion, ID: pipeline.AlertID(id, "test"), Topic: "test", Score: 1, Severity: "normal",
		Matches: []pipeline.Match{{Term: "test", Text: "test", Field: "title", Start: 0, End: 4}},
		Created: now, Topics: []string{"test"},
		Article: pipeline.AlertArticle{
			ID: id, URL: "https://github.com/wirewatch/wirewatch", Title: "Test notification from Wirewatch",
			Feed: "Wirewatch", Published: now, Language: "en",
			Summary: "If you can read this, the subscription's destination works.",
		},
	}
}
