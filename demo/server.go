package demo

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Options configures a FeedServer. The zero value is usable.
type Options struct {
	// Every is the release interval: one more item becomes visible every
	// Every (default 3s).
	Every time.Duration
	// Initial is how many items are visible at start (default 6; negative
	// means none). They are dated as if released Every apart before start.
	Initial int
	// PerFeed is how many of its newest items a feed lists (default 20).
	PerFeed int
	// Now is the clock (default time.Now). Release times are computed from
	// it on every request, so a test advancing a fake clock controls the
	// stream without sleeping.
	Now func() time.Time
	// Logger receives one debug line per request (default: discard).
	Logger *slog.Logger
}

// FeedServer serves the demo feeds over HTTP and releases the sample items
// one at a time.
//
// Items are released in the fixed order of feeds/items.yaml, which
// interleaves the outlets; item k (0-based) is released at
// start + (k-Initial+1)*Every, where start is Now() when the server was
// made, and its publication date is that release time. When every item
// has been released the sequence starts again with fresh identities: in
// round r > 1 every GUID and link gets the suffix "#r<r>", so fetchers see
// new items (and a dedup stage can recognise the repeated text). The stream
// therefore never ends.
//
// Routes (GET and HEAD): /feeds/<slug>.xml or .json (one per feed, see
// Feeds), /opml (OPML 2.0 list of every feed, grouped by category) and /
// (a small HTML index). Feed and OPML answers carry an ETag (a hash of the
// body) and Last-Modified (the newest item's release) and honour
// If-None-Match and If-Modified-Since with 304 Not Modified.
//
// A FeedServer holds no mutable state; it is safe for concurrent use.
type FeedServer struct {
	cat     *catalog
	bySlug  map[string]*feed
	every   time.Duration
	initial int
	perFeed int
	now     func() time.Time
	log     *slog.Logger
	start   time.Time
	index   *template.Template
}

// FeedInfo describes one demo feed as served at a base URL.
type FeedInfo struct {
	Name     string // the outlet's name, e.g. "Wire Service Europe"
	Slug     string // e.g. "wire-service-europe"
	URL      string // where the feed is served: <base>/feeds/<slug>.xml|.json
	HomeURL  string // the outlet's (fictional, never fetched) home page
	Format   Format
	Category string // the OPML category, e.g. "Wires"
}

// Status is where the release schedule stands.
type Status struct {
	Released int       // items released so far, over all rounds
	Total    int       // items in one round
	Round    int       // round of the newest released item (1 = first pass)
	Next     time.Time // when the next item is released
}

// NewFeedServer loads the embedded sample content and returns a server whose
// schedule starts now (opts.Now()).
func NewFeedServer(opts Options) (*FeedServer, error) {
	if opts.Every < 0 {
		return nil, fmt.Errorf("demo: negative release interval %v", opts.Every)
	}
	if opts.PerFeed < 0 {
		return nil, fmt.Errorf("demo: negative items per feed %d", opts.PerFeed)
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	idx, err := template.New("index").Parse(indexHTML)
	if err != nil {
		return nil, fmt.Errorf("demo: index template: %w", err)
	}
	s := &FeedServer{
		cat:     cat,
		bySlug:  map[string]*feed{},
		every:   opts.Every,
		initial: opts.Initial,
		perFeed: opts.PerFeed,
		now:     opts.Now,
		log:     opts.Logger,
		index:   idx,
	}
	if s.every == 0 {
		s.every = 3 * time.Second
	}
	switch {
	case s.initial == 0:
		s.initial = 6
	case s.initial < 0:
		s.initial = 0
	}
	if s.perFeed == 0 {
		s.perFeed = 20
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for _, f := range cat.feeds {
		s.bySlug[f.Slug] = f
	}
	// Whole seconds, so release times match Last-Modified exactly.
	s.start = s.now().Truncate(time.Second)
	return s, nil
}

// Feeds lists the demo feeds as served under baseURL (e.g. the
// httptest.Server URL or "http://127.0.0.1:41234"), in a stable order.
func (s *FeedServer) Feeds(baseURL string) []FeedInfo {
	baseURL = strings.TrimRight(baseURL, "/")
	out := make([]FeedInfo, 0, len(s.cat.feeds))
	for _, f := range s.cat.feeds {
		out = append(out, FeedInfo{
			Name:     f.Title,
			Slug:     f.Slug,
			URL:      baseURL + feedPath(f),
			HomeURL:  f.home(),
			Format:   f.Format,
			Category: f.Category,
		})
	}
	return out
}

// OPML returns the OPML 2.0 document listing every feed served under
// baseURL, one folder outline per category (what /opml serves).
func (s *FeedServer) OPML(baseURL string) ([]byte, error) {
	return renderOPML(s.Feeds(baseURL))
}

// Status reports the release schedule at the current time.
func (s *FeedServer) Status() Status { return s.statusAt(s.now()) }

func (s *FeedServer) statusAt(now time.Time) Status {
	n := s.released(now)
	st := Status{Released: n, Total: len(s.cat.items), Round: 1, Next: s.releaseTime(n)}
	if n > 0 {
		st.Round = (n-1)/len(s.cat.items) + 1
	}
	return st
}

func feedPath(f *feed) string { return "/feeds/" + f.Slug + f.Format.ext() }

// released is how many items are visible at t.
func (s *FeedServer) released(t time.Time) int {
	d := t.Sub(s.start)
	steps := int64(d / s.every)
	if d < 0 && d%s.every != 0 {
		steps-- // floor, not truncation, before start
	}
	n := int64(s.initial) + steps
	if n < 0 {
		return 0
	}
	return int(n)
}

// releaseTime is when item k (0-based, over all rounds) becomes visible.
func (s *FeedServer) releaseTime(k int) time.Time {
	return s.start.Add(time.Duration(k-s.initial+1) * s.every)
}

// entries returns the newest released items of feed f (at most limit),
// newest first, given n items released.
func (s *FeedServer) entries(f *feed, n, limit int) []entry {
	total := len(s.cat.items)
	if s.cat.count[f] == 0 {
		return nil
	}
	var out []entry
	// f publishes at least once per total items, so this scans at most
	// total*limit items however long the server has been running.
	for k := n - 1; k >= 0 && len(out) < limit; k-- {
		i := k % total
		if s.cat.feedOf[i] != f {
			continue
		}
		round := k/total + 1
		it := &s.cat.items[i]
		out = append(out, entry{
			item:      it,
			guid:      guid(f, it.Link, s.cat.slugOf[i], round),
			link:      it.Link + roundSuffix(round),
			published: s.releaseTime(k),
		})
	}
	return out
}

// renderFeed renders feed f as visible with n items released, and its
// modification time.
func (s *FeedServer) renderFeed(f *feed, baseURL string, n int) ([]byte, time.Time, error) {
	es := s.entries(f, n, s.perFeed)
	updated := s.start
	if len(es) > 0 {
		updated = es[0].published
	}
	body, err := render(f, baseURL+feedPath(f), es, updated)
	return body, updated, err
}

// ServeHTTP implements http.Handler.
func (s *FeedServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	now := s.now()
	n := s.released(now)
	base := baseURL(r)
	switch p := r.URL.Path; {
	case p == "/":
		s.serveIndex(w, base, now)
	case p == "/opml" || p == "/opml.xml":
		body, err := s.OPML(base)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.serveDoc(w, r, "text/x-opml; charset=utf-8", body, s.start)
	case strings.HasPrefix(p, "/feeds/"):
		name := strings.TrimPrefix(p, "/feeds/")
		f := s.bySlug[strings.TrimSuffix(strings.TrimSuffix(name, ".xml"), ".json")]
		if f == nil || name != f.Slug+f.Format.ext() {
			http.NotFound(w, r)
			return
		}
		body, mod, err := s.renderFeed(f, base, n)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.log.Debug("demo feed served", "feed", f.Slug, "released", n,
			"if_none_match", r.Header.Get("If-None-Match"))
		s.serveDoc(w, r, f.Format.contentType(), body, mod)
	default:
		http.NotFound(w, r)
	}
}

// serveDoc answers with body, its ETag and Last-Modified; http.ServeContent
// handles If-None-Match / If-Modified-Since (304), HEAD and ranges.
func (s *FeedServer) serveDoc(w http.ResponseWriter, r *http.Request, ctype string, body []byte, mod time.Time) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:10])+`"`)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", mod, bytes.NewReader(body))
}

func (s *FeedServer) fail(w http.ResponseWriter, r *http.Request, err error) {
	s.log.Error("demo feed server", "path", r.URL.Path, "err", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// baseURL is the scheme and host the request was addressed to.
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

const indexHTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Wirewatch demo feeds</title></head>
<body>
<h1>Wirewatch demo feeds</h1>
<p>Fictional sample news for <code>wirewatch demo</code>. {{.Released}} items released
(round {{.Round}} of a {{.Total}}-item cycle); the next one at {{.Next}}.</p>
<ul>
{{range .Feeds}}<li><a href="{{.URL}}">{{.Name}}</a> ({{.Format}}, {{.Category}})</li>
{{end}}</ul>
<p><a href="{{.OPML}}">OPML list of all feeds</a></p>
</body></html>
`

func (s *FeedServer) serveIndex(w http.ResponseWriter, base string, now time.Time) {
	st := s.statusAt(now)
	data := struct {
		Status
		Next  string
		Feeds []FeedInfo
		OPML  string
	}{st, st.Next.UTC().Format(time.RFC3339), s.Feeds(base), base + "/opml"}
	var buf bytes.Buffer
	if err := s.index.Execute(&buf, data); err != nil {
		s.log.Error("demo index", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}
