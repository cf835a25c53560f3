package notify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/wirewatch/wirewatch/pipeline"
)

// WebhookVersion is the version of the webhook document.
const WebhookVersion = 1

// WebhookPayload is the JSON document POSTed to a webhook. The README
// documents it; fields are only ever added within a version.
type WebhookPayload struct {
	Version int    `json:"version"`
	Type    string `json:"type"` // "alert", or "test" from `wirewatch notify test`
	// ID is the same for every attempt at one delivery: receivers may use
	// it to drop a repeat.
	ID           string    `json:"id"`
	SentAt       time.Time `json:"sent_at"`
	Subscription string    `json:"subscription"`
	// Alert is the alert of type "alert" and "test".
	Alert pipeline.Alert `json:"alert,omitzero"`
	// Digest and Alerts are a "digest": its description and its alerts,
	// each article once, ordered by topic and story.
	Digest *WebhookDigest   `json:"digest,omitempty"`
	Alerts []pipeline.Alert `json:"alerts,omitempty"`
}

// Webhook headers. The signature is "v1=" + hex(HMAC-SHA256(secret,
// timestamp + "." + body)).
const (
	HeaderDelivery  = "X-Wirewatch-Delivery"
	HeaderTimestamp = "X-Wirewatch-Timestamp"
	HeaderSignature = "X-Wirewatch-Signature"
)

// Webhook POSTs WebhookPayload documents.
type Webhook struct {
	URL    string // may hold a token: never logged
	Secret []byte // signing key; nil: unsigned
	Client *http.Client
	Now    func() time.Time
}

// Type is "webhook".
func (w *Webhook) Type() string { return "webhook" }

// Send posts one notification.
func (w *Webhook) Send(ctx context.Context, n *Notification) error {
	typ := "alert"
	if n.Test {
		typ = "test"
	}
	return w.post(ctx, WebhookPayload{Version: WebhookVersion, Type: typ, ID: n.ID, Subscription: n.Subscription, Alert: n.Alert})
}

func (w *Webhook) post(ctx context.Context, p WebhookPayload) error {
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	c := w.Client
	if c == nil {
		c = newHTTPClient()
	}
	sent := now().UTC()
	p.SentAt = sent
	body, err := json.Marshal(p)
	if err != nil {
		return permanent("encode", fmt.Errorf("webhook body: %w", err))
	}
	ts := strconv.FormatInt(sent.Unix(), 10)
	hdr := http.Header{}
	hdr.Set(HeaderDelivery, p.ID)
	hdr.Set(HeaderTimestamp, ts)
	if len(w.Secret) > 0 {
		hdr.Set(HeaderSignature, Sign(w.Secret, ts, body))
	}
	_, err = postJSON(ctx, c, "webhook", w.URL, body, hdr)
	return err
}

// Sign is the webhook signature of body sent at timestamp ts (Unix
// seconds, as in the X-Wirewatch-Timestamp header).
func Sign(secret []byte, ts string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(ts))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify checks a webhook's signature and that its timestamp is within
// tolerance of now, for receivers written in Go.
func Verify(secret []byte, ts, signature string, body []byte, now time.Time, tolerance time.Duration) bool {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, ts, body)), []byte(signature))
}
