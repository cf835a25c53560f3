package demo

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mmcdole/gofeed"
)

// fakeClock is a clock the test advances by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, time.January, 12, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func startServer(t *testing.T, opts Options) (*FeedServer, *httptest.Server) {
	t.Helper()
	fs, err := NewFeedServer(opts)
	if err != nil {
		t.Fatalf("NewFeedServer: %v", err)
	}
	ts := httptest.NewServer(fs)
	t.Cleanup(ts.Close)
	return fs, ts
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(t *testing.T, url string, hdr ...string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", url, err)
	}
	return response{resp.StatusCode, resp.Header, body}
}

func parseFeed(t *testing.T, name string, body []byte) *gofeed.Feed {
	t.Helper()
	f, err := gofeed.NewParser().ParseString(string(body))
	if err != nil {
		t.Fatalf("%s: gofeed: %v\n%s", name, err, body)
	}
	return f
}

// visibleCount fetches every feed and counts the items listed.
func visibleCount(t *testing.T, fs *FeedServer, ts *httptest.Server) int {
	t.Helper()
	n := 0
	for _, fi := range fs.Feeds(ts.URL) {
		r := get(t, fi.URL)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", fi.URL, r.status)
		}
		n += len(parseFeed(t, fi.Slug, r.body).Items)
	}
	return n
}

// TestFeedsParse checks that every feed parses with gofeed and lists exactly
// the released items, newest first, with the right title, link, GUID,
// author, categories, content and date.
func TestFeedsParse(t *testing.T) {
	items, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	start := clock.Now()
	const every = 5 * time.Second
	fs, ts := startServer(t, Options{Every: every, Initial: len(items), PerFeed: len(items), Now: clock.Now})

	wantType := map[Format]string{
		FormatRSS:  "application/rss+xml",
		FormatAtom: "application/atom+xml",
		FormatJSON: "application/feed+json",
		FormatRDF:  "application/rdf+xml",
	}
	gotFormats := map[Format]bool{}
	seenGUID := map[string]bool{}
	total := 0
	for _, fi := range fs.Feeds(ts.URL) {
		gotFormats[fi.Format] = true
		r := get(t, fi.URL)
		if r.status != http.StatusOK {
			t.Fatalf("%s: status %d", fi.URL, r.status)
		}
		if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, wantType[fi.Format]) {
			t.Errorf("%s: Content-Type %q, want %s", fi.Slug, ct, wantType[fi.Format])
		}
		if r.header.Get("ETag") == "" || r.header.Get("Last-Modified") == "" {
			t.Errorf("%s: missing ETag or Last-Modified: %v", fi.Slug, r.header)
		}
		feed := parseFeed(t, fi.Slug, r.body)
		if feed.Title != fi.Name {
			t.Errorf("%s: feed title %q, want %q", fi.Slug, feed.Title, fi.Name)
		}
		if feed.Language != "en" {
			t.Errorf("%s: language %q", fi.Slug, feed.Language)
		}

		// Expected: this feed's items, newest first; item k released at
		// start + (k-len(items)+1)*every.
		var want []int
		for k := len(items) - 1; k >= 0; k-- {
			if items[k].Feed == fi.Slug {
				want = append(want, k)
			}
		}
		if len(feed.Items) != len(want) {
			t.Fatalf("%s: %d items, want %d", fi.Slug, len(feed.Items), len(want))
		}
		for j, k := range want {
			got, it := feed.Items[j], items[k]
			total++
			if got.Title != it.Title {
				t.Errorf("%s[%d]: title %q, want %q", fi.Slug, j, got.Title, it.Title)
			}
			wantLink := it.Link
			if fi.Slug == "capital-hill-herald" {
				wantLink += "?utm_source=rss&utm_medium=feed"
			}
			if got.Link != wantLink {
				t.Errorf("%s[%d]: link %q, want %q", fi.Slug, j, got.Link, wantLink)
			}
			gotGUID := got.GUID
			if fi.Format == FormatRDF { // RSS 1.0 has no guid: rdf:about and dc:identifier
				if got.DublinCoreExt == nil || len(got.DublinCoreExt.Identifier) != 1 {
					t.Fatalf("%s[%d]: no dc:identifier", fi.Slug, j)
				}
				gotGUID = got.DublinCoreExt.Identifier[0]
			}
			if gotGUID != it.GUID || gotGUID == "" {
				t.Errorf("%s[%d]: GUID %q, want %q", fi.Slug, j, gotGUID, it.GUID)
			}
			if seenGUID[gotGUID] {
				t.Errorf("%s[%d]: GUID %q not unique", fi.Slug, j, gotGUID)
			}
			seenGUID[gotGUID] = true
			wantDate := start.Add(time.Duration(k-len(items)+1) * every)
			if got.PublishedParsed == nil || !got.PublishedParsed.Equal(wantDate) {
				t.Errorf("%s[%d]: published %v, want %v", fi.Slug, j, got.PublishedParsed, wantDate)
			}
			if len(got.Authors) == 0 || got.Authors[0].Name != it.Author {
				t.Errorf("%s[%d]: authors %+v, want %q", fi.Slug, j, got.Authors, it.Author)
			}
			if !slices.Equal(got.Categories, it.Categories) {
				t.Errorf("%s[%d]: categories %q, want %q", fi.Slug, j, got.Categories, it.Categories)
			}
			body := got.Content
			if body == "" {
				body = got.Description
			}
			if !strings.HasPrefix(body, "<p>") || !strings.Contains(body, htmlEscape(it.Paragraphs[len(it.Paragraphs)-1])) {
				t.Errorf("%s[%d]: body is not the item's HTML: %.200q", fi.Slug, j, body)
			}
		}
	}
	if total != len(items) {
		t.Errorf("feeds list %d items, catalog has %d", total, len(items))
	}
	for _, f := range []Format{FormatRSS, FormatAtom, FormatJSON, FormatRDF} {
		if !gotFormats[f] {
			t.Errorf("no feed in format %s", f)
		}
	}
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// TestHeraldFormat checks the RSS dialect with content:encoded and tracking
// links: the description is the plain summary, the full body is in the
// content, and links carry the utm parameters.
func TestHeraldFormat(t *testing.T) {
	fs, ts := startServer(t, Options{Initial: 60, Now: newFakeClock().Now})
	var url string
	for _, fi := range fs.Feeds(ts.URL) {
		if fi.Slug == "capital-hill-herald" {
			url = fi.URL
		}
	}
	r := get(t, url)
	if !strings.Contains(string(r.body), "<content:encoded><![CDATA[<p>") {
		t.Errorf("no content:encoded CDATA in the Herald feed")
	}
	feed := parseFeed(t, "herald", r.body)
	for _, it := range feed.Items {
		if strings.Contains(it.Description, "<") {
			t.Errorf("%q: description should be plain text: %q", it.Title, it.Description)
		}
		if !strings.Contains(it.Content, "?utm_source=rss&amp;utm_medium=feed") {
			t.Errorf("%q: content has no tracking link", it.Title)
		}
		if len(it.Content) <= len(it.Description) {
			t.Errorf("%q: content is not the full body", it.Title)
		}
	}
}

// TestRelease checks the schedule: advancing the clock by Every makes
// exactly one more item visible, conditional GETs answer 304 while nothing
// changed and 200 with a new ETag for the one feed that changed.
func TestRelease(t *testing.T) {
	clock := newFakeClock()
	const every = 3 * time.Second
	fs, ts := startServer(t, Options{Every: every, Now: clock.Now})

	if got := visibleCount(t, fs, ts); got != 6 {
		t.Fatalf("visible at start: %d, want the default 6", got)
	}
	if st := fs.Status(); st.Released != 6 || st.Round != 1 || !st.Next.Equal(clock.Now().Add(every)) {
		t.Fatalf("status at start: %+v", st)
	}

	etags := map[string]string{}
	lastMod := map[string]string{}
	for _, fi := range fs.Feeds(ts.URL) {
		r := get(t, fi.URL)
		etags[fi.URL] = r.header.Get("ETag")
		lastMod[fi.URL] = r.header.Get("Last-Modified")
	}

	for step := 1; step <= 10; step++ {
		// Just before the next release nothing changes.
		clock.Advance(every - time.Millisecond)
		for _, fi := range fs.Feeds(ts.URL) {
			if r := get(t, fi.URL, "If-None-Match", etags[fi.URL]); r.status != http.StatusNotModified {
				t.Fatalf("step %d: %s: status %d before release, want 304", step, fi.Slug, r.status)
			}
			if r := get(t, fi.URL, "If-Modified-Since", lastMod[fi.URL]); r.status != http.StatusNotModified {
				t.Fatalf("step %d: %s: If-Modified-Since: status %d, want 304", step, fi.Slug, r.status)
			}
		}
		clock.Advance(time.Millisecond)
		if got := visibleCount(t, fs, ts); got != 6+step {
			t.Fatalf("step %d: %d items visible, want %d", step, got, 6+step)
		}
		changed := 0
		for _, fi := range fs.Feeds(ts.URL) {
			r := get(t, fi.URL, "If-None-Match", etags[fi.URL])
			switch r.status {
			case http.StatusNotModified:
				if len(r.body) != 0 {
					t.Errorf("304 with a body")
				}
			case http.StatusOK:
				changed++
				et := r.header.Get("ETag")
				if et == "" || et == etags[fi.URL] {
					t.Errorf("step %d: %s: 200 with ETag %q (was %q)", step, fi.Slug, et, etags[fi.URL])
				}
				etags[fi.URL] = et
				// The new item is the newest one, dated now.
				feed := parseFeed(t, fi.Slug, r.body)
				if p := feed.Items[0].PublishedParsed; p == nil || !p.Equal(clock.Now()) {
					t.Errorf("step %d: %s: newest item published %v, want %v", step, fi.Slug, p, clock.Now())
				}
				lm, err := http.ParseTime(r.header.Get("Last-Modified"))
				if err != nil || !lm.Equal(clock.Now().Truncate(time.Second)) {
					t.Errorf("step %d: %s: Last-Modified %q, want %v", step, fi.Slug, r.header.Get("Last-Modified"), clock.Now())
				}
				lastMod[fi.URL] = r.header.Get("Last-Modified")
			default:
				t.Fatalf("step %d: %s: status %d", step, fi.Slug, r.status)
			}
		}
		if changed != 1 {
			t.Fatalf("step %d: %d feeds changed, want exactly 1", step, changed)
		}
	}
}

// TestReleaseOrderInterleaves checks that consecutive releases come from
// different outlets and that the syndicated copies follow their original
// by a few items.
func TestReleaseOrderInterleaves(t *testing.T) {
	items, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	index := map[string]int{}
	for k, it := range items {
		index[it.ID] = k
		if k > 0 && items[k-1].Feed == it.Feed {
			t.Errorf("items %d and %d both from %s", k-1, k, it.Feed)
		}
		if it.DuplicateOf != "" {
			if d := k - index[it.DuplicateOf]; d < 3 || d > 15 {
				t.Errorf("%s comes %d items after its original", it.ID, d)
			}
		}
	}
	first := map[string]bool{}
	for _, it := range items[:6] {
		first[it.Feed] = true
	}
	if len(first) < 5 {
		t.Errorf("the first 6 items come from %d feeds, want all 5", len(first))
	}
}

// TestLoop checks that after the last item the sequence starts again with
// fresh GUIDs and links (#r2), dated at their new release.
func TestLoop(t *testing.T) {
	items, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	clock := newFakeClock()
	fs, ts := startServer(t, Options{Every: time.Second, Initial: len(items), PerFeed: 100, Now: clock.Now})
	clock.Advance(time.Duration(len(items)+3) * time.Second) // 3 items into round 3
	st := fs.Status()
	if st.Released != 2*len(items)+3 || st.Round != 3 || st.Total != len(items) {
		t.Fatalf("status %+v", st)
	}
	guids := map[string]bool{}
	n, r2, r3 := 0, 0, 0
	for _, fi := range fs.Feeds(ts.URL) {
		feed := parseFeed(t, fi.Slug, get(t, fi.URL).body)
		for _, it := range feed.Items {
			n++
			id := it.GUID
			if fi.Format == FormatRDF {
				id = it.DublinCoreExt.Identifier[0]
			}
			if guids[id] {
				t.Errorf("GUID %q listed twice", id)
			}
			guids[id] = true
			switch {
			case strings.HasSuffix(id, "#r3"):
				r3++
				if !strings.Contains(it.Link, "#r3") {
					t.Errorf("round-3 item with link %q", it.Link)
				}
			case strings.HasSuffix(id, "#r2"):
				r2++
			}
		}
	}
	if n != 2*len(items)+3 || r2 != len(items) || r3 != 3 {
		t.Errorf("%d items listed, %d of round 2, %d of round 3", n, r2, r3)
	}
}

// TestPerFeedLimit checks that a feed lists only its newest PerFeed items.
func TestPerFeedLimit(t *testing.T) {
	fs, ts := startServer(t, Options{Initial: 500, PerFeed: 4, Now: newFakeClock().Now})
	for _, fi := range fs.Feeds(ts.URL) {
		feed := parseFeed(t, fi.Slug, get(t, fi.URL).body)
		if len(feed.Items) != 4 {
			t.Errorf("%s: %d items, want 4", fi.Slug, len(feed.Items))
		}
		for i := 1; i < len(feed.Items); i++ {
			if !feed.Items[i].PublishedParsed.Before(*feed.Items[i-1].PublishedParsed) {
				t.Errorf("%s: items not newest first", fi.Slug)
			}
		}
	}
}

func TestNoneInitially(t *testing.T) {
	clock := newFakeClock()
	fs, ts := startServer(t, Options{Initial: -1, Every: time.Minute, Now: clock.Now})
	if n := visibleCount(t, fs, ts); n != 0 {
		t.Fatalf("%d items visible, want 0", n)
	}
	clock.Advance(time.Minute)
	if n := visibleCount(t, fs, ts); n != 1 {
		t.Fatalf("%d items visible after one interval, want 1", n)
	}
}

// TestOPML checks that /opml parses and lists every feed URL under its
// category.
func TestOPML(t *testing.T) {
	fs, ts := startServer(t, Options{Now: newFakeClock().Now})
	r := get(t, ts.URL+"/opml")
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/x-opml") {
		t.Fatalf("status %d, Content-Type %q", r.status, r.header.Get("Content-Type"))
	}
	type outline struct {
		Text     string    `xml:"text,attr"`
		XMLURL   string    `xml:"xmlUrl,attr"`
		Category string    `xml:"category,attr"`
		Outlines []outline `xml:"outline"`
	}
	var doc struct {
		XMLName xml.Name  `xml:"opml"`
		Version string    `xml:"version,attr"`
		Title   string    `xml:"head>title"`
		Body    []outline `xml:"body>outline"`
	}
	if err := xml.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("OPML does not parse: %v\n%s", err, r.body)
	}
	if doc.Version != "2.0" || doc.Title == "" {
		t.Errorf("version %q, title %q", doc.Version, doc.Title)
	}
	listed := map[string]string{} // url -> folder
	for _, folder := range doc.Body {
		for _, o := range folder.Outlines {
			listed[o.XMLURL] = folder.Text
			if o.Category != "/"+folder.Text {
				t.Errorf("%s: category %q in folder %q", o.Text, o.Category, folder.Text)
			}
		}
	}
	feeds := fs.Feeds(ts.URL)
	if len(listed) != len(feeds) {
		t.Errorf("OPML lists %d feeds, want %d", len(listed), len(feeds))
	}
	for _, fi := range feeds {
		if listed[fi.URL] != fi.Category {
			t.Errorf("%s not listed under %q: %v", fi.URL, fi.Category, listed)
		}
		if r := get(t, fi.URL); r.status != http.StatusOK {
			t.Errorf("%s: status %d", fi.URL, r.status)
		}
	}
}

func TestRoutes(t *testing.T) {
	fs, ts := startServer(t, Options{Now: newFakeClock().Now})
	r := get(t, ts.URL+"/")
	if r.status != http.StatusOK || !strings.Contains(string(r.body), "Wire Service Europe") ||
		!strings.Contains(string(r.body), "6 items released") {
		t.Errorf("index: status %d\n%s", r.status, r.body)
	}
	for _, p := range []string{"/feeds/", "/feeds/nope.xml", "/feeds/wire-service-europe.json",
		"/feeds/baltic-security-monitor.xml", "/nope"} {
		if r := get(t, ts.URL+p); r.status != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.status)
		}
	}
	resp, err := http.Post(fs.Feeds(ts.URL)[0].URL, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodHead, fs.Feeds(ts.URL)[0].URL, nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
		t.Errorf("HEAD: status %d, ETag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

func TestOptionsErrors(t *testing.T) {
	if _, err := NewFeedServer(Options{Every: -time.Second}); err == nil {
		t.Error("negative Every accepted")
	}
	if _, err := NewFeedServer(Options{PerFeed: -1}); err == nil {
		t.Error("negative PerFeed accepted")
	}
}
