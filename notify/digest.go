package notify

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/wirewatch/wirewatch/notify/schedule"
	"github.com/wirewatch/wirewatch/pipeline"
)

// BucketDigest holds what digests have collected, <subscription>.e.<delivery
// id> -> digestEntry, and the rate-limit counters, <subscription>.r.<window
// start, Unix seconds> -> count. An alert is written here before it is
// acknowledged, so a restart loses nothing.
const BucketDigest = "ww_notify_digest"

// Digest is what a subscription collected in a period, sent as one
// message. Alerts holds each article once, ordered by topic, story and
// time (Groups gives the grouping).
type Digest struct {
	Subscription string
	// ID is the same for every attempt at this digest.
	ID string
	// Reason is "digest" (the subscription's schedule) or "rate_limit"
	// (alerts beyond the subscription's rate limit).
	Reason   string
	Schedule string
	// Until is the end of the period: everything collected before it.
	Until  time.Time
	Alerts []pipeline.Alert
}

// DigestGroup is a topic's part of a digest.
type DigestGroup struct {
	Topic   string
	Stories []DigestStory
}

// DigestStory is the articles of one story in a digest (Story nil: an
// article of no story).
type DigestStory struct {
	Story  *pipeline.StoryRef
	Alerts []pipeline.Alert
}

// Groups are the digest's alerts by topic, then story, in order.
func (d *Digest) Groups() []DigestGroup {
	var out []DigestGroup
	for _, a := range d.Alerts {
		if len(out) == 0 || out[len(out)-1].Topic != a.Topic {
			out = append(out, DigestGroup{Topic: a.Topic})
		}
		g := &out[len(out)-1]
		if a.Story != nil && len(g.Stories) > 0 {
			if last := &g.Stories[len(g.Stories)-1]; last.Story != nil && last.Story.ID == a.Story.ID {
				last.Alerts = append(last.Alerts, a)
				if a.Story.Sources > last.Story.Sources {
					last.Story = a.Story
				}
				continue
			}
		}
		g.Stories = append(g.Stories, DigestStory{Story: a.Story, Alerts: []pipeline.Alert{a}})
	}
	return out
}

// DigestSender is a destination that sends a digest as one message.
// Slack, Email and Webhook are.
type DigestSender interface {
	SendDigest(ctx context.Context, d *Digest) error
}

// newDigest orders alerts and keeps each article once (its alert with the
// largest story).
func newDigest(sub, reason, sched string, until time.Time, alerts []pipeline.Alert) *Digest {
	byArticle := map[string]int{}
	var out []pipeline.Alert
	for _, a := range alerts {
		if i, ok := byArticle[a.Article.ID]; ok {
			if a.Story != nil && (out[i].Story == nil || a.Story.Sources > out[i].Story.Sources) {
				out[i] = a
			}
			continue
		}
		byArticle[a.Article.ID] = len(out)
		out = append(out, a)
	}
	storyOf := func(a pipeline.Alert) string {
		if a.Story == nil {
			return "\xff" + a.Article.ID // articles of no story after stories
		}
		return a.Story.ID
	}
	slices.SortStableFunc(out, func(a, b pipeline.Alert) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(storyOf(a), storyOf(b)),
			a.Article.Published.Compare(b.Article.Published), cmp.Compare(a.Article.ID, b.Article.ID))
	})
	sum := sha256.Sum256([]byte(sub + "\x00digest\x00" + until.UTC().Format(time.RFC3339)))
	return &Digest{Subscription: sub, ID: hex.EncodeToString(sum[:16]), Reason: reason, Schedule: sched, Until: until, Alerts: out}
}

type digestEntry struct {
	At     time.Time      `json:"at"`
	Reason string         `json:"reason"`
	Alert  pipeline.Alert `json:"alert"`
}

// digesting reports whether the subscription collects alerts (a digest
// schedule or a rate limit), and the schedule that ends its periods.
func (s Subscription) digesting() (schedule.Schedule, bool) {
	switch {
	case !s.Digest.IsZero():
		return s.Digest, true
	case s.RateLimit.N > 0:
		return s.RateLimit.Schedule(), true
	}
	return schedule.Schedule{}, false
}

func entryKey(sub, id string) string { return sub + ".e." + id }

// fold writes the alert into the digest bucket and marks its delivery
// queued in the notification log (the caller holds the claim on key).
func (n *Notifier) fold(ctx context.Context, key, id string, a *pipeline.Alert, reason string) error {
	val, err := json.Marshal(digestEntry{At: n.now(), Reason: reason, Alert: *a})
	if err != nil {
		return fmt.Errorf("digest entry: %w", err)
	}
	if _, err := n.digest.Create(ctx, entryKey(n.sub.Name, id), val); err != nil && !errors.Is(err, jetstream.ErrKeyExists) {
		return fmt.Errorf("digest bucket %s: add %s: %w", BucketDigest, id, err)
	}
	if err := n.log.finish(ctx, key, stateQueued, a.ID); err != nil {
		return err
	}
	n.m.NotificationsFolded.WithLabelValues(n.sub.Name, reason).Inc()
	return nil
}

// reserve takes one of the rate limit's messages in the current window;
// false: the window's allowance is spent.
func (n *Notifier) reserve(ctx context.Context) (bool, string, error) {
	r := n.sub.RateLimit
	key := n.sub.Name + ".r." + strconv.FormatInt(r.Window(n.now()).Unix(), 10)
	for range 20 {
		e, err := n.digest.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			if _, err := n.digest.Create(ctx, key, []byte("1")); err == nil {
				return true, key, nil
			} else if !errors.Is(err, jetstream.ErrKeyExists) {
				return false, "", fmt.Errorf("rate limit %s: %w", key, err)
			}
			continue
		}
		if err != nil {
			return false, "", fmt.Errorf("rate limit %s: %w", key, err)
		}
		c, _ := strconv.Atoi(string(e.Value()))
		if c >= r.N {
			return false, "", nil
		}
		if _, err := n.digest.Update(ctx, key, []byte(strconv.Itoa(c+1)), e.Revision()); err == nil {
			return true, key, nil
		}
	}
	return false, "", fmt.Errorf("rate limit %s: too much contention", key)
}

// unreserve gives back a message that was not delivered.
func (n *Notifier) unreserve(ctx context.Context, key string) {
	for range 20 {
		e, err := n.digest.Get(ctx, key)
		if err != nil {
			return
		}
		c, _ := strconv.Atoi(string(e.Value()))
		if c <= 0 {
			return
		}
		if _, err := n.digest.Update(ctx, key, []byte(strconv.Itoa(c-1)), e.Revision()); err == nil {
			return
		}
	}
}

// runDigests sends the collected alerts at the end of each period, and at
// start what earlier periods left (a daemon that was down at a boundary).
func (n *Notifier) runDigests(ctx context.Context, sched schedule.Schedule) {
	failures := 0
	for {
		now := n.now()
		wait := sched.Next(now).Sub(now)
		retry, err := n.flush(ctx, sched.Prev(now), sched.String(), failures+1)
		switch {
		case err != nil:
			failures++
			n.lg.Warn("digest not sent; will retry", "attempt", failures, "err", err)
			wait = min(wait, backoff(failures, n.sub.Backoff, n.sub.MaxBackoff))
			if retry > 0 {
				wait = min(retry, wait)
			}
		case retry > 0: // another daemon holds the digest
			wait = min(retry, wait)
		default:
			failures = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-n.after(wait):
		}
	}
}

// flush sends, as one digest, what was collected before until. It returns
// an error to retry after (RetryAfter, or 0 for the backoff), or
// retry > 0 with no error when another worker holds the digest.
func (n *Notifier) flush(ctx context.Context, until time.Time, sched string, attempt int) (time.Duration, error) {
	name := n.sub.Name
	lister, err := n.digest.ListKeysFiltered(ctx, name+".e.*")
	if err != nil {
		return 0, fmt.Errorf("digest bucket %s: list: %w", BucketDigest, err)
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	type item struct {
		key, logKey string
		e           digestEntry
	}
	var items []item
	for _, k := range keys {
		kve, err := n.digest.Get(ctx, k)
		if err != nil {
			continue // deleted meanwhile
		}
		var e digestEntry
		if err := json.Unmarshal(kve.Value(), &e); err != nil {
			n.lg.Warn("unreadable digest entry dropped", "key", k, "err", err)
			_ = n.digest.Delete(ctx, k)
			continue
		}
		if !e.At.Before(until) {
			continue // the next period's
		}
		logKey := name + "." + k[len(name)+len(".e."):]
		if st, _ := n.log.state(ctx, logKey); st == stateSent || st == stateDead {
			_ = n.digest.Delete(ctx, k) // delivered by a digest that crashed before cleaning up
			continue
		}
		items = append(items, item{k, logKey, e})
	}
	if len(items) == 0 {
		return 0, nil
	}
	reason := "digest" // a digest schedule, or else a rate limit's overflow
	if n.sub.Digest.IsZero() {
		reason = "rate_limit"
	}
	alerts := make([]pipeline.Alert, len(items))
	for i, it := range items {
		alerts[i] = it.e.Alert
	}
	d := newDigest(name, reason, sched, until, alerts)
	dkey := name + "." + d.ID
	rev, res, left, err := n.log.claim(ctx, dkey, nuid.Next(), "digest", n.sub.Lease)
	if err != nil {
		return 0, err
	}
	if res == busy {
		return max(left, 10*time.Millisecond), nil
	}
	finish := func(state string) {
		for _, it := range items {
			if err := n.log.finish(ctx, it.logKey, state, it.e.Alert.ID); err != nil {
				n.lg.Warn("digest: outcome not recorded", "alert", it.e.Alert.ID, "err", err)
			}
		}
		_ = n.log.finish(ctx, dkey, state, "digest")
		for _, it := range items {
			_ = n.digest.Delete(ctx, it.key)
		}
	}
	if res == alreadySent || res == alreadyDead {
		finish(map[claimResult]string{alreadySent: stateSent, alreadyDead: stateDead}[res])
		return 0, nil
	}
	typ := n.sub.Destination.Type()
	ds, ok := n.sub.Destination.(DigestSender)
	if !ok {
		err = permanent("config", fmt.Errorf("%s destinations cannot send digests", typ))
	} else {
		sctx, cancel := context.WithTimeout(ctx, n.sub.Timeout)
		err = ds.SendDigest(sctx, d)
		cancel()
	}
	if err == nil {
		finish(stateSent)
		n.m.NotificationsSent.WithLabelValues(name, typ).Inc()
		n.m.DigestSize.WithLabelValues(name, typ).Observe(float64(len(d.Alerts)))
		n.lg.Info("digest sent", "digest", d.ID, "articles", len(d.Alerts), "reason", d.Reason, "until", until)
		return 0, nil
	}
	e := classify(err)
	n.m.NotificationsFailed.WithLabelValues(name, typ, e.Reason).Inc()
	if e.Retryable && attempt < n.sub.Attempts && ctx.Err() == nil {
		n.log.release(ctx, dkey, rev)
		return e.RetryAfter, e
	}
	if ctx.Err() != nil {
		n.log.release(context.WithoutCancel(ctx), dkey, rev)
		return 0, e
	}
	if err := n.deadLetterDigest(ctx, d, e, attempt); err != nil {
		// Deleting the entries now would lose them: keep them for the retry.
		n.log.release(context.WithoutCancel(ctx), dkey, rev)
		return 0, err
	}
	finish(stateDead)
	return 0, nil
}

// deadLetterDigest publishes the digest given up on; an error means it was
// not stored and the caller must keep its entries.
func (n *Notifier) deadLetterDigest(ctx context.Context, d *Digest, e *Error, attempts int) error {
	if err := n.publishDeadLetter(ctx, d.ID, DeadLetter{Version: 1, Subscription: n.sub.Name, Destination: n.sub.Destination.Type(),
		Reason: e.Reason, Error: e.Error(), Attempts: attempts, At: n.now().UTC(), Alerts: d.Alerts}); err != nil {
		return err
	}
	n.m.DeadLetters.WithLabelValues(n.sub.Name, e.Reason).Inc()
	n.lg.Error("digest given up; dead-lettered", "digest", d.ID, "articles", len(d.Alerts), "attempts", attempts, "reason", e.Reason, "err", e, "subject", SubjectDeadLetter+"."+n.sub.Name)
	return nil
}
