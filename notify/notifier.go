package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/nats-io/nuid"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/notify/schedule"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Names of what this package declares in JetStream.
const (
	BucketNotifyLog  = "ww_notify_log"
	StreamDeadLetter = "DEADLETTER"
	// SubjectDeadLetter is followed by the subscription name.
	SubjectDeadLetter = "ww.deadletter"
	// LogTTL is how long the notification log remembers a delivery: longer
	// than the ALERTS stream keeps an alert by default.
	LogTTL = 31 * 24 * time.Hour
)

// Resources are the notification log, the digest bucket and the
// dead-letter stream.
type Resources struct {
	Log        jetstream.KeyValue
	Digest     jetstream.KeyValue
	DeadLetter jetstream.Stream
}

// EnsureResources declares the notification log bucket and the
// DEADLETTER stream; idempotent.
func EnsureResources(ctx context.Context, js jetstream.JetStream, replicas int) (*Resources, error) {
	return ensureResources(ctx, js, replicas, natsutil.Once)
}

// ensureResources is EnsureResources making each declaration through
// declare.
func ensureResources(ctx context.Context, js jetstream.JetStream, replicas int, declare natsutil.Declarer) (*Resources, error) {
	replicas = max(replicas, 1)
	var r Resources
	var err error
	if r.Log, err = natsutil.DeclareBucket(ctx, js, declare, jetstream.KeyValueConfig{
		Bucket: BucketNotifyLog, Description: "Notification log: <subscription>.<delivery id> -> sending/sent/dead",
		Storage: jetstream.FileStorage, Replicas: replicas, History: 1, TTL: LogTTL,
	}); err != nil {
		return nil, err
	}
	if r.Digest, err = natsutil.DeclareBucket(ctx, js, declare, jetstream.KeyValueConfig{
		Bucket: BucketDigest, Description: "Digests: <subscription>.e.<delivery id> -> collected alert; <subscription>.r.<window> -> rate-limit count",
		Storage: jetstream.FileStorage, Replicas: replicas, History: 1, TTL: LogTTL,
	}); err != nil {
		return nil, err
	}
	if r.DeadLetter, err = natsutil.DeclareStream(ctx, js, declare, jetstream.StreamConfig{
		Name: StreamDeadLetter, Subjects: []string{SubjectDeadLetter + ".>"},
		Description: "Alerts a subscription gave up on, ww.deadletter.<subscription>",
		Storage:     jetstream.FileStorage, Replicas: replicas,
		MaxAge: 30 * 24 * time.Hour, MaxBytes: 256 << 20, Discard: jetstream.DiscardOld,
		Duplicates: time.Hour,
	}); err != nil {
		return nil, err
	}
	return &r, nil
}

// Subscription is one subscription, ready to run.
type Subscription struct {
	Name         string
	Topics       []string // empty: all
	MinScore     float64
	Sources      []string // feed names, case-insensitive
	Languages    []string
	Entities     []string // canonical names, case-insensitive
	BreakingOnly bool
	Destination  Destination
	// Digest, when set, collects the alerts and sends them as one message
	// at the end of each period.
	Digest schedule.Schedule
	// RateLimit, when set (N > 0), caps immediate messages per window;
	// the alerts beyond it are sent as one digest when the window ends.
	RateLimit schedule.Rate

	Timeout    time.Duration // one attempt (default 10s)
	Attempts   int           // before dead-lettering (default 12)
	Backoff    time.Duration // first retry delay (default 5s)
	MaxBackoff time.Duration // (default 10m)
	// Lease is how long a claim on a delivery holds before another worker
	// may take it over (default Timeout + 20s).
	Lease time.Duration
	// AckWait is JetStream's redelivery timeout for an unacknowledged
	// alert (default Timeout + 30s).
	AckWait time.Duration
}

func (s Subscription) withDefaults() Subscription {
	if s.Timeout <= 0 {
		s.Timeout = 10 * time.Second
	}
	if s.Attempts <= 0 {
		s.Attempts = 12
	}
	if s.Backoff <= 0 {
		s.Backoff = 5 * time.Second
	}
	if s.MaxBackoff <= 0 {
		s.MaxBackoff = 10 * time.Minute
	}
	s.MaxBackoff = max(s.MaxBackoff, s.Backoff)
	if s.Lease <= 0 {
		s.Lease = s.Timeout + 20*time.Second
	}
	if s.AckWait <= 0 {
		s.AckWait = s.Timeout + 30*time.Second
	}
	return s
}

// Durable is the consumer name of subscription name.
func Durable(name string) string { return "notify-" + name }

// Subjects are the ALERTS subjects the subscription's consumer filters on.
func (s Subscription) Subjects() []string {
	if len(s.Topics) == 0 {
		return []string{natsutil.SubjectAlert + ".>"}
	}
	out := make([]string, len(s.Topics))
	for i, t := range s.Topics {
		out[i] = natsutil.SubjectAlert + "." + t + ".>"
	}
	return out
}

// Options are what notifiers share.
type Options struct {
	Metrics *metrics.Metrics
	Logger  *slog.Logger
	Now     func() time.Time
	// After waits for digest periods (default time.After); tests pass a
	// controllable clock as Now and After.
	After func(time.Duration) <-chan time.Time
	// Since is where a subscription's consumer starts when it is created:
	// the alerts stored from then on. The daemon passes its start time, so
	// alerts its pipeline publishes before the consumer is declared are
	// not skipped. Zero: from the moment of creation. An existing consumer
	// keeps its position.
	Since time.Time
}

// Notifier runs one subscription.
type Notifier struct {
	sub    Subscription
	js     jetstream.JetStream
	cons   jetstream.Consumer
	log    notifyLog
	digest jetstream.KeyValue
	m      *metrics.Metrics
	lg     *slog.Logger
	now    func() time.Time
	after  func(time.Duration) <-chan time.Time

	// crash, for tests: called at "claimed" (before sending) and "recorded"
	// (after recording sent, before the ack); true makes the notifier drop
	// the message unacknowledged, as a kill -9 would.
	crash func(point string) bool
}

// New declares the subscription's durable consumer and returns its
// notifier. A new consumer starts with alerts published from o.Since (from
// now when zero).
func New(ctx context.Context, js jetstream.JetStream, res *Resources, sub Subscription, o Options) (*Notifier, error) {
	sub = sub.withDefaults()
	if sub.Destination == nil {
		return nil, fmt.Errorf("subscription %s: no destination", sub.Name)
	}
	if o.Metrics == nil {
		o.Metrics = metrics.NewUnregistered()
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.After == nil {
		o.After = time.After
	}
	if _, ok := sub.digesting(); ok && res.Digest == nil {
		return nil, fmt.Errorf("subscription %s: digests need the %s bucket", sub.Name, BucketDigest)
	}
	cc := jetstream.ConsumerConfig{
		Durable:        Durable(sub.Name),
		Description:    "Wirewatch subscription " + sub.Name,
		FilterSubjects: sub.Subjects(),
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        sub.AckWait,
		MaxDeliver:     -1, // the notifier counts attempts and dead-letters itself
		MaxAckPending:  256,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	}
	if !o.Since.IsZero() {
		since := o.Since
		cc.DeliverPolicy, cc.OptStartTime = jetstream.DeliverByStartTimePolicy, &since
	}
	cons, err := declareConsumer(ctx, js, cc)
	if err != nil {
		return nil, fmt.Errorf("subscription %s: declare consumer %s on %s: %w", sub.Name, Durable(sub.Name), natsutil.StreamAlerts, err)
	}
	return &Notifier{
		sub: sub, js: js, cons: cons, log: notifyLog{kv: res.Log, now: o.Now}, digest: res.Digest,
		m: o.Metrics, lg: o.Logger.With("subscription", sub.Name, "destination", sub.Destination.Type()), now: o.Now, after: o.After,
	}, nil
}

// Run delivers alerts until ctx is done. The alert being delivered when
// ctx ends is finished (bounded by the attempt timeout) or left for
// redelivery.
func (n *Notifier) Run(ctx context.Context) error {
	it, err := n.cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return fmt.Errorf("subscription %s: consume: %w", n.sub.Name, err)
	}
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	if sched, ok := n.sub.digesting(); ok {
		dctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); n.runDigests(dctx, sched) }()
		defer func() { cancel(); <-done }()
	}
	stalled := func() {
		n.m.ConsumerStalls.WithLabelValues(Durable(n.sub.Name)).Inc()
		n.lg.Warn("subscription's consumer missed its heartbeats (a NATS node down?); asking again")
	}
	for {
		m, err := natsutil.Next(it, stalled)
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("subscription %s: consume: %w", n.sub.Name, err)
		}
		if !n.handle(ctx, m) {
			it.Stop()
			return nil
		}
	}
}

// handle processes one alert; false means stop (a simulated crash).
func (n *Notifier) handle(ctx context.Context, m jetstream.Msg) bool {
	name, typ := n.sub.Name, n.sub.Destination.Type()
	attempt := 1
	if meta, err := m.Metadata(); err == nil {
		attempt = int(meta.NumDelivered)
	}
	var a pipeline.Alert
	if err := json.Unmarshal(m.Data(), &a); err != nil || a.Article.ID == "" {
		n.m.NotificationsFailed.WithLabelValues(name, typ, "decode").Inc()
		n.lg.Warn("undecodable alert dropped", "subject", m.Subject(), "err", err)
		_ = m.TermWithReason("decode")
		return true
	}
	if !n.sub.Match(&a) {
		n.m.NotificationsSkipped.WithLabelValues(name, "filtered").Inc()
		_ = m.Ack()
		return true
	}
	id := DeliveryID(name, &a)
	key := name + "." + id
	rev, res, left, err := n.log.claim(ctx, key, nuid.Next(), a.ID, n.sub.Lease)
	if err != nil {
		n.lg.Warn("notification log unavailable; will retry", "alert", a.ID, "err", err)
		_ = m.NakWithDelay(n.sub.Backoff)
		return true
	}
	switch res {
	case alreadySent:
		n.m.NotificationsSkipped.WithLabelValues(name, "already_sent").Inc()
		_ = m.Ack()
		return true
	case alreadyDead:
		n.m.NotificationsSkipped.WithLabelValues(name, "dead_lettered").Inc()
		_ = m.Ack()
		return true
	case alreadyQueued:
		n.m.NotificationsSkipped.WithLabelValues(name, "queued").Inc()
		_ = m.Ack()
		return true
	case busy:
		// Another worker is sending this article (another topic's alert,
		// or a competing daemon): look again when its lease ends, or sooner.
		_ = m.NakWithDelay(max(min(left, n.sub.Backoff), 10*time.Millisecond))
		return true
	}
	if n.crash != nil && n.crash("claimed") {
		return false
	}
	var slot string
	if _, ok := n.sub.digesting(); ok {
		reason := "digest"
		fold := !n.sub.Digest.IsZero()
		if !fold {
			ok, slotKey, err := n.reserve(ctx)
			if err != nil {
				n.lg.Warn("rate limit unavailable; will retry", "alert", a.ID, "err", err)
				n.log.release(ctx, key, rev)
				_ = m.NakWithDelay(n.sub.Backoff)
				return true
			}
			fold, reason, slot = !ok, "rate_limit", slotKey
		}
		if fold {
			if err := n.fold(ctx, key, id, &a, reason); err != nil {
				n.lg.Warn("could not add to the digest; will retry", "alert", a.ID, "err", err)
				n.log.release(ctx, key, rev)
				_ = m.NakWithDelay(n.sub.Backoff)
				return true
			}
			_ = m.Ack()
			return true
		}
	}

	notif := &Notification{Subscription: name, ID: id, Alert: a}
	sctx, cancel := context.WithTimeout(ctx, n.sub.Timeout)
	err = n.sub.Destination.Send(sctx, notif)
	cancel()
	// What follows must complete even while stopping.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer wcancel()
	if err == nil {
		if err := n.log.finish(wctx, key, stateSent, a.ID); err != nil {
			n.lg.Error("sent, but not recorded: a redelivery may send it again", "alert", a.ID, "err", err)
		}
		n.m.NotificationsSent.WithLabelValues(name, typ).Inc()
		if !a.Created.IsZero() {
			n.m.NotifyLatency.WithLabelValues(name, typ).Observe(n.now().Sub(a.Created).Seconds())
		}
		n.lg.Debug("delivered", "alert", a.ID, "attempt", attempt)
		if n.crash != nil && n.crash("recorded") {
			return false
		}
		_ = m.DoubleAck(wctx)
		return true
	}

	e := classify(err)
	n.m.NotificationsFailed.WithLabelValues(name, typ, e.Reason).Inc()
	if slot != "" && e.Retryable {
		n.unreserve(wctx, slot)
	}
	if e.Retryable && ctx.Err() != nil {
		// Stopping: hand the alert back for another worker or our restart.
		n.log.release(wctx, key, rev)
		_ = m.Nak()
		return true
	}
	if e.Retryable && attempt < n.sub.Attempts {
		delay := backoff(attempt, n.sub.Backoff, n.sub.MaxBackoff)
		if e.RetryAfter > 0 {
			delay = min(e.RetryAfter, time.Hour)
		}
		n.log.release(wctx, key, rev)
		n.lg.Warn("delivery failed; will retry", "alert", a.ID, "attempt", attempt, "of", n.sub.Attempts, "retry_in", delay, "reason", e.Reason, "err", e)
		_ = m.NakWithDelay(delay)
		return true
	}
	if err := n.deadLetter(wctx, &a, e, attempt); err != nil {
		// Recorded dead without a dead letter, the alert would be lost:
		// keep it, and try again (the delivery, then the dead letter).
		n.lg.Warn("could not dead-letter; will retry", "alert", a.ID, "err", err)
		if slot != "" && !e.Retryable {
			n.unreserve(wctx, slot)
		}
		n.log.release(wctx, key, rev)
		_ = m.NakWithDelay(n.sub.Backoff)
		return true
	}
	if err := n.log.finish(wctx, key, stateDead, a.ID); err != nil {
		n.lg.Warn("dead-lettered, but not recorded", "alert", a.ID, "err", err)
	}
	_ = m.TermWithReason(e.Reason)
	return true
}

// DeadLetter is what ww.deadletter.<subscription> carries.
type DeadLetter struct {
	Version      int            `json:"version"`
	Subscription string         `json:"subscription"`
	Destination  string         `json:"destination"`
	Reason       string         `json:"reason"`
	Error        string         `json:"error"`
	Attempts     int            `json:"attempts"`
	At           time.Time      `json:"at"`
	Alert        pipeline.Alert `json:"alert,omitzero"`
	// Alerts are a digest's alerts (then Alert is absent).
	Alerts []pipeline.Alert `json:"alerts,omitempty"`
}

// deadLetter publishes the alert given up on; an error means it was not
// stored and the caller must keep the alert.
func (n *Notifier) deadLetter(ctx context.Context, a *pipeline.Alert, e *Error, attempts int) error {
	name := n.sub.Name
	if err := n.publishDeadLetter(ctx, a.ID, DeadLetter{Version: 1, Subscription: name, Destination: n.sub.Destination.Type(), Reason: e.Reason,
		Error: e.Error(), Attempts: attempts, At: n.now().UTC(), Alert: *a}); err != nil {
		return err
	}
	n.m.DeadLetters.WithLabelValues(name, e.Reason).Inc()
	n.lg.Error("delivery given up; alert dead-lettered", "alert", a.ID, "title", a.Article.Title, "attempts", attempts, "reason", e.Reason, "err", e, "subject", SubjectDeadLetter+"."+name)
	return nil
}

// publishDeadLetter stores d in the DEADLETTER stream (deduplicated by
// subscription and id, so a retry after an unacknowledged publish is not
// stored twice).
func (n *Notifier) publishDeadLetter(ctx context.Context, id string, d DeadLetter) error {
	body, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("dead letter %s: encode: %w", id, err)
	}
	subj := SubjectDeadLetter + "." + n.sub.Name
	msg := &nats.Msg{Subject: subj, Data: body, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, n.sub.Name+"."+id)
	if _, err := n.js.PublishMsg(ctx, msg); err != nil {
		return fmt.Errorf("dead letter %s: publish to %s: %w", id, subj, err)
	}
	return nil
}

// Match applies the subscription's filters (topics are applied by the
// consumer's subject filter).
func (s Subscription) Match(a *pipeline.Alert) bool {
	if a.Score < s.MinScore {
		return false
	}
	if s.BreakingOnly && (a.Story == nil || !a.Story.Breaking) {
		return false
	}
	fold := func(list []string, v string) bool {
		return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
	}
	if len(s.Sources) > 0 && !fold(s.Sources, a.Article.Feed) {
		return false
	}
	if len(s.Languages) > 0 && !fold(s.Languages, a.Article.Language) {
		return false
	}
	if len(s.Entities) > 0 && !slices.ContainsFunc(a.Article.Entities, func(e pipeline.Entity) bool { return fold(s.Entities, e.Name) }) {
		return false
	}
	return true
}

// Run runs a notifier per subscription until ctx is done.
func Run(ctx context.Context, js jetstream.JetStream, subs []Subscription, replicas int, o Options) error {
	if len(subs) == 0 {
		<-ctx.Done()
		return nil
	}
	// Declared while JetStream does not answer yet (a cluster still
	// electing its leaders), as the daemon declares its streams.
	res, err := ensureResources(ctx, js, replicas, natsutil.Retrying(o.Logger, natsutil.DeclareBudget))
	if err != nil {
		return err
	}
	var ns []*Notifier
	for _, s := range subs {
		n, err := natsutil.Retry(ctx, natsutil.DeclareBudget, o.Logger, "consumer of subscription "+s.Name, func(ctx context.Context) (*Notifier, error) {
			return New(ctx, js, res, s, o)
		})
		if err != nil {
			return err
		}
		ns = append(ns, n)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, n := range ns {
		wg.Go(func() {
			if err := n.Run(ctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

// declareConsumer creates the consumer, or updates an existing one: the
// start of an existing consumer is not changed (JetStream refuses that),
// so an update keeps the one it has.
func declareConsumer(ctx context.Context, js jetstream.JetStream, cc jetstream.ConsumerConfig) (jetstream.Consumer, error) {
	cons, err := js.Consumer(ctx, natsutil.StreamAlerts, cc.Durable)
	switch {
	case errors.Is(err, jetstream.ErrConsumerNotFound):
		return js.CreateOrUpdateConsumer(ctx, natsutil.StreamAlerts, cc)
	case err != nil:
		return nil, err
	}
	info := cons.CachedInfo().Config
	cc.DeliverPolicy, cc.OptStartTime = info.DeliverPolicy, info.OptStartTime
	return js.CreateOrUpdateConsumer(ctx, natsutil.StreamAlerts, cc)
}
