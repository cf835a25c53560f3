package sources

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

const waitTimeout = 20 * time.Second

type testEnv struct {
	js  jetstream.JetStream
	res *natsutil.Resources
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{js: js, res: res}
}

// ingest returns every message in INGEST.
func ingest(t *testing.T, js jetstream.JetStream) []*jetstream.RawStreamMsg {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, natsutil.StreamIngest)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []*jetstream.RawStreamMsg
	for seq := info.State.FirstSeq; seq <= info.State.LastSeq && info.State.Msgs > 0; seq++ {
		m, err := s.GetMsg(ctx, seq)
		if err != nil {
			t.Fatalf("get msg %d: %v", seq, err)
		}
		out = append(out, m)
	}
	return out
}

func ingestCount(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, natsutil.StreamIngest)
	if err != nil {
		return -1
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return int(info.State.Msgs)
}

func feedState(t *testing.T, kv jetstream.KeyValue, f Feed) State {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, _, err := NewStateStore(kv).GetRev(ctx, f.Key())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// currentETag is the ETag the server sends for url now.
func currentETag(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusOK || etag == "" {
		t.Fatalf("GET %s: %s, ETag %q", url, resp.Status, etag)
	}
	return etag
}

// runPoller runs a Poller until the returned stop is called (or the test
// ends) and checks that Run returned nil.
func runPoller(t *testing.T, cfg PollerConfig) (stop func(), done <-chan struct{}) {
	t.Helper()
	return runThisPoller(t, NewPoller(cfg))
}

func runThisPoller(t *testing.T, p *Poller) (stop func(), done <-chan struct{}) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	var runErr error
	go func() {
		defer close(ch)
		runErr = p.Run(ctx)
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case <-ch:
			case <-time.After(waitTimeout):
				t.Fatal("Run did not return after cancel")
			}
			if runErr != nil {
				t.Errorf("Run: %v", runErr)
			}
		})
	}
	t.Cleanup(stop)
	return stop, ch
}

// newFeedServer serves items (see testItems) at path until the test ends.
func newFeedServer(t *testing.T, path string, titles ...string) *feedtest.Server {
	srv := feedtest.New()
	t.Cleanup(srv.Close)
	srv.Add(path, testItems(titles...)...)
	return srv
}

// testItems makes one feed item per title, GUID and link derived from it.
func testItems(titles ...string) []feedtest.Item {
	items := make([]feedtest.Item, len(titles))
	for i, title := range titles {
		items[i] = feedtest.Item{
			GUID: "g-" + title, Title: title, Link: "https://example.com/" + title,
			Published: time.Date(2026, 1, 10, i%24, 0, 0, 0, time.UTC),
		}
	}
	return items
}

// writeFeed answers r with an RSS feed (feedtest.Render) of testItems(titles).
func writeFeed(w http.ResponseWriter, r *http.Request, titles ...string) {
	body, err := feedtest.Render(r.URL.Path, testItems(titles...))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write(body)
}

func fastFeed(url string) Feed {
	return Feed{URL: url, Interval: 100 * time.Millisecond, MinInterval: 50 * time.Millisecond, MaxInterval: 200 * time.Millisecond}
}

// metric reads a metric of reg by name and labels, the way a dashboard
// would (metrics.Sum).
func metric(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) float64 {
	t.Helper()
	v, err := metrics.Sum(reg, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestPollerPublishesOncePerItem(t *testing.T) {
	env := newEnv(t)
	fs := newFeedServer(t, "/feed.xml", "alpha", "beta", "gamma")
	feed := fastFeed(fs.FeedURL("/feed.xml"))
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	cfg := PollerConfig{
		Feeds: []Feed{feed}, Fetcher: testFetcher(FetcherConfig{}), KV: env.res.Feeds, JS: env.js,
		Metrics: m, PerHostSpacing: time.Millisecond,
	}
	stop, _ := runPoller(t, cfg)

	testkit.WaitFor(t, waitTimeout, "3 messages in INGEST", func() (bool, string) { return ingestCount(t, env.js) == 3, "" })
	ids := map[string]bool{}
	for _, msg := range ingest(t, env.js) {
		if want := "ww.ingest." + feed.Key(); msg.Subject != want {
			t.Errorf("subject %q, want %q", msg.Subject, want)
		}
		var a pipeline.Article
		if err := json.Unmarshal(msg.Data, &a); err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get(jetstream.MsgIDHeader) != a.ID || a.ID == "" {
			t.Errorf("Nats-Msg-Id %q, article id %q", msg.Header.Get(jetstream.MsgIDHeader), a.ID)
		}
		if a.Version != pipeline.ArticleVersion || a.FeedKey != feed.Key() || a.Feed != "Test feed /feed.xml" || a.GUID == "" {
			t.Errorf("article %+v", a)
		}
		ids[a.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("%d distinct ids", len(ids))
	}

	// Later polls are answered 304 and publish nothing.
	testkit.WaitFor(t, waitTimeout, "two 304 answers", func() (bool, string) { return fs.NotModified() >= 2, "" })
	if n := ingestCount(t, env.js); n != 3 {
		t.Fatalf("after 304s: %d messages, want 3", n)
	}
	etag := currentETag(t, feed.URL)
	st := feedState(t, env.res.Feeds, feed)
	if st.ETag != etag || len(st.Seen) != 3 || st.Errors != 0 || st.LastSuccess.IsZero() || !st.NextPoll.After(st.LastPoll) {
		t.Errorf("state after polls: %+v", st)
	}

	// A new item: exactly one new message.
	fs.Add("/feed.xml", testItems("delta")...)
	testkit.WaitFor(t, waitTimeout, "4th message", func() (bool, string) { return ingestCount(t, env.js) >= 4, "" })
	base := fs.NotModified()
	testkit.WaitFor(t, waitTimeout, "two more 304s", func() (bool, string) { return fs.NotModified() >= base+2, "" })
	if n := ingestCount(t, env.js); n != 4 {
		t.Fatalf("after new item: %d messages, want 4", n)
	}
	if n := metric(t, reg, "wirewatch_articles_published_total", map[string]string{"result": "new"}); n != 4 {
		t.Errorf("published new = %v, want 4", n)
	}
	fetchesOK := metric(t, reg, "wirewatch_fetches_total", map[string]string{"result": "ok", "reason": ""})
	notModified := metric(t, reg, "wirewatch_fetches_total", map[string]string{"result": "not_modified", "reason": ""})
	if notModified < 4 || fetchesOK != 2 {
		t.Errorf("fetch counters: ok=%v not_modified=%v", fetchesOK, notModified)
	}
	stop()

	// Restart against the same KV, with the server ignoring validators so
	// every poll gets the full feed: nothing is published twice, and not
	// even offered to JetStream (Seen, not the Msg-Id window, stops it).
	fs.SetConditional(false)
	reg2 := prometheus.NewRegistry()
	m2 := metrics.New(reg2)
	cfg.Metrics = m2
	before := fs.Requests()
	runPoller(t, cfg)
	testkit.WaitFor(t, waitTimeout, "3 full fetches after restart", func() (bool, string) {
		n := metric(t, reg2, "wirewatch_fetches_total", map[string]string{"result": "ok", "reason": ""})
		return n >= 3, fmt.Sprintf("%v full fetches", n)
	})
	if n := ingestCount(t, env.js); n != 4 {
		t.Errorf("after restart: %d messages, want 4", n)
	}
	n := metric(t, reg2, "wirewatch_articles_published_total", map[string]string{"result": "new"})
	d := metric(t, reg2, "wirewatch_articles_published_total", map[string]string{"result": "duplicate"})
	if n != 0 || d != 0 {
		t.Errorf("after restart published new=%v duplicate=%v, want 0/0", n, d)
	}
	if fs.Requests() <= before {
		t.Error("restarted poller did not poll")
	}
}

func TestPollerFailuresBackOff(t *testing.T) {
	env := newEnv(t)
	var healthy, tooMany atomic.Int64
	var recovered atomic.Bool
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthy":
			healthy.Add(1)
			writeFeed(w, r, "steady")
		case "/malformed":
			fmt.Fprint(w, `<rss version="2.0"><channel><item><title>a</title></item></channel><item><title>b</tit`)
		case "/500":
			if recovered.Load() {
				writeFeed(w, r, "back")
				return
			}
			http.Error(w, "down", http.StatusInternalServerError)
		case "/hang":
			select {
			case <-r.Context().Done():
			case <-release:
			}
		case "/429":
			tooMany.Add(1)
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	}))
	defer srv.Close()
	defer close(release)

	mk := func(p string) Feed {
		return Feed{URL: srv.URL + p, Interval: 100 * time.Millisecond, MinInterval: 50 * time.Millisecond, MaxInterval: 400 * time.Millisecond}
	}
	ok, malformed, five, hang, limited := mk("/healthy"), mk("/malformed"), mk("/500"), mk("/hang"), mk("/429")
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	var logs testkit.SyncBuffer
	_, done := runPoller(t, PollerConfig{
		Feeds:   []Feed{ok, malformed, five, hang, limited},
		Fetcher: testFetcher(FetcherConfig{Timeout: 300 * time.Millisecond}),
		KV:      env.res.Feeds, JS: env.js, Metrics: m,
		Logger:             slog.New(slog.NewTextHandler(&logs, nil)),
		PerHostConcurrency: 8, PerHostSpacing: time.Millisecond,
	})

	errs := func(f Feed) func() (bool, string) {
		return func() (bool, string) {
			n := feedState(t, env.res.Feeds, f).Errors
			return n >= 2, fmt.Sprintf("%d errors", n)
		}
	}
	testkit.WaitFor(t, waitTimeout, "malformed feed failing twice", errs(malformed))
	testkit.WaitFor(t, waitTimeout, "hanging feed timing out twice", errs(hang))
	testkit.WaitFor(t, waitTimeout, "500 feed failing 5 times", func() (bool, string) { return feedState(t, env.res.Feeds, five).Errors >= failingAfter, "" })
	testkit.WaitFor(t, waitTimeout, "429 feed polled", func() (bool, string) { return feedState(t, env.res.Feeds, limited).Errors >= 1, "" })

	for _, c := range []struct {
		f      Feed
		reason string
	}{{malformed, ReasonParse}, {five, ReasonHTTP5xx}, {hang, ReasonTimeout}, {limited, ReasonHTTP429}} {
		st := feedState(t, env.res.Feeds, c.f)
		if st.LastReason != c.reason {
			t.Errorf("%s: last reason %q, want %q", c.f.URL, st.LastReason, c.reason)
		}
		if n := metric(t, reg, "wirewatch_feed_errors_total", map[string]string{"reason": c.reason}); n < 1 {
			t.Errorf("FeedErrors{%s} = %v", c.reason, n)
		}
		if n := metric(t, reg, "wirewatch_fetches_total", map[string]string{"result": "error", "reason": c.reason}); n < 1 {
			t.Errorf("Fetches{error,%s} = %v", c.reason, n)
		}
		gap := st.NextPoll.Sub(st.LastPoll)
		if c.reason == ReasonHTTP429 {
			if gap < 30*time.Second {
				t.Errorf("429: next poll %v after the last, want >= Retry-After 30s", gap)
			}
			continue
		}
		want := min(100*time.Millisecond<<(st.Errors-1), 400*time.Millisecond)
		if gap < want*9/10 || gap > 400*time.Millisecond {
			t.Errorf("%s: %d errors, next poll %v after the last, want about %v", c.reason, st.Errors, gap, want)
		}
	}
	if n := metric(t, reg, "wirewatch_feeds", map[string]string{"state": "failing"}); n < 1 {
		t.Errorf("FeedsByState{failing} = %v", n)
	}
	if s := logs.String(); !strings.Contains(s, "feed poll failed") || !strings.Contains(s, "reason=http_5xx") || !strings.Contains(s, srv.URL+"/500") {
		t.Errorf("failure not logged with feed and reason:\n%s", s)
	}

	// The healthy feed goes on being polled; the 429 feed is not retried
	// before its Retry-After.
	h := healthy.Load()
	testkit.WaitFor(t, waitTimeout, "healthy feed polled 5 more times", func() (bool, string) { return healthy.Load() >= h+5, "" })
	if n := tooMany.Load(); n != 1 {
		t.Errorf("429 feed requested %d times within its Retry-After", n)
	}
	if st := feedState(t, env.res.Feeds, ok); st.Errors != 0 || st.LastSuccess.IsZero() {
		t.Errorf("healthy feed state: %+v", st)
	}

	// The 500 feed recovers: errors reset, gauge and log follow.
	recovered.Store(true)
	testkit.WaitFor(t, waitTimeout, "500 feed recovered", func() (bool, string) { return feedState(t, env.res.Feeds, five).Errors == 0, "" })
	// ok: the healthy and the recovered feed; the other three keep failing.
	testkit.WaitFor(t, waitTimeout, "2 feeds ok", func() (bool, string) {
		return metric(t, reg, "wirewatch_feeds", map[string]string{"state": "ok"}) == 2, ""
	})
	if !strings.Contains(logs.String(), "feed recovered") {
		t.Error("recovery not logged")
	}
	select {
	case <-done:
		t.Fatal("Run returned while feeds were failing")
	default:
	}
}

func TestPollerPublishFailureRetries(t *testing.T) {
	// KV exists but INGEST does not: publishes fail, nothing is recorded
	// as seen and the validators are not kept, so once the stream exists
	// every item is published.
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: natsutil.BucketFeeds})
	if err != nil {
		t.Fatal(err)
	}
	fs := newFeedServer(t, "/f", "one", "two")
	feed := fastFeed(fs.FeedURL("/f"))
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	runPoller(t, PollerConfig{Feeds: []Feed{feed}, Fetcher: testFetcher(FetcherConfig{}), KV: kv, JS: js, Metrics: m, PerHostSpacing: time.Millisecond})

	testkit.WaitFor(t, waitTimeout, "a failed publish", func() (bool, string) { return feedState(t, kv, feed).Errors >= 1, "" })
	st := feedState(t, kv, feed)
	if st.LastReason != ReasonPublish || len(st.Seen) != 0 || st.ETag != "" {
		t.Errorf("state after failed publish: %+v", st)
	}
	if metric(t, reg, "wirewatch_articles_published_total", map[string]string{"result": "error"}) < 1 ||
		metric(t, reg, "wirewatch_feed_errors_total", map[string]string{"reason": ReasonPublish}) < 1 {
		t.Error("publish error not counted")
	}
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, waitTimeout, "both items published", func() (bool, string) { return ingestCount(t, js) == 2, "" })
	testkit.WaitFor(t, waitTimeout, "state recovered", func() (bool, string) {
		st := feedState(t, kv, feed)
		return st.Errors == 0 && len(st.Seen) == 2 && st.ETag != "", fmt.Sprintf("%+v", st)
	})
}

func TestPollerPerHostLimits(t *testing.T) {
	env := newEnv(t)
	var inflight, maxInflight, served atomic.Int64
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			m := maxInflight.Load()
			if n <= m || maxInflight.CompareAndSwap(m, n) {
				break
			}
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
		inflight.Add(-1)
		served.Add(1)
		writeFeed(w, r, "x"+r.URL.Path[1:])
	}))
	defer srv.Close()
	var feeds []Feed
	for i := range 6 {
		f := fastFeed(fmt.Sprintf("%s/%d", srv.URL, i))
		f.Interval, f.MinInterval, f.MaxInterval = time.Hour, time.Hour, time.Hour
		feeds = append(feeds, f)
	}
	runPoller(t, PollerConfig{
		Feeds: feeds, Fetcher: testFetcher(FetcherConfig{}), KV: env.res.Feeds, JS: env.js,
		Concurrency: 8, PerHostConcurrency: 2, PerHostSpacing: time.Millisecond,
	})
	for i := range 6 {
		want := min(int64(2), int64(6-i))
		testkit.WaitFor(t, waitTimeout, fmt.Sprintf("%d requests in flight", want), func() (bool, string) { return inflight.Load() == want, "" })
		release <- struct{}{}
		testkit.WaitFor(t, waitTimeout, "one served", func() (bool, string) { return served.Load() == int64(i+1), "" })
	}
	if m := maxInflight.Load(); m != 2 {
		t.Errorf("max in flight on one host = %d, want 2", m)
	}
	testkit.WaitFor(t, waitTimeout, "6 messages", func() (bool, string) { return ingestCount(t, env.js) == 6, "" })
}

func TestPollerPerHostSpacing(t *testing.T) {
	env := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeFeed(w, r, "y"+r.URL.Path[1:])
	}))
	defer srv.Close()
	other := newFeedServer(t, "/", "z") // same address, another host name
	var feeds []Feed
	for i := range 4 {
		feeds = append(feeds, Feed{URL: fmt.Sprintf("%s/%d", srv.URL, i), Interval: time.Hour})
	}
	feeds = append(feeds, Feed{URL: strings.Replace(other.URL, "127.0.0.1", "localhost", 1), Interval: time.Hour})
	const spacing = 100 * time.Millisecond
	p := NewPoller(PollerConfig{
		Feeds: feeds, Fetcher: testFetcher(FetcherConfig{}), KV: env.res.Feeds, JS: env.js,
		PerHostConcurrency: 4, PerHostSpacing: spacing,
	})
	var mu sync.Mutex
	starts := map[string][]time.Time{}
	p.onDispatch = func(host string, at time.Time) {
		mu.Lock()
		defer mu.Unlock()
		starts[host] = append(starts[host], at)
	}
	runThisPoller(t, p)
	testkit.WaitFor(t, waitTimeout, "5 messages", func() (bool, string) { return ingestCount(t, env.js) == 5, "" })
	mu.Lock()
	defer mu.Unlock()
	if len(starts["127.0.0.1"]) != 4 || len(starts["localhost"]) != 1 {
		t.Fatalf("starts by host: %v", starts)
	}
	s := starts["127.0.0.1"]
	for i := 1; i < len(s); i++ {
		if gap := s[i].Sub(s[i-1]); gap < spacing {
			t.Errorf("polls %d and %d of one host started %v apart, want >= %v", i-1, i, gap, spacing)
		}
	}
	if s[len(s)-1].Before(starts["localhost"][0]) {
		t.Error("another host waited behind the spaced one")
	}
}

func TestPollerManyFeeds(t *testing.T) {
	env := newEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path[1:]
		writeFeed(w, r, p+"-a", p+"-b")
	}))
	defer srv.Close()
	const n = 300
	var feeds []Feed
	for i := range n {
		feeds = append(feeds, Feed{URL: fmt.Sprintf("%s/%d", srv.URL, i), Interval: time.Hour})
	}
	g0 := runtime.NumGoroutine()
	runPoller(t, PollerConfig{
		Feeds: feeds, Fetcher: testFetcher(FetcherConfig{}), KV: env.res.Feeds, JS: env.js,
		Concurrency: 8, PerHostConcurrency: 8, PerHostSpacing: time.Microsecond,
	})
	var peak int
	testkit.WaitFor(t, waitTimeout, fmt.Sprintf("%d messages", 2*n), func() (bool, string) {
		peak = max(peak, runtime.NumGoroutine())
		got := ingestCount(t, env.js)
		return got == 2*n, fmt.Sprintf("%d messages", got)
	})
	if peak-g0 > 100 {
		t.Errorf("goroutines grew by %d for %d feeds: not a bounded pool", peak-g0, n)
	}
}

func TestInitialNext(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	f := Feed{URL: "u", Interval: 10 * time.Minute}
	if got := initialNext(&entry{feed: f}, now); !got.Equal(now) {
		t.Errorf("never polled: %v", got)
	}
	future := now.Add(3 * time.Minute)
	if got := initialNext(&entry{feed: f, state: State{LastPoll: now.Add(-time.Minute), NextPoll: future}}, now); !got.Equal(future) {
		t.Errorf("future NextPoll not honoured: %v", got)
	}
	// Overdue by 30 minutes, interval 20: spread over the interval.
	distinct := map[time.Time]bool{}
	for range 50 {
		e := &entry{feed: f, state: State{LastPoll: now.Add(-time.Hour), NextPoll: now.Add(-30 * time.Minute), Interval: 20 * time.Minute}}
		got := initialNext(e, now)
		if got.Before(now) || !got.Before(now.Add(20*time.Minute)) {
			t.Fatalf("overdue feed scheduled at %v, want within its 20m interval", got)
		}
		distinct[got] = true
	}
	if len(distinct) < 40 {
		t.Errorf("overdue feeds not spread: %d distinct times of 50", len(distinct))
	}
	// Overdue by 2 seconds (handed over at a join): within 2 seconds, not
	// up to an interval later.
	late := time.Duration(0)
	for range 50 {
		e := &entry{feed: f, state: State{LastPoll: now.Add(-20 * time.Minute), NextPoll: now.Add(-2 * time.Second), Interval: 20 * time.Minute}}
		late = max(late, initialNext(e, now).Sub(now))
	}
	if late >= 2*time.Second {
		t.Errorf("feed overdue by 2s scheduled %v later, want < 2s", late)
	}
	// Due exactly now: now.
	if got := initialNext(&entry{feed: f, state: State{LastPoll: now.Add(-time.Minute), NextPoll: now}}, now); !got.Equal(now) {
		t.Errorf("feed due now scheduled at %v", got)
	}
}

// The jitter spreads polls over the last tenth of their interval and
// never past it, so an item waits at most one interval.
func TestJitter(t *testing.T) {
	d := 5 * time.Minute
	lo, hi := d, time.Duration(0)
	for range 10_000 {
		j := jitter(d)
		lo, hi = min(lo, j), max(hi, j)
	}
	if lo < d*9/10 || hi > d || hi-lo < d/20 {
		t.Errorf("jitter(%v) over 10,000 draws: %v to %v; want spread within %v to %v", d, lo, hi, d*9/10, d)
	}
}

func TestBackoffAndAdapt(t *testing.T) {
	base, hi := time.Minute, 6*time.Hour
	for errs, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute, 9: 256 * time.Minute, 10: hi, 100: hi} {
		got := backoff(base, hi, errs)
		if got > hi || got < want*9/10 || got > want {
			t.Errorf("backoff after %d errors = %v, want about %v", errs, got, want)
		}
	}
	lo := time.Minute
	if got := adaptInterval(10*time.Minute, lo, hi, 0, nil); got != 12*time.Minute+30*time.Second {
		t.Errorf("nothing new: %v", got)
	}
	if got := adaptInterval(5*time.Hour+time.Minute, lo, hi, 0, nil); got != hi {
		t.Errorf("capped: %v", got)
	}
	t0 := time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC)
	times := []time.Time{t0, t0.Add(2 * time.Minute), t0.Add(4 * time.Minute), t0.Add(6 * time.Minute), t0.Add(60 * time.Minute)}
	if got := medianGap(times); got != 2*time.Minute {
		t.Errorf("median gap %v", got)
	}
	if got := adaptInterval(10*time.Minute, lo, hi, 2, times); got != 6*time.Minute {
		t.Errorf("busy feed: %v, want halfway to the 2m cadence", got)
	}
	if got := adaptInterval(10*time.Minute, lo, hi, 1, nil); got != 7*time.Minute+30*time.Second {
		t.Errorf("new items without dates: %v", got)
	}
	if got := adaptInterval(lo, lo, hi, 3, []time.Time{t0, t0.Add(time.Second)}); got != lo {
		t.Errorf("floor: %v", got)
	}
}
