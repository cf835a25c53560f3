// Package sources fetches feeds (RSS, Atom, JSON Feed) over HTTP or from
// local files, parses them into pipeline.Articles, keeps per-feed poll state
// in JetStream KV, and schedules polls that publish new articles to the
// INGEST stream.
//
//   - Fetcher: its own http.Client (timeouts, 16 MiB body cap, conditional
//     GET, Retry-After, 10 redirects) with an SSRF guard in the dialer:
//     loopback, private, link-local, CGNAT, multicast and reserved
//     addresses are refused on every hop unless FetcherConfig.AllowNetworks
//     lists them. No proxy is used, so the guard sees the real address.
//   - Parse: gofeed after charset conversion (BOM, Content-Type, XML
//     declaration; windows-1252 when undeclared and not UTF-8) and removal
//     of characters illegal in XML.
//   - Poller: a min-heap of due times served by a fixed worker pool, with
//     per-host concurrency and spacing; each new item is published to
//     ww.ingest.<feed key> with Nats-Msg-Id = article key, and recorded in
//     the feed's State only after JetStream acknowledged it.
//
// Every failure is a *FetchError whose Reason (see the Reason constants)
// is the metric label.
package sources

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Default poll intervals, used for zero Feed fields.
const (
	DefaultInterval    = 15 * time.Minute
	DefaultMinInterval = time.Minute
	DefaultMaxInterval = 6 * time.Hour
)

// Feed is one configured feed.
type Feed struct {
	URL   string
	Name  string // configured name; "" means the feed's own title
	Group string // OPML category path or configured group

	// Interval is the starting poll interval; the scheduler adapts it
	// within [MinInterval, MaxInterval]. Zero fields take the defaults.
	Interval, MinInterval, MaxInterval time.Duration
}

// Key is the subject-safe key of the feed: the first 16 lowercase hex
// characters of the SHA-256 of its URL. It names the feed in
// ww.ingest.<key> and in the feed-state KV bucket.
func (f Feed) Key() string { return FeedKey(f.URL) }

// FeedKey is Feed{URL: url}.Key().
func FeedKey(url string) string {
	sum := sha256.Sum256([]byte(url))
	return hex.EncodeToString(sum[:8])
}

// intervals returns the feed's intervals with defaults applied and
// min <= interval <= max.
func (f Feed) intervals() (interval, lo, hi time.Duration) {
	interval, lo, hi = f.Interval, f.MinInterval, f.MaxInterval
	if lo <= 0 {
		lo = DefaultMinInterval
	}
	if hi <= 0 {
		hi = DefaultMaxInterval
	}
	if hi < lo {
		hi = lo
	}
	if interval <= 0 {
		interval = DefaultInterval
	}
	return clampDur(interval, lo, hi), lo, hi
}

func clampDur(d, lo, hi time.Duration) time.Duration {
	if d < lo {
		return lo
	}
	if d > hi {
		return hi
	}
	return d
}
