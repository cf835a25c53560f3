package daemon_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/sources"
)

// A malformed feed, a 500, a server that never answers and a 429 with
// Retry-After: the daemon keeps running, each is counted with its reason,
// the 429 is not retried before its Retry-After, and a healthy feed on the
// same daemon goes on delivering.
func TestBadFeedsDoNotStopTheDaemon(t *testing.T) {
	good := feedtest.New()
	defer good.Close()
	good.Add("/good.rss", items()[:2]...)

	hang := make(chan struct{})
	var hits429 = make(chan struct{}, 100)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/malformed.rss":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Broken<item><title>x</ti`)
		case "/500.rss":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/hang.rss":
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		case "/429.rss":
			hits429 <- struct{}{}
			w.Header().Set("Retry-After", "3600")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		}
	}))
	defer bad.Close()
	defer close(hang)

	cfg := testConfig(t.TempDir(), good.FeedURL("/good.rss"),
		bad.URL+"/malformed.rss", bad.URL+"/500.rss", bad.URL+"/hang.rss", bad.URL+"/429.rss")
	cfg.Fetch.Timeout = 500 * time.Millisecond
	d := start(t, cfg)

	for _, reason := range []string{sources.ReasonParse, sources.ReasonHTTP5xx, sources.ReasonTimeout, sources.ReasonHTTP429} {
		testkit.WaitFor(t, 20*time.Second, "a fetch error with reason "+reason, func() (bool, string) {
			n := counter(t, d.reg, "wirewatch_fetches_total", map[string]string{"result": "error", "reason": reason})
			return n >= 1, fmt.Sprintf("%v", n)
		})
	}
	testkit.WaitFor(t, 20*time.Second, "the 500 feed retried (backing off, never given up)", func() (bool, string) {
		n := counter(t, d.reg, "wirewatch_fetches_total", map[string]string{"result": "error", "reason": sources.ReasonHTTP5xx})
		return n >= 2, fmt.Sprintf("%v", n)
	})
	// The healthy feed goes on: a new item arrives and is archived.
	good.Add("/good.rss", items()[3])
	testkit.WaitFor(t, 20*time.Second, "the healthy feed's 3 items archived", func() (bool, string) {
		n := streamMsgs(t, d.js, natsutil.StreamArticles)
		return n == 3, fmt.Sprintf("%d", n)
	})
	if n := len(hits429); n != 1 {
		t.Errorf("the 429 feed was fetched %d times, want 1 (Retry-After: 3600)", n)
	}
	if n := counter(t, d.reg, "wirewatch_feeds", map[string]string{"state": "ok"}); n != 1 {
		t.Errorf("feeds in state ok = %v, want 1", n)
	}
	if n := counter(t, d.reg, "wirewatch_feeds", map[string]string{"state": "backing_off"}) +
		counter(t, d.reg, "wirewatch_feeds", map[string]string{"state": "failing"}); n != 4 {
		t.Errorf("feeds backing off or failing = %v, want 4", n)
	}
	if _, err := d.js.AccountInfo(context.Background()); err != nil {
		t.Errorf("daemon's NATS not answering: %v", err)
	}
}
