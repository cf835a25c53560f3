package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime/metrics"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/hostile"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	wwmetrics "github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Sizes for the hostile tests: a 4 MiB body cap (the 1.5 MiB big item fits
// under it, the 50 MB item, the 1 GiB bombs and the endless body do not),
// a short fetch timeout for the slow attacks, and only 127.0.0.1/32
// allowed, so 127.0.0.2, 10.x and 169.254.169.254 stay blocked.
const (
	hostileBodyCap = 4 << 20
	hostileTimeout = 2 * time.Second
	// hostileFastTimeout is for the attacks that are not slow: long
	// enough that CPU contention under -race (everything at once on two
	// cores) does not turn a redirect chain into a timeout.
	hostileFastTimeout = 15 * time.Second
	// hostileHeapCap is what the heap may reach while every attack runs
	// at once: far below one bomb (1 GiB) or the huge item (50 MB) × the
	// attacks running together.
	hostileHeapCap = 256 << 20
)

func hostileFetcher(timeout time.Duration) *Fetcher {
	return NewFetcher(FetcherConfig{
		Timeout: timeout, ConnectTimeout: timeout, MaxBodySize: hostileBodyCap,
		AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
	})
}

// heapWatch samples the live heap until stop; peak is the largest sample.
func heapWatch() (stop func() (peak uint64)) {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(s)
			if v := s[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 { close(done); wg.Wait(); return peak.Load() }
}

// TestReasonLabelsMatchHostile keeps the hostile package's labels equal to
// the reason constants (it cannot import them).
func TestReasonLabelsMatchHostile(t *testing.T) {
	for got, want := range map[string]string{
		hostile.TooLarge: ReasonTooLarge, hostile.Timeout: ReasonTimeout, hostile.RedirectLoop: ReasonRedirectLoop,
		hostile.Blocked: ReasonBlocked, hostile.NotAFeed: ReasonNotAFeed, hostile.TLS: ReasonTLS,
	} {
		if got != want {
			t.Errorf("hostile label %q, sources reason %q", got, want)
		}
	}
}

// checkHostileArticles asserts what an attack that must parse yields.
func checkHostileArticles(t *testing.T, name string, arts []*pipeline.Article, fetched time.Time) {
	t.Helper()
	titles := func() []string {
		var out []string
		for _, a := range arts {
			out = append(out, a.Title)
		}
		return out
	}
	want := map[string]int{
		"wrong-content-type": 3, "many-items": 10_000, "big-item": 1, "billion-laughs": 1,
		"invalid-utf8": 2, "mislabelled-charset": 1, "undeclared-latin1": 1, "dates": 4,
		"duplicate-guids": 1, "rotating-guid": 1,
	}
	if n, ok := want[name]; ok && len(arts) != n {
		t.Fatalf("%s: %d articles, want %d: %q", name, len(arts), n, titles())
	}
	for _, a := range arts {
		for _, s := range []string{a.Title, a.Content} {
			if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' }) {
				t.Errorf("%s: invalid UTF-8 or control character left in %q", name, s)
			}
		}
	}
	switch name {
	case "billion-laughs":
		// Not expanded: the entity reference stays short (or is dropped).
		if len(arts[0].Title)+len(arts[0].Content) > 1000 {
			t.Errorf("entities expanded: title %d bytes, content %d bytes", len(arts[0].Title), len(arts[0].Content))
		}
	case "mislabelled-charset":
		if arts[0].Title != "Мирные переговоры" {
			t.Errorf("title %q, want Мирные переговоры", arts[0].Title)
		}
	case "undeclared-latin1":
		if arts[0].Title != "Délégation à Genève" {
			t.Errorf("title %q, want Délégation à Genève", arts[0].Title)
		}
	case "invalid-utf8":
		if !strings.Contains(arts[0].Title, "red") || arts[1].Title != "Café ok" {
			t.Errorf("titles %q", titles())
		}
	case "dates":
		for _, a := range arts {
			switch a.GUID {
			case "d-future":
				if !a.Published.Equal(fetched.UTC()) {
					t.Errorf("future date %v not clamped to the fetch time %v", a.Published, fetched.UTC())
				}
			default:
				if !a.Published.IsZero() {
					t.Errorf("%s: date %v, want none", a.GUID, a.Published)
				}
			}
		}
	case "big-item":
		if len(arts[0].Content) < 1<<20 {
			t.Errorf("big item parsed to %d bytes", len(arts[0].Content))
		}
	}
}

// Every attack through the fetcher and the parser (what the poller and
// `wirewatch inspect` do), all at once: each ends within the timeout plus a
// margin with its reason, or parses to what the project promises, and the
// heap stays far below the sizes the attacks offer.
func TestHostileFetchAndParse(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts: overlap with the other slow tests
	srv := hostile.New(hostile.Options{DripEvery: 200 * time.Millisecond})
	defer srv.Close()
	slow, fast := hostileFetcher(hostileTimeout), hostileFetcher(hostileFastTimeout)
	defer slow.CloseIdleConnections()
	defer fast.CloseIdleConnections()
	stopHeap := heapWatch()

	var wg sync.WaitGroup
	for _, a := range hostile.Attacks() {
		wg.Go(func() {
			f, limit := fast, hostileFastTimeout
			if a.Slow {
				f, limit = slow, hostileTimeout
			}
			u := srv.AttackURL(a)
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			res, err := f.Fetch(ctx, u, Validators{})
			var arts []*pipeline.Article
			if err == nil {
				var p *parsedFeed
				p, err = parseDecoded(res.Body, res.URL, Feed{URL: u}, start)
				if p != nil {
					arts = p.arts
				}
			}
			took := time.Since(start)
			if took > limit+5*time.Second {
				t.Errorf("%s: took %v", a.Name, took)
			}
			if a.Reason != "" {
				if got := ReasonOf(err); got != a.Reason {
					t.Errorf("%s: reason %q, want %q (err: %v)", a.Name, got, a.Reason, err)
				} else if !strings.Contains(err.Error(), u) {
					t.Errorf("%s: error does not name the URL: %v", a.Name, err)
				}
				if a.Name == "html-page" && (err == nil || !strings.Contains(err.Error(), "the page links feed "+srv.FeedURL()+"; use that URL")) {
					t.Errorf("html-page: error does not point at the feed %s: %v", srv.FeedURL(), err)
				}
				return
			}
			if a.Name == "deep-nesting" {
				if err != nil && ReasonOf(err) != ReasonParse {
					t.Errorf("deep-nesting: reason %q (%v)", ReasonOf(err), err)
				}
				return
			}
			if err != nil {
				t.Errorf("%s: %v", a.Name, err)
				return
			}
			checkHostileArticles(t, a.Name, arts, start)
		})
	}
	wg.Wait()
	peak := stopHeap()
	t.Logf("peak live heap with every attack at once: %d MiB", peak>>20)
	if peak > hostileHeapCap {
		t.Errorf("peak heap %d MiB over %d MiB", peak>>20, hostileHeapCap>>20)
	}
	// The redirect to 127.0.0.2 never reached the server there (the guard
	// refuses the dial), and the blocked addresses were never connected.
	if n := srv.Hits("/feed.xml"); n != 0 {
		t.Errorf("a blocked redirect reached /feed.xml %d times", n)
	}
}

// The 50 MB item against the default 16 MiB cap: too_large, read no further
// than the cap.
func TestHostileHugeItemDefaultCap(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts: overlap with the other slow tests
	srv := hostile.New(hostile.Options{})
	defer srv.Close()
	f := NewFetcher(FetcherConfig{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	defer f.CloseIdleConnections()
	_, err := f.Fetch(context.Background(), srv.URL+"/huge-item", Validators{})
	if ReasonOf(err) != ReasonTooLarge {
		t.Fatalf("reason %q, want too_large (%v)", ReasonOf(err), err)
	}
	var fe *FetchError
	if !errors.As(err, &fe) || !strings.Contains(fe.Error(), fmt.Sprint(DefaultMaxBodySize)) {
		t.Errorf("error does not name the cap: %v", err)
	}
}

// An over-size article is truncated with a marker to fit, never dropped.
func TestFitArticle(t *testing.T) {
	a := &pipeline.Article{ID: "x", Title: "T", Content: strings.Repeat("<p>é</p>", 300_000)}
	data, cut, err := fitArticle(a, 1<<20)
	if err != nil || !cut {
		t.Fatalf("cut=%v err=%v", cut, err)
	}
	if len(data) > 1<<20 {
		t.Fatalf("still %d bytes", len(data))
	}
	var back pipeline.Article
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(back.Content, "[truncated by Wirewatch:") || !utf8.ValidString(back.Content) {
		t.Errorf("no marker or broken UTF-8 at the end: %q", back.Content[max(len(back.Content)-120, 0):])
	}
	if len(back.Content) < 256<<10 {
		t.Errorf("kept only %d bytes", len(back.Content))
	}
	if len(a.Content) != 300_000*len("<p>é</p>") {
		t.Error("fitArticle changed its argument")
	}
	if _, cut, _ := fitArticle(&pipeline.Article{ID: "y", Title: "small"}, 1<<20); cut {
		t.Error("a small article was cut")
	}
}

// The poller with real NATS against every attack at once, next to a
// well-behaved feed: the poller keeps running, each failure is counted
// with its reason, the good feed's items arrive, 10k items are capped at
// the newest 1,000, the 1.5 MiB item is published truncated (the test
// server's max payload is 1 MiB), duplicate GUIDs give one article.
func TestHostilePoller(t *testing.T) {
	t.Parallel() // mostly waiting on timeouts: overlap with the other slow tests
	// A 1 MiB max payload, the NATS default (the embedded server's is 8).
	_, _, js := natsutil.StartTestServerWith(t, natsutil.EmbeddedOptions{MaxPayload: 1 << 20})
	res, err := natsutil.EnsureResources(context.Background(), js, natsutil.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	env := &testEnv{js: js, res: res}
	srv := hostile.New(hostile.Options{DripEvery: 200 * time.Millisecond})
	defer srv.Close()
	reg := prometheus.NewRegistry()
	m := wwmetrics.New(reg)
	feeds := []Feed{{URL: srv.FeedURL(), Name: "good", Interval: time.Hour}}
	byURL := map[string]hostile.Attack{}
	for _, a := range hostile.Attacks() {
		u := srv.AttackURL(a)
		byURL[u] = a
		feeds = append(feeds, Feed{URL: u, Interval: time.Hour})
	}
	f := hostileFetcher(8 * time.Second)
	defer f.CloseIdleConnections()
	var logs testkit.SyncBuffer
	stopHeap := heapWatch()
	_, done := runPoller(t, PollerConfig{
		Feeds: feeds, Fetcher: f, KV: env.res.Feeds, JS: env.js, Metrics: m,
		Logger:      slog.New(slog.NewTextHandler(&logs, nil)),
		Concurrency: 8, PerHostConcurrency: 8, PerHostSpacing: time.Millisecond,
	})
	testkit.WaitFor(t, waitTimeout, "every feed polled once", func() (bool, string) {
		for _, fd := range feeds {
			if feedState(t, env.res.Feeds, fd).LastPoll.IsZero() {
				return false, fd.URL + " not polled yet"
			}
		}
		return true, ""
	})
	peak := stopHeap()
	t.Logf("peak live heap, poller against every attack: %d MiB", peak>>20)
	if peak > hostileHeapCap {
		t.Errorf("peak heap %d MiB over %d MiB", peak>>20, hostileHeapCap>>20)
	}
	select {
	case <-done:
		t.Fatal("the poller stopped")
	default:
	}
	for u, a := range byURL {
		st := feedState(t, env.res.Feeds, Feed{URL: u})
		want := a.Reason
		if a.Name == "deep-nesting" && st.LastReason == ReasonParse {
			want = ReasonParse
		}
		if st.LastReason != want {
			t.Errorf("%s: state reason %q, want %q (%s)", a.Name, st.LastReason, want, st.LastError)
		}
		if want != "" && metric(t, reg, "wirewatch_fetches_total", map[string]string{"result": "error", "reason": want}) < 1 {
			t.Errorf("%s: no wirewatch_fetches_total{result=error,reason=%s}", a.Name, want)
		}
	}
	if st := feedState(t, env.res.Feeds, feeds[0]); st.Errors != 0 || len(st.Seen) != 3 {
		t.Errorf("good feed: %d errors, %d items seen", st.Errors, len(st.Seen))
	}

	byFeed := map[string][]*pipeline.Article{}
	for _, msg := range ingest(t, env.js) {
		var a pipeline.Article
		if err := json.Unmarshal(msg.Data, &a); err != nil {
			t.Fatal(err)
		}
		byFeed[a.FeedURL] = append(byFeed[a.FeedURL], &a)
	}
	if n := len(byFeed[srv.FeedURL()]); n != 3 {
		t.Errorf("good feed: %d articles in INGEST, want 3", n)
	}
	many := byFeed[srv.URL+"/many-items"]
	if len(many) != DefaultMaxItemsPerPoll || many[0].Title != "Item 0" || many[len(many)-1].Title != "Item 999" {
		t.Errorf("many-items: %d articles published, want the newest %d", len(many), DefaultMaxItemsPerPoll)
	}
	if v := metric(t, reg, "wirewatch_items_capped_total", nil); v != 9000 {
		t.Errorf("wirewatch_items_capped_total = %v, want 9000", v)
	}
	big := byFeed[srv.URL+"/big-item"]
	if len(big) != 1 || !strings.Contains(big[0].Content, "[truncated by Wirewatch:") {
		t.Errorf("big-item: %d articles, want 1 truncated with a marker", len(big))
	}
	// big-item and deep-nesting (100,000 <div>s: 1.1 MB of content).
	if v := metric(t, reg, "wirewatch_articles_truncated_total", nil); v != 2 {
		t.Errorf("wirewatch_articles_truncated_total = %v, want 2", v)
	}
	if n := len(byFeed[srv.URL+"/duplicate-guids"]); n != 1 {
		t.Errorf("duplicate-guids: %d articles, want 1", n)
	}
	if !strings.Contains(logs.String(), "content truncated") {
		t.Errorf("no log line for the truncation:\n%s", logs.String())
	}
}
