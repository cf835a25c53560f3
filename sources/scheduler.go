package sources

import (
	"container/heap"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/textcut"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Poller defaults.
const (
	DefaultConcurrency        = 8
	DefaultPerHostConcurrency = 2
	DefaultPerHostSpacing     = time.Second
	// stateSaveTimeout bounds the final state write of a poll cut short by
	// shutdown, so acknowledged publishes are still recorded.
	stateSaveTimeout = 5 * time.Second
	maxErrorText     = 500
	// DefaultMaxItemsPerPoll is how many items one poll of one feed takes
	// at most (the newest); the rest are counted in
	// wirewatch_items_capped_total.
	DefaultMaxItemsPerPoll = 1000
	// payloadHeadroom is kept free under the NATS max payload for the
	// message headers.
	payloadHeadroom = 4 << 10
)

// PollerConfig configures a Poller. Fetcher, KV and JS are required.
type PollerConfig struct {
	Feeds   []Feed
	Fetcher *Fetcher
	// KV is the feed-state bucket (natsutil.BucketFeeds).
	KV jetstream.KeyValue
	// JS publishes to the INGEST stream.
	JS      jetstream.JetStream
	Metrics *metrics.Metrics // nil: unregistered metrics
	Logger  *slog.Logger     // nil: discard
	// Concurrency is how many feeds are polled at once (default 8).
	Concurrency int
	// PerHostConcurrency is how many feeds of one host are polled at once
	// (default 2); PerHostSpacing is the least time between two poll
	// starts on one host (default 1s).
	PerHostConcurrency int
	PerHostSpacing     time.Duration
	// Now is the clock for state times (default time.Now).
	Now func() time.Time
	// MaxItemsPerPoll bounds the items one poll publishes: of a feed with
	// more, the newest are taken (default DefaultMaxItemsPerPoll).
	MaxItemsPerPoll int
	// Members, when set, shares the feeds with the other polling daemons
	// (ownership.go): this poller polls only the feeds it owns, each poll
	// claimed in the feed state by compare-and-set. Nil: every feed is
	// this poller's.
	Members *Membership
	// Lease is how long a claimed poll keeps other members off if it never
	// finishes (default 2 × the fetch timeout + 10s).
	Lease time.Duration
}

// Poller polls feeds when they are due and publishes their new items to
// JetStream. Due times live in a min-heap served by a fixed worker pool.
type Poller struct {
	cfg     PollerConfig
	store   *StateStore
	m       *metrics.Metrics
	log     *slog.Logger
	now     func() time.Time
	entries []*entry
	running atomic.Bool
	// onDispatch, when set (by tests), sees every poll start as the
	// scheduler decides it.
	onDispatch func(host string, at time.Time)
}

// entry is one feed in the schedule. Only the Run goroutine touches state
// and next; a worker gets a copy of the state and returns a new one.
type entry struct {
	feed  Feed
	key   string
	host  string
	state State
	next  time.Time
}

func (e *entry) due() time.Time { return e.next }

// hostState is the politeness bookkeeping of one host.
type hostState struct {
	name      string
	active    int
	nextStart time.Time
	waiting   []*entry // due, waiting for the host (FIFO)
	queued    bool     // in the host heap
}

func (h *hostState) due() time.Time { return h.nextStart }

type job struct {
	e  *entry
	st State
}

type result struct {
	e        *entry
	st       State
	canceled bool
	// skipped: another member polls the feed or it is not due in the
	// shared state; next is when to look again.
	skipped bool
	next    time.Time
}

// NewPoller returns a Poller over cfg.Feeds (a URL listed twice is polled
// once).
func NewPoller(cfg PollerConfig) *Poller {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.PerHostConcurrency <= 0 {
		cfg.PerHostConcurrency = DefaultPerHostConcurrency
	}
	if cfg.PerHostSpacing <= 0 {
		cfg.PerHostSpacing = DefaultPerHostSpacing
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.MaxItemsPerPoll <= 0 {
		cfg.MaxItemsPerPoll = DefaultMaxItemsPerPoll
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.NewUnregistered()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 10 * time.Second
		if cfg.Fetcher != nil {
			cfg.Lease += 2 * cfg.Fetcher.client.Timeout
		}
	}
	p := &Poller{
		cfg:   cfg,
		store: NewStateStore(cfg.KV),
		m:     cfg.Metrics,
		log:   cfg.Logger.With("component", "poller"),
		now:   cfg.Now,
	}
	seen := map[string]bool{}
	for _, f := range cfg.Feeds {
		if seen[f.Key()] {
			continue
		}
		seen[f.Key()] = true
		p.entries = append(p.entries, &entry{feed: f, key: f.Key(), host: hostOf(f.URL)})
	}
	return p
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Hostname() != "" {
		return strings.ToLower(u.Hostname())
	}
	return raw
}

// Run polls feeds until ctx is done. It reads the stored state first, so a
// restart honours each feed's NextPoll; feeds overdue at start are spread
// (initialNext; feeds never polled are due at once). Every
// goroutine it starts has stopped when it returns. It returns an error only
// when the state cannot be read at start, or when called twice at once.
func (p *Poller) Run(ctx context.Context) error {
	if p.cfg.Fetcher == nil || p.cfg.KV == nil || p.cfg.JS == nil {
		return errors.New("poller: Fetcher, KV and JS are required")
	}
	if !p.running.CompareAndSwap(false, true) {
		return errors.New("poller: already running")
	}
	defer p.running.Store(false)

	// Retried like the daemon's other declarations at start: reading
	// every state creates a consumer, which a cluster still electing its
	// leaders may leave unanswered.
	states, err := natsutil.Retry(ctx, natsutil.DeclareBudget, p.log, "feed states", p.store.All)
	if err != nil {
		return fmt.Errorf("poller: %w", err)
	}
	now := p.now()
	var feeds minHeap[*entry]
	counts := map[string]float64{"ok": 0, "backing_off": 0, "failing": 0}
	for _, e := range p.entries {
		e.state = states[e.key]
		e.next = initialNext(e, now)
		feeds = append(feeds, e)
		counts[e.state.StateName()]++
	}
	heap.Init(&feeds)
	for s, n := range counts {
		p.m.FeedsByState.WithLabelValues(s).Set(n)
	}
	p.log.Info("poller started", "feeds", len(p.entries), "concurrency", p.cfg.Concurrency)

	jobs := make(chan job)
	results := make(chan result, p.cfg.Concurrency)
	var wg sync.WaitGroup
	for range p.cfg.Concurrency {
		wg.Go(func() {
			for j := range jobs {
				var rev *uint64
				st := j.st
				if p.cfg.Members != nil {
					cst, r, next, ok := p.claim(ctx, j.e)
					if !ok {
						results <- result{e: j.e, st: cst, skipped: true, next: next}
						continue
					}
					st, rev = cst, &r
				}
				st, canceled := p.poll(ctx, j.e, st, rev)
				results <- result{e: j.e, st: st, canceled: canceled}
			}
		})
	}
	defer func() {
		close(jobs)
		wg.Wait()
		p.log.Info("poller stopped")
	}()

	var hostsReady minHeap[*hostState]
	hosts := map[string]*hostState{}
	idle := p.cfg.Concurrency
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	start := func(hs *hostState, e *entry, now time.Time) bool {
		hs.active++
		hs.nextStart = now.Add(p.cfg.PerHostSpacing)
		idle--
		if p.onDispatch != nil {
			p.onDispatch(hs.name, now)
		}
		select {
		case jobs <- job{e: e, st: e.state}:
			return true
		case <-ctx.Done():
			return false
		}
	}
	// queueHost puts a host with waiting feeds and a free slot in the
	// host heap.
	queueHost := func(hs *hostState) {
		if !hs.queued && len(hs.waiting) > 0 && hs.active < p.cfg.PerHostConcurrency {
			hs.queued = true
			heap.Push(&hostsReady, hs)
		}
	}

	for {
		now := p.now()
		// Feeds waiting for their host first: they were due earlier.
		for idle > 0 && hostsReady.Len() > 0 && !hostsReady[0].nextStart.After(now) {
			hs := heap.Pop(&hostsReady).(*hostState)
			hs.queued = false
			if hs.active >= p.cfg.PerHostConcurrency || len(hs.waiting) == 0 {
				continue
			}
			e := hs.waiting[0]
			hs.waiting[0] = nil
			hs.waiting = hs.waiting[1:]
			if !start(hs, e, now) {
				return nil
			}
			queueHost(hs)
		}
		for idle > 0 && feeds.Len() > 0 && !feeds[0].next.After(now) {
			e := heap.Pop(&feeds).(*entry)
			if m := p.cfg.Members; m != nil && !m.Owns(e.key) {
				// Another member's: look again a heartbeat later, in
				// case it leaves.
				e.next = now.Add(m.Heartbeat())
				heap.Push(&feeds, e)
				continue
			}
			hs := hosts[e.host]
			if hs == nil {
				hs = &hostState{name: e.host}
				hosts[e.host] = hs
			}
			if len(hs.waiting) > 0 || hs.active >= p.cfg.PerHostConcurrency || now.Before(hs.nextStart) {
				hs.waiting = append(hs.waiting, e)
				queueHost(hs)
				continue
			}
			if !start(hs, e, now) {
				return nil
			}
		}

		var wake <-chan time.Time
		if idle > 0 {
			var at time.Time
			if feeds.Len() > 0 {
				at = feeds[0].next
			}
			if hostsReady.Len() > 0 && (at.IsZero() || hostsReady[0].nextStart.Before(at)) {
				at = hostsReady[0].nextStart
			}
			if !at.IsZero() {
				timer.Reset(max(at.Sub(p.now()), 0))
				wake = timer.C
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case r := <-results:
			idle++
			hs := hosts[r.e.host]
			hs.active--
			if !hs.queued && len(hs.waiting) > 0 {
				queueHost(hs)
			}
			if r.canceled {
				continue
			}
			if r.skipped {
				r.e.state = r.st
				r.e.next = r.next
				heap.Push(&feeds, r.e)
				continue
			}
			if before, after := r.e.state.StateName(), r.st.StateName(); before != after {
				p.m.FeedsByState.WithLabelValues(before).Dec()
				p.m.FeedsByState.WithLabelValues(after).Inc()
			}
			r.e.state = r.st
			r.e.next = r.st.NextPoll
			heap.Push(&feeds, r.e)
		case <-wake:
		}
		timer.Stop()
	}
}

// initialNext is when a feed is first polled after start. A feed never
// polled is due at once; a feed not due yet keeps its NextPoll. A feed that
// became due while nobody polled it (the daemon was down, or the feed was
// just handed to this member at a join) is spread over as long as it has
// been overdue, at most its interval: after a downtime the backlog is
// caught up at about the normal poll rate instead of all at once, and a
// feed overdue by a moment (a hand-over) is polled within a moment, not
// up to a whole interval later.
func initialNext(e *entry, now time.Time) time.Time {
	st := e.state
	switch {
	case st.LastPoll.IsZero() || st.NextPoll.IsZero():
		return now
	case st.NextPoll.After(now):
		return st.NextPoll
	}
	interval := st.Interval
	if interval <= 0 {
		interval, _, _ = e.feed.intervals()
	}
	spread := min(now.Sub(st.NextPoll), interval)
	if spread <= 0 {
		return now
	}
	return now.Add(rand.N(spread))
}

// poll fetches one feed, publishes its new items and saves its state. It
// returns the new state; canceled is true when ctx ended the poll (the
// state is then saved only if something was published).
//
// rev, when set (cluster mode), is the KV revision of the claim: the state
// is saved only over it.
func (p *Poller) poll(ctx context.Context, e *entry, st State, rev *uint64) (_ State, canceled bool) {
	f := e.feed
	start := p.now()
	interval, lo, hi := f.intervals()
	if st.Interval <= 0 {
		st.Interval = interval
	}
	st.Interval = clampDur(st.Interval, lo, hi)
	st.URL = f.URL

	var parsed *parsedFeed
	res, err := p.cfg.Fetcher.Fetch(ctx, f.URL, Validators{ETag: st.ETag, LastModified: st.LastModified})
	if ctx.Err() != nil {
		return st, true
	}
	if err == nil && !res.NotModified {
		p.m.FetchBytes.Add(float64(res.Bytes))
		parsed, err = parseDecoded(res.Body, res.URL, f, start)
	}
	elapsed := p.now().Sub(start).Seconds()
	if err != nil {
		reason := ReasonOf(err)
		p.m.Fetches.WithLabelValues("error", reason).Inc()
		p.m.FetchDuration.WithLabelValues("error").Observe(elapsed)
		st = p.fail(st, f, start, reason, err)
		p.save(ctx, e, st, rev)
		return st, false
	}
	if res.NotModified {
		p.m.Fetches.WithLabelValues("not_modified", "").Inc()
		p.m.FetchDuration.WithLabelValues("not_modified").Observe(elapsed)
		if res.Validators.ETag != "" {
			st.ETag = res.Validators.ETag
		}
		if res.Validators.LastModified != "" {
			st.LastModified = res.Validators.LastModified
		}
		st = p.succeed(st, f, start, 0, nil, 0, res.MaxAge)
		p.save(ctx, e, st, rev)
		return st, false
	}
	p.m.Fetches.WithLabelValues("ok", "").Inc()
	p.m.FetchDuration.WithLabelValues("ok").Observe(elapsed)
	p.m.ItemsParsed.Add(float64(len(parsed.arts)))
	arts := parsed.arts
	if n := p.cfg.MaxItemsPerPoll; len(arts) > n {
		arts = newest(arts, n)
		p.m.ItemsCapped.Add(float64(len(parsed.arts) - n))
		p.log.Warn("feed has more items than one poll takes; the newest are kept",
			"feed", Redact(f.URL), "items", len(parsed.arts), "kept", n)
	}

	subject := natsutil.SubjectIngest + "." + e.key
	seen := make(map[string]bool, len(st.Seen))
	for _, k := range st.Seen {
		seen[k] = true
	}
	var current []string
	var pubTimes []time.Time
	var pubErr error
	published := 0
	for _, a := range arts {
		if !a.Published.IsZero() {
			pubTimes = append(pubTimes, a.Published)
		}
		if seen[a.ID] || pubErr != nil {
			if seen[a.ID] {
				current = append(current, a.ID)
			}
			continue
		}
		err := p.publish(ctx, subject, a)
		switch {
		case err == nil:
		case errors.Is(err, nats.ErrMaxPayload):
			// Even the truncated article does not fit (its title or
			// metadata alone are too large): permanent for this item,
			// skip it for good and say so.
			p.log.Warn("article too large to publish even truncated, skipped", "feed", Redact(f.URL), "id", a.ID, "url", a.URL)
		default:
			pubErr = err
			continue
		}
		seen[a.ID] = true
		current = append(current, a.ID)
		published++
	}
	st.remember(current, len(arts))
	if ctx.Err() != nil {
		// Shutdown mid-publish: record what was acknowledged, keep the
		// old validators so the next start fetches the body again.
		if published > 0 {
			p.save(ctx, e, st, rev)
		}
		return st, true
	}
	if pubErr != nil {
		st = p.fail(st, f, start, ReasonPublish, pubErr)
		p.save(ctx, e, st, rev)
		return st, false
	}
	st.ETag, st.LastModified = res.Validators.ETag, res.Validators.LastModified
	st = p.succeed(st, f, start, published, pubTimes, parsed.ttl, res.MaxAge)
	p.save(ctx, e, st, rev)
	return st, false
}

// publish sends one article to INGEST and waits for the ack. An article
// over the NATS max payload is truncated to fit, with a marker, rather
// than dropped.
func (p *Poller) publish(ctx context.Context, subject string, a *pipeline.Article) error {
	limit := 0
	if nc := p.cfg.JS.Conn(); nc != nil {
		limit = int(nc.MaxPayload())
	}
	if limit <= 0 {
		limit = 1 << 20
	}
	data, cut, err := fitArticle(a, limit-payloadHeadroom)
	if err != nil {
		p.m.ArticlesPublish.WithLabelValues("error").Inc()
		return fmt.Errorf("encode article %s: %w", a.ID, err)
	}
	if cut {
		p.m.ArticlesCut.Inc()
		p.log.Warn("article over the NATS max payload, content truncated", "feed", Redact(a.FeedURL), "id", a.ID,
			"url", a.URL, "content_bytes", len(a.Content), "max_payload", limit)
	}
	ack, err := p.cfg.JS.Publish(ctx, subject, data, jetstream.WithMsgID(a.ID))
	if err != nil {
		p.m.ArticlesPublish.WithLabelValues("error").Inc()
		return fmt.Errorf("publish article %s: %w", a.ID, err)
	}
	if ack.Duplicate {
		p.m.ArticlesPublish.WithLabelValues("duplicate").Inc()
	} else {
		p.m.ArticlesPublish.WithLabelValues("new").Inc()
	}
	return nil
}

// newest returns the n newest of arts (by publication date, undated ones
// after dated ones, feed order among equals), in feed order.
func newest(arts []*pipeline.Article, n int) []*pipeline.Article {
	idx := make([]int, len(arts))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		a, b := arts[i].Published, arts[j].Published
		switch {
		case a.IsZero() != b.IsZero():
			if a.IsZero() {
				return 1
			}
			return -1
		}
		return b.Compare(a)
	})
	idx = idx[:n]
	slices.Sort(idx)
	out := make([]*pipeline.Article, n)
	for k, i := range idx {
		out[k] = arts[i]
	}
	return out
}

// TruncationMarker ends the content of an article cut to fit the NATS max
// payload; its %d are the bytes kept and the original size.
const TruncationMarker = "\n\n[truncated by Wirewatch: %d of %d bytes kept; the item was over the message size limit]"

// fitArticle encodes a, cutting its content (then its title) on a rune
// boundary, with TruncationMarker, until the JSON fits in limit bytes. a
// itself is not changed; cut reports whether the encoding was cut.
func fitArticle(a *pipeline.Article, limit int) (data []byte, cut bool, err error) {
	data, err = json.Marshal(a)
	if err != nil || len(data) <= limit {
		return data, false, err
	}
	c := *a
	base := a.Content // the content kept, without the marker
	for range 12 {
		switch {
		case len(base) > 0:
			// JSON escaping makes a byte of content cost up to six bytes
			// of message: size the cut by the content's encoded length.
			enc, _ := json.Marshal(c.Content)
			budget := limit - (len(data) - len(enc)) - 2*len(TruncationMarker)
			keep := 0
			if budget > 0 {
				keep = int(float64(len(c.Content)) * float64(budget) / float64(len(enc)) * 0.98)
			}
			base = textcut.Bytes(base, min(keep, len(base)-1))
			c.Content = ""
			if base != "" {
				c.Content = base + fmt.Sprintf(TruncationMarker, len(base), len(a.Content))
			}
		case len(c.Title) > 1024:
			c.Title = textcut.Ellipsize(c.Title, 1024)
		default:
			c.Authors, c.Categories = nil, nil
		}
		data, err = json.Marshal(&c)
		if err != nil || len(data) <= limit {
			return data, true, err
		}
	}
	return data, true, nil
}

// succeed records a successful poll and schedules the next one.
func (p *Poller) succeed(st State, f Feed, now time.Time, newItems int, pubTimes []time.Time, ttl, maxAge time.Duration) State {
	if st.Errors > 0 {
		p.log.Info("feed recovered", "feed", Redact(f.URL), "after_errors", st.Errors, "last_reason", st.LastReason)
	}
	_, lo, hi := f.intervals()
	st.Errors = 0
	st.LastPoll, st.LastSuccess = now, now
	st.Interval = adaptInterval(st.Interval, lo, hi, newItems, pubTimes)
	delay := st.Interval
	if floor := min(max(ttl, maxAge), hi); delay < floor {
		delay = floor
	}
	st.NextPoll = now.Add(jitter(delay))
	return st
}

// fail records a failed poll and backs off: interval × 2^(errors-1) with
// jitter, capped at MaxInterval, never giving up; a Retry-After is always
// honoured.
func (p *Poller) fail(st State, f Feed, now time.Time, reason string, err error) State {
	_, _, hi := f.intervals()
	st.Errors++
	st.LastPoll = now
	st.LastReason = reason
	st.LastError = err.Error()
	if len(st.LastError) > maxErrorText {
		st.LastError = st.LastError[:maxErrorText]
	}
	d := backoff(st.Interval, hi, st.Errors)
	var fe *FetchError
	if errors.As(err, &fe) && fe.RetryAfter > d {
		d = fe.RetryAfter
	}
	st.NextPoll = now.Add(d)
	p.m.FeedErrors.WithLabelValues(reason).Inc()
	p.log.Warn("feed poll failed", "feed", Redact(f.URL), "reason", reason, "errors", st.Errors,
		"next_poll", st.NextPoll.Format(time.RFC3339), "err", err)
	return st
}

// save writes the state; a failure is logged and counted, and the poll
// result stands in memory.
func (p *Poller) save(ctx context.Context, e *entry, st State, rev *uint64) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stateSaveTimeout)
	defer cancel()
	if rev != nil {
		st.LeaseUntil = time.Time{}
		n, err := p.store.Update(ctx, e.key, st, *rev)
		if err == nil {
			*rev = n
			return
		}
		p.m.FeedErrors.WithLabelValues(ReasonState).Inc()
		if errors.Is(err, ErrStateChanged) {
			p.log.Warn("feed state taken over during the poll (lease lapsed); the other member's state stands",
				"feed", Redact(e.feed.URL), "reason", ReasonState)
			return
		}
		p.log.Error("save feed state", "feed", Redact(e.feed.URL), "reason", ReasonState, "err", err)
		return
	}
	if err := p.store.Put(ctx, e.key, st); err != nil {
		p.m.FeedErrors.WithLabelValues(ReasonState).Inc()
		p.log.Error("save feed state", "feed", Redact(e.feed.URL), "reason", ReasonState, "err", err)
	}
}

// claim reads the feed's shared state and claims its poll for this
// member with a compare-and-set on the state's revision. It refuses (ok
// false, next = when to look again) when the feed is not due in the shared
// state, when another registered member holds the lease (asked of the
// member bucket, not of this member's cached list), or when the claim loses
// a race or cannot be written.
func (p *Poller) claim(ctx context.Context, e *entry) (st State, rev uint64, next time.Time, ok bool) {
	m := p.cfg.Members
	cctx, cancel := context.WithTimeout(ctx, stateSaveTimeout)
	defer cancel()
	st, rev, err := p.store.GetRev(cctx, e.key)
	now := p.now()
	retry := now.Add(m.Heartbeat())
	if err != nil {
		if ctx.Err() == nil {
			p.log.Warn("read feed state before poll", "feed", Redact(e.feed.URL), "err", err)
		}
		return e.state, 0, retry, false
	}
	if st.Owner != "" && st.Owner != m.ID() && st.LeaseUntil.After(now) && m.Alive(cctx, st.Owner) {
		// Look again soon rather than at LeaseUntil: the holder may
		// finish and hand the feed over at once (a rebalance).
		return st, 0, latest(st.NextPoll, retry), false
	}
	if rev != 0 && !st.LastPoll.IsZero() && st.NextPoll.After(now) {
		return st, 0, st.NextPoll, false
	}
	st.Owner, st.LeaseUntil = m.ID(), now.Add(p.cfg.Lease)
	n, err := p.store.Update(cctx, e.key, st, rev)
	if err != nil {
		if !errors.Is(err, ErrStateChanged) && ctx.Err() == nil {
			p.log.Warn("claim feed poll", "feed", Redact(e.feed.URL), "err", err)
		}
		return st, 0, retry, false
	}
	return st, n, time.Time{}, true
}

// latest is the latest of ts.
func latest(ts ...time.Time) time.Time {
	var out time.Time
	for _, t := range ts {
		if t.After(out) {
			out = t
		}
	}
	return out
}

// backoff is base × 2^(errors-1), less up to 10% (jitter), capped at hi.
func backoff(base, hi time.Duration, errors int) time.Duration {
	d := base
	for i := 1; i < errors && d < hi; i++ {
		d *= 2
	}
	return min(jitter(d), hi)
}

// adaptInterval moves the poll interval toward the feed's cadence: halfway
// to the median gap between its items' publication times when the poll
// found new items (shorter by a quarter when items carry no dates), a
// quarter longer when it found nothing new; within [lo, hi].
func adaptInterval(cur, lo, hi time.Duration, newItems int, pubTimes []time.Time) time.Duration {
	next := cur * 5 / 4
	if newItems > 0 {
		if gap := medianGap(pubTimes); gap > 0 {
			next = (cur + gap) / 2
		} else {
			next = cur * 3 / 4
		}
	}
	return clampDur(next, lo, hi)
}

// medianGap is the median of the gaps between consecutive distinct times.
func medianGap(ts []time.Time) time.Duration {
	if len(ts) < 2 {
		return 0
	}
	ts = slices.Clone(ts)
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	var gaps []time.Duration
	for i := 1; i < len(ts); i++ {
		if g := ts[i].Sub(ts[i-1]); g > 0 {
			gaps = append(gaps, g)
		}
	}
	if len(gaps) == 0 {
		return 0
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// jitter spreads d over its last tenth, so that feeds on one interval do
// not stay in step; never beyond d, so a feed is polled at least once an
// interval and an item waits at most one interval to be seen.
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d - rand.N(d/10+1)
}

// minHeap orders scheduled things by their due time.
type minHeap[T interface{ due() time.Time }] []T

func (h minHeap[T]) Len() int           { return len(h) }
func (h minHeap[T]) Less(i, j int) bool { return h[i].due().Before(h[j].due()) }
func (h minHeap[T]) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *minHeap[T]) Push(x any)        { *h = append(*h, x.(T)) }
func (h *minHeap[T]) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	var zero T
	old[n-1] = zero
	*h = old[:n-1]
	return x
}
