package sources

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/charmap"
)

// loopback is what tests allow explicitly: the guard blocks it by default.
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func testFetcher(cfg FetcherConfig) *Fetcher {
	if cfg.AllowNetworks == nil {
		cfg.AllowNetworks = loopback
	}
	return NewFetcher(cfg)
}

const tinyRSS = `<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>` +
	`<item><title>One</title><guid>1</guid></item></channel></rss>`

func fetchErr(t *testing.T, f *Fetcher, url string) *FetchError {
	t.Helper()
	res, err := f.Fetch(context.Background(), url, Validators{})
	if err == nil {
		t.Fatalf("fetch %s: want error, got status %d", url, res.Status)
	}
	var fe *FetchError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FetchError", err, err)
	}
	return fe
}

func TestFetchConditionalGET(t *testing.T) {
	var gotUA, gotINM, gotIMS atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotUA.Store(r.UserAgent())
		gotINM.Store(r.Header.Get("If-None-Match"))
		gotIMS.Store(r.Header.Get("If-Modified-Since"))
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Last-Modified", "Sat, 10 Jan 2026 10:00:00 GMT")
		w.Header().Set("Cache-Control", "public, max-age=300")
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprint(w, tinyRSS)
	}))
	defer srv.Close()
	f := testFetcher(FetcherConfig{Version: "1.2.3"})
	res, err := f.Fetch(context.Background(), srv.URL, Validators{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "Wirewatch/1.2.3 (+https://github.com/wirewatch/wirewatch)"; gotUA.Load() != want {
		t.Errorf("User-Agent = %q, want %q", gotUA.Load(), want)
	}
	if res.NotModified || res.Validators.ETag != `"v1"` || res.MaxAge != 5*time.Minute || !bytes.Contains(res.Body, []byte("One")) {
		t.Errorf("first response: %+v", res)
	}
	res, err = f.Fetch(context.Background(), srv.URL, res.Validators)
	if err != nil {
		t.Fatal(err)
	}
	if !res.NotModified || res.Status != http.StatusNotModified {
		t.Errorf("second response not a 304: %+v", res)
	}
	if gotINM.Load() != `"v1"` || gotIMS.Load() != "Sat, 10 Jan 2026 10:00:00 GMT" {
		t.Errorf("conditional headers: %q %q", gotINM.Load(), gotIMS.Load())
	}
}

func TestFetchStatusReasons(t *testing.T) {
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			http.NotFound(w, r)
		case "/500":
			http.Error(w, "boom", http.StatusInternalServerError)
		case "/429":
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		case "/503":
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusServiceUnavailable)
		case "/loop":
			http.Redirect(w, r, "/loop2", http.StatusFound)
		case "/loop2":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/html":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml"></head><body></body></html>`)
		}
	}))
	defer srv.Close()
	var hops atomic.Int32
	chain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		http.Redirect(w, r, fmt.Sprintf("/r%d", hops.Load()), http.StatusFound)
	}))
	defer chain.Close()
	f := testFetcher(FetcherConfig{})

	for path, want := range map[string]string{"/404": ReasonHTTP4xx, "/500": ReasonHTTP5xx, "/429": ReasonHTTP429, "/503": ReasonHTTP5xx, "/loop": ReasonRedirectLoop} {
		fe := fetchErr(t, f, srv.URL+path)
		if fe.Reason != want || ReasonOf(fe) != want {
			t.Errorf("%s: reason %q, want %q (%v)", path, fe.Reason, want, fe)
		}
	}
	if fe := fetchErr(t, f, srv.URL+"/429"); fe.RetryAfter != 120*time.Second || fe.Status != 429 {
		t.Errorf("429 Retry-After = %v status %d", fe.RetryAfter, fe.Status)
	}
	if fe := fetchErr(t, f, srv.URL+"/503"); fe.RetryAfter < 80*time.Second || fe.RetryAfter > 91*time.Second {
		t.Errorf("503 Retry-After (HTTP date) = %v, want about 90s", fe.RetryAfter)
	}
	if fe := fetchErr(t, f, chain.URL); fe.Reason != ReasonRedirectLoop || hops.Load() != DefaultMaxRedirects+1 {
		t.Errorf("redirect chain: reason %q after %d requests", fe.Reason, hops.Load())
	}
	// An HTML page fetches fine; parsing it says what it is.
	res, err := f.Fetch(context.Background(), srv.URL+"/html", Validators{})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Parse(bytes.NewReader(res.Body), Feed{URL: srv.URL + "/html"}, time.Now())
	if ReasonOf(err) != ReasonNotAFeed || !strings.Contains(err.Error(), "HTML page") || !strings.Contains(err.Error(), "/atom.xml") {
		t.Errorf("HTML page: %v", err)
	}
}

func TestFetchBodyCapAndGzip(t *testing.T) {
	big := strings.Repeat("x", 4096)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/declared":
			fmt.Fprint(w, big) // Content-Length set by the server
		case "/streamed":
			w.(http.Flusher).Flush() // chunked, no Content-Length
			fmt.Fprint(w, big)
		case "/gzip":
			if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
				t.Error("transport did not ask for gzip")
			}
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			fmt.Fprint(zw, tinyRSS)
			zw.Close()
		case "/bomb":
			w.Header().Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			fmt.Fprint(zw, big) // 4 KiB inflated from a few bytes
			zw.Close()
		}
	}))
	defer srv.Close()
	f := testFetcher(FetcherConfig{MaxBodySize: 1024})
	for _, p := range []string{"/declared", "/streamed", "/bomb"} {
		if fe := fetchErr(t, f, srv.URL+p); fe.Reason != ReasonTooLarge {
			t.Errorf("%s: reason %q, want too_large", p, fe.Reason)
		}
	}
	res, err := f.Fetch(context.Background(), srv.URL+"/gzip", Validators{})
	if err != nil || !bytes.Contains(res.Body, []byte("<title>One</title>")) {
		t.Errorf("gzip: %v %+v", err, res)
	}
}

func TestFetchCharsetFromContentType(t *testing.T) {
	body, _ := charmap.Windows1251.NewEncoder().String(`<rss version="2.0"><channel><title>Новости</title>` +
		`<item><title>Привет</title><guid>1</guid></item></channel></rss>`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/xml; charset=windows-1251")
		fmt.Fprint(w, body)
	}))
	defer srv.Close()
	f := testFetcher(FetcherConfig{})
	res, err := f.Fetch(context.Background(), srv.URL, Validators{})
	if err != nil {
		t.Fatal(err)
	}
	title, arts, err := Parse(bytes.NewReader(res.Body), Feed{URL: srv.URL}, time.Now())
	if err != nil || title != "Новости" || len(arts) != 1 || arts[0].Title != "Привет" {
		t.Errorf("got %q %v %v", title, arts, err)
	}
}

func TestFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	f := testFetcher(FetcherConfig{Timeout: 200 * time.Millisecond})
	if fe := fetchErr(t, f, srv.URL); fe.Reason != ReasonTimeout {
		t.Errorf("reason %q, want timeout (%v)", fe.Reason, fe)
	}
}

func TestFetchBadURLsAndConnect(t *testing.T) {
	f := testFetcher(FetcherConfig{})
	for _, u := range []string{"file:///etc/passwd", "ftp://example.com/x", "http://", "::bad"} {
		if fe := fetchErr(t, f, u); fe.Reason != ReasonBadURL {
			t.Errorf("%s: reason %q, want bad_url", u, fe.Reason)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	if fe := fetchErr(t, f, "http://"+addr+"/"); fe.Reason != ReasonConnect {
		t.Errorf("closed port: reason %q, want connect (%v)", fe.Reason, fe)
	}
	if fe := fetchErr(t, f, "http://no-such-host.invalid/feed"); fe.Reason != ReasonDNS {
		t.Errorf("unknown host: reason %q, want dns (%v)", fe.Reason, fe)
	}
}

func TestFetchTLSReason(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	f := testFetcher(FetcherConfig{})
	if fe := fetchErr(t, f, srv.URL); fe.Reason != ReasonTLS {
		t.Errorf("self-signed: reason %q, want tls (%v)", fe.Reason, fe)
	}
}

func TestSSRFLoopbackBlockedByDefault(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, tinyRSS)
	}))
	defer srv.Close()
	f := NewFetcher(FetcherConfig{}) // no AllowNetworks
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, u := range []string{srv.URL, fmt.Sprintf("http://localhost:%d/", port)} {
		fe := fetchErr(t, f, u)
		if fe.Reason != ReasonBlocked || ReasonOf(fe) != ReasonBlocked {
			t.Errorf("%s: reason %q, want blocked_address (%v)", u, fe.Reason, fe)
		}
	}
	if hits.Load() != 0 {
		t.Errorf("blocked server was reached %d times", hits.Load())
	}
}

func TestSSRFRedirectToBlockedAddress(t *testing.T) {
	// The target listens on 127.0.0.2, outside the allowed 127.0.0.1/32.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2 here: %v", err)
	}
	var hits atomic.Int32
	target := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, tinyRSS)
	}))
	target.Listener.Close()
	target.Listener = ln
	target.Start()
	defer target.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/feed", http.StatusMovedPermanently)
	}))
	defer front.Close()

	f := NewFetcher(FetcherConfig{AllowNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	fe := fetchErr(t, f, front.URL)
	if fe.Reason != ReasonBlocked {
		t.Errorf("reason %q, want blocked_address (%v)", fe.Reason, fe)
	}
	if hits.Load() != 0 {
		t.Errorf("redirect target was reached")
	}
	// Allowing the target's address lets the same redirect through.
	f = NewFetcher(FetcherConfig{AllowNetworks: loopback})
	if _, err := f.Fetch(context.Background(), front.URL, Validators{}); err != nil {
		t.Errorf("allowed redirect: %v", err)
	}
}

func TestAddrGuard(t *testing.T) {
	g := addrGuard{}
	for _, a := range []string{
		"127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "224.0.0.1", "255.255.255.255", "::1", "::", "fc00::1", "fd12::1", "fe80::1",
		"ff02::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::1",
	} {
		if g.allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s allowed by default", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "93.184.216.34", "2606:4700::1111", "64:ff9b::808:808"} {
		if !g.allowed(netip.MustParseAddr(a)) {
			t.Errorf("%s blocked", a)
		}
	}
	g = addrGuard{allow: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	if !g.allowed(netip.MustParseAddr("10.9.9.9")) || g.allowed(netip.MustParseAddr("192.168.0.1")) {
		t.Error("AllowNetworks not honoured precisely")
	}
	if err := g.control("tcp4", "169.254.169.254:80", nil); err == nil || ReasonOf(fmt.Errorf("x: %w", err)) != ReasonBlocked {
		t.Errorf("control: %v", err)
	}
}

func TestRetryAfterAndMaxAge(t *testing.T) {
	now := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"": 0, "30": 30 * time.Second, "-5": 0, "soon": 0,
		"Sat, 10 Jan 2026 12:02:00 GMT": 2 * time.Minute, "Sat, 10 Jan 2026 11:00:00 GMT": 0,
	} {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("Retry-After %q = %v, want %v", in, got, want)
		}
	}
	for in, want := range map[string]time.Duration{
		"": 0, "max-age=60": time.Minute, "public, max-age=\"120\"": 2 * time.Minute, "no-cache": 0, "max-age=0": 0,
	} {
		if got := maxAge(in); got != want {
			t.Errorf("max-age %q = %v, want %v", in, got, want)
		}
	}
}

// A password in a feed URL never reaches an error message.
func TestErrorsRedactCredentials(t *testing.T) {
	err := newErr(ReasonHTTP4xx, "https://ann:hunter2@feeds.example/private.rss", errors.New("HTTP 401"))
	if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "ann:xxxxx@feeds.example") {
		t.Errorf("error leaks or loses the URL: %s", err)
	}
	if got := Redact("https://feeds.example/a.rss?x=1"); got != "https://feeds.example/a.rss?x=1" {
		t.Errorf("Redact changed a URL without credentials: %s", got)
	}
}
