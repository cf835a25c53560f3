// Package hostile is an HTTP server that attacks feed readers: one route
// per attack (gzip bomb, endless body, slow drip, endless headers,
// redirect loops, redirects to blocked addresses, HTML instead of a feed,
// 10k items, a 50 MB item, deep nesting, billion laughs, broken UTF-8,
// mislabelled charsets, absurd dates, duplicate and rotating GUIDs) plus
// a TLS server whose certificate nobody trusts. Tests of the fetcher, the
// poller, the daemon and `wirewatch inspect` point at it; Attacks lists
// every route with the outcome the project promises for it, and
// docs/hostile-input.md is the table of the same.
//
// It imports nothing from the project, so any package's tests can use it.
package hostile

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Outcome reason labels (the same strings as the sources.Reason constants;
// this package cannot import sources).
const (
	OK           = ""                // parses; see Attack.Expect
	TooLarge     = "too_large"       // body or headers over the cap
	Timeout      = "timeout"         // the fetch deadline
	RedirectLoop = "redirect_loop"   // loop or too many hops
	Blocked      = "blocked_address" // SSRF guard
	NotAFeed     = "not_a_feed"      // HTML or other non-feed document
	TLS          = "tls"             // untrusted certificate
)

// Attack is one route of the server.
type Attack struct {
	Name string // short name, also the path without the slash
	// What the server does.
	What string
	// Reason is the failure reason the fetcher must give; OK (empty) when
	// the feed must parse, with Expect saying what it must yield.
	Reason string
	Expect string
	// TLS marks the attack served by Server.TLS (use Server.TLSURL).
	TLS bool
	// Slow marks attacks that last until the client's timeout.
	Slow bool
}

// Path is the route of the attack.
func (a Attack) Path() string { return "/" + a.Name }

// Options size the attacks. Zero fields take the defaults.
type Options struct {
	// BombSize is what the gzip bombs inflate to (default 1 GiB; on the
	// wire about 1 MB).
	BombSize int64
	// HugeItemSize is the size of the item of /huge-item (default 50 MB).
	HugeItemSize int64
	// BigItemSize is the size of the item of /big-item: over NATS's default
	// 1 MiB max payload, under the default 16 MiB body cap (default 1.5 MiB).
	BigItemSize int64
	// ManyItems is the number of items of /many-items (default 10,000).
	ManyItems int
	// NestingDepth is how deep /deep-nesting nests (default 100,000).
	NestingDepth int
	// DripEvery is the pause between the bytes of /slow-drip and the
	// header lines of /slow-headers (default 1s).
	DripEvery time.Duration
}

func (o Options) withDefaults() Options {
	if o.BombSize <= 0 {
		o.BombSize = 1 << 30
	}
	if o.HugeItemSize <= 0 {
		o.HugeItemSize = 50 << 20
	}
	if o.BigItemSize <= 0 {
		o.BigItemSize = 3 << 19
	}
	if o.ManyItems <= 0 {
		o.ManyItems = 10_000
	}
	if o.NestingDepth <= 0 {
		o.NestingDepth = 100_000
	}
	if o.DripEvery <= 0 {
		o.DripEvery = time.Second
	}
	return o
}

// Attacks lists every route, in the order of docs/hostile-input.md.
func Attacks() []Attack {
	return []Attack{
		{Name: "gzip-bomb", What: "Content-Encoding: gzip body inflating to 1 GiB (1 MB on the wire)", Reason: TooLarge},
		{Name: "gzip-bomb-file", What: "a gzip file (no Content-Encoding) inflating to 1 GiB", Reason: TooLarge},
		{Name: "endless-body", What: "a feed whose items never end, as fast as the client reads", Reason: TooLarge},
		{Name: "slow-drip", What: "a valid feed start, then one byte per second forever", Reason: Timeout, Slow: true},
		{Name: "endless-headers", What: "a status line, then header lines forever, as fast as the client reads", Reason: TooLarge},
		{Name: "slow-headers", What: "a status line, then one header line per second forever", Reason: Timeout, Slow: true},
		{Name: "redirect-loop", What: "A redirects to B, B to A", Reason: RedirectLoop},
		{Name: "redirect-chain", What: "every hop redirects to a new URL, forever", Reason: RedirectLoop},
		{Name: "redirect-metadata", What: "redirect to http://169.254.169.254/ (cloud metadata)", Reason: Blocked},
		{Name: "redirect-private", What: "redirect to http://10.0.0.1/ (private network)", Reason: Blocked},
		{Name: "redirect-loopback", What: "redirect to this server's port on 127.0.0.2 (loopback outside 127.0.0.1/32)", Reason: Blocked},
		{Name: "wrong-content-type", What: "a valid RSS feed served as image/png", Expect: "3 articles: the body is sniffed, the Content-Type ignored"},
		{Name: "html-page", What: "an HTML page that links its feed with <link rel=alternate>", Reason: NotAFeed, Expect: "the error names the linked feed's absolute URL"},
		{Name: "html-no-feed", What: "an HTML page with no feed link", Reason: NotAFeed},
		{Name: "empty", What: "200 with an empty body", Reason: NotAFeed},
		{Name: "many-items", What: "one feed with 10,000 items", Expect: "the 1,000 newest items are taken per poll, the rest counted"},
		{Name: "huge-item", What: "one item of 50 MB", Reason: TooLarge},
		{Name: "big-item", What: "one item of 1.5 MiB: under the body cap, over the NATS max payload", Expect: "published truncated, with a marker"},
		{Name: "deep-nesting", What: "100,000 nested elements inside an item", Expect: "bounded time and memory; parses or fails with parse"},
		{Name: "billion-laughs", What: "a DTD of nested entities (XML entity expansion)", Expect: "entities are not expanded; the item parses with the literal text"},
		{Name: "invalid-utf8", What: "invalid UTF-8 bytes and C0 control characters in titles and text", Expect: "2 articles with valid UTF-8 and no control characters"},
		{Name: "mislabelled-charset", What: "header says UTF-8, the XML declaration and bytes are windows-1251", Expect: "Cyrillic decoded correctly"},
		{Name: "undeclared-latin1", What: "header says UTF-8, no declaration, bytes are windows-1252", Expect: "accents decoded correctly"},
		{Name: "dates", What: "items dated 2100, 1901, garbage and none", Expect: "future clamped to the fetch time; implausible past, garbage and missing dates empty"},
		{Name: "duplicate-guids", What: "three items with one GUID", Expect: "one article"},
		{Name: "rotating-guid", What: "the same story with a new GUID on every request", Expect: "a new article key each poll; content dedup marks the copies duplicate downstream"},
		{Name: "tls-untrusted", What: "HTTPS with a self-signed certificate", Reason: TLS, TLS: true},
	}
}

// Server serves the attacks. Close it when done.
type Server struct {
	*httptest.Server
	// TLS serves a valid feed on every path, with a certificate no
	// client trusts.
	TLS *httptest.Server

	opts     Options
	done     chan struct{}
	once     sync.Once
	bombOnce sync.Once
	bomb     []byte
	rotation atomic.Int64
	hits     sync.Map // path -> *atomic.Int64
}

// New starts the server on 127.0.0.1 (and the TLS one).
func New(opts Options) *Server {
	s := &Server{opts: opts.withDefaults(), done: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	s.TLS = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, GoodFeed)
	}))
	// Clients refusing the certificate is the point: no log line for it.
	s.TLS.Config.ErrorLog = log.New(io.Discard, "", 0)
	s.TLS.StartTLS()
	return s
}

// Close stops both servers and every attack still running.
func (s *Server) Close() {
	s.once.Do(func() { close(s.done) })
	s.Server.Close()
	s.TLS.Close()
}

// AttackURL is the URL of an attack.
func (s *Server) AttackURL(a Attack) string {
	if a.TLS {
		return s.TLS.URL + a.Path()
	}
	return s.Server.URL + a.Path()
}

// FeedURL is the URL of a well-behaved feed on the same server (the one
// /html-page links to): three items.
func (s *Server) FeedURL() string { return s.Server.URL + "/feed.xml" }

// Hits is how many requests path received.
func (s *Server) Hits(path string) int64 {
	if v, ok := s.hits.Load(path); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// GoodFeed is the feed of /feed.xml and of the TLS server.
const GoodFeed = `<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Hostile test good feed</title><link>https://good.example/</link>
<item><title>Envoys meet in Geneva</title><link>https://good.example/a</link><guid>good-a</guid><pubDate>Sat, 10 Jan 2026 10:00:00 GMT</pubDate><description>First story.</description></item>
<item><title>Ceasefire holds overnight</title><link>https://good.example/b</link><guid>good-b</guid><pubDate>Sat, 10 Jan 2026 11:00:00 GMT</pubDate><description>Second story.</description></item>
<item><title>Aid convoy reaches the city</title><link>https://good.example/c</link><guid>good-c</guid><pubDate>Sat, 10 Jan 2026 12:00:00 GMT</pubDate><description>Third story.</description></item>
</channel></rss>`

const rssHead = `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Hostile</title><link>https://hostile.example/</link>`
const rssTail = `</channel></rss>`

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	v, _ := s.hits.LoadOrStore(r.URL.Path, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	o := s.opts
	name, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	rss := func(body string) {
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = io.WriteString(w, rssHead+body+rssTail)
	}
	switch name {
	case "feed.xml":
		w.Header().Set("Content-Type", "application/rss+xml")
		_, _ = io.WriteString(w, GoodFeed)
	case "gzip-bomb":
		w.Header().Set("Content-Type", "application/rss+xml")
		w.Header().Set("Content-Encoding", "gzip")
		_, _ = w.Write(s.gzipBomb())
	case "gzip-bomb-file":
		w.Header().Set("Content-Type", "application/gzip")
		_, _ = w.Write(s.gzipBomb())
	case "endless-body":
		w.Header().Set("Content-Type", "application/rss+xml")
		if _, err := io.WriteString(w, rssHead); err != nil {
			return
		}
		item := []byte(strings.Repeat(`<item><title>again</title><description>and again</description></item>`, 200))
		for s.alive(r) {
			if _, err := w.Write(item); err != nil {
				return
			}
		}
	case "slow-drip":
		w.Header().Set("Content-Type", "application/rss+xml")
		doc := rssHead + strings.Repeat(`<item><title>drip</title></item>`, 1000)
		t := time.NewTicker(o.DripEvery)
		defer t.Stop()
		for i := 0; ; i++ {
			if _, err := w.Write([]byte{doc[i%len(doc)]}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-t.C:
			case <-r.Context().Done():
				return
			case <-s.done:
				return
			}
		}
	case "endless-headers", "slow-headers":
		s.headers(w, name == "slow-headers")
	case "redirect-loop":
		http.Redirect(w, r, "/redirect-loop-b", http.StatusFound)
	case "redirect-loop-b":
		http.Redirect(w, r, "/redirect-loop", http.StatusFound)
	case "redirect-chain":
		n, _ := strconv.Atoi(rest)
		http.Redirect(w, r, fmt.Sprintf("/redirect-chain/%d", n+1), http.StatusFound)
	case "redirect-metadata":
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	case "redirect-private":
		http.Redirect(w, r, "http://10.0.0.1/feed.xml", http.StatusFound)
	case "redirect-loopback":
		u, _ := url.Parse(s.Server.URL)
		http.Redirect(w, r, "http://127.0.0.2:"+u.Port()+"/feed.xml", http.StatusFound)
	case "wrong-content-type":
		w.Header().Set("Content-Type", "image/png")
		_, _ = io.WriteString(w, GoodFeed)
	case "html-page":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><html><head><title>Hostile News</title>`+
			`<link rel="stylesheet" href="/site.css">`+
			`<link rel="alternate" type="application/rss+xml" title="RSS" href="/feed.xml">`+
			`</head><body><h1>Hostile News</h1><p>Today's stories.</p></body></html>`)
	case "html-no-feed":
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!DOCTYPE html><html><head><title>Login</title></head><body><form>Sign in</form></body></html>`)
	case "empty":
		w.Header().Set("Content-Type", "application/rss+xml")
	case "many-items":
		w.Header().Set("Content-Type", "application/rss+xml")
		bw := bufio.NewWriter(w)
		_, _ = bw.WriteString(rssHead)
		base := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
		for i := range o.ManyItems {
			fmt.Fprintf(bw, `<item><title>Item %d</title><link>https://hostile.example/many/%d</link><guid>many-%d</guid><pubDate>%s</pubDate></item>`,
				i, i, i, base.Add(-time.Duration(i)*time.Minute).Format(time.RFC1123Z))
		}
		_, _ = bw.WriteString(rssTail)
		_ = bw.Flush()
	case "huge-item", "big-item":
		size := o.HugeItemSize
		if name == "big-item" {
			size = o.BigItemSize
		}
		w.Header().Set("Content-Type", "application/rss+xml")
		if _, err := io.WriteString(w, rssHead+`<item><title>A very long story</title><link>https://hostile.example/`+name+`</link><guid>`+name+`</guid><description>`); err != nil {
			return
		}
		chunk := []byte(strings.Repeat("All work and no play makes a long article. ", 1000))
		for written := int64(0); written < size && s.alive(r); {
			n := min(int64(len(chunk)), size-written)
			if _, err := w.Write(chunk[:n]); err != nil {
				return
			}
			written += n
		}
		_, _ = io.WriteString(w, `</description></item>`+rssTail)
	case "deep-nesting":
		w.Header().Set("Content-Type", "application/rss+xml")
		d := o.NestingDepth
		rss(`<item><title>Deep</title><guid>deep</guid><description>` + strings.Repeat("<div>", d) + "x" +
			strings.Repeat("</div>", d) + `</description></item>`)
	case "billion-laughs":
		w.Header().Set("Content-Type", "application/rss+xml")
		var dtd strings.Builder
		dtd.WriteString(`<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol "lol">`)
		for i := 1; i <= 9; i++ {
			prev := "lol"
			if i > 1 {
				prev = fmt.Sprintf("lol%d", i-1)
			}
			fmt.Fprintf(&dtd, `<!ENTITY lol%d "%s">`, i, strings.Repeat("&"+prev+";", 10))
		}
		dtd.WriteString(`]><rss version="2.0"><channel><title>Laughs</title>` +
			`<item><title>Laugh &lol9;</title><guid>laughs</guid><description>&lol9;&lol9;&lol9;</description></item></channel></rss>`)
		_, _ = io.WriteString(w, dtd.String())
	case "invalid-utf8":
		rss("<item><title>Bad \xff\xfe bytes\x01\x02 and \x1b[31mred\x1b[0m</title><guid>bad-1</guid><description>Text\x00 with\x07 bells \xc3\x28 and \xed\xa0\x80 surrogates</description></item>" +
			"<item><title>Caf\xc3\xa9 ok</title><guid>bad-2</guid><description>Fine \xe2\x80\x94 text</description></item>")
	case "mislabelled-charset":
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		// "Новости" and "Мирные переговоры" in windows-1251.
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="windows-1251"?><rss version="2.0"><channel><title>`+
			"\xcd\xee\xe2\xee\xf1\xf2\xe8"+`</title><item><title>`+
			"\xcc\xe8\xf0\xed\xfb\xe5 \xef\xe5\xf0\xe5\xe3\xee\xe2\xee\xf0\xfb"+`</title><guid>ru-1</guid></item></channel></rss>`)
	case "undeclared-latin1":
		w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
		_, _ = io.WriteString(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Caf`+"\xe9"+`</title><item><title>D`+
			"\xe9"+`l`+"\xe9"+`gation `+"\xe0"+` Gen`+"\xe8"+`ve</title><guid>fr-1</guid></item></channel></rss>`)
	case "dates":
		rss(`<item><title>From the future</title><guid>d-future</guid><pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate></item>` +
			`<item><title>From the far past</title><guid>d-past</guid><pubDate>Tue, 01 Jan 1901 00:00:00 GMT</pubDate></item>` +
			`<item><title>Garbage date</title><guid>d-garbage</guid><pubDate>yesterday-ish, maybe</pubDate></item>` +
			`<item><title>No date</title><guid>d-none</guid></item>`)
	case "duplicate-guids":
		rss(`<item><title>Same story</title><guid>dup</guid><link>https://hostile.example/dup</link><description>One.</description></item>` +
			`<item><title>Same story again</title><guid>dup</guid><link>https://hostile.example/dup</link><description>One.</description></item>` +
			`<item><title>Same story, third time</title><guid>dup</guid><description>One.</description></item>`)
	case "rotating-guid":
		n := s.rotation.Add(1)
		rss(fmt.Sprintf(`<item><title>Envoys meet in Geneva over the draft peace framework</title><guid isPermaLink="false">rot-%d</guid>`+
			`<description>Negotiators from both sides met in Geneva on Saturday to discuss the draft peace framework and security guarantees.</description></item>`, n))
	default:
		http.NotFound(w, r)
	}
}

// alive reports whether the client and the server are still there.
func (s *Server) alive(r *http.Request) bool {
	select {
	case <-r.Context().Done():
		return false
	case <-s.done:
		return false
	default:
		return true
	}
}

// headers takes the connection over and sends header lines forever.
func (s *Server) headers(w http.ResponseWriter, slow bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	if _, err := buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\n"); err != nil {
		return
	}
	line := "X-Padding: " + strings.Repeat("a", 1000) + "\r\n"
	var t *time.Ticker
	if slow {
		t = time.NewTicker(s.opts.DripEvery)
		defer t.Stop()
	}
	for i := 0; ; i++ {
		if _, err := fmt.Fprintf(buf, "X-Header-%d: %s", i, line); err != nil {
			return
		}
		if err := buf.Flush(); err != nil {
			return
		}
		if slow {
			select {
			case <-t.C:
			case <-s.done:
				return
			}
		} else {
			select {
			case <-s.done:
				return
			default:
			}
		}
	}
}

// gzipBomb is BombSize of zeros as concatenated gzip members of 1 MiB each
// (gzip readers decode members back to back as one stream).
func (s *Server) gzipBomb() []byte {
	s.bombOnce.Do(func() {
		var one bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&one, gzip.BestCompression)
		_, _ = zw.Write(make([]byte, 1<<20))
		_ = zw.Close()
		n := int((s.opts.BombSize + 1<<20 - 1) >> 20)
		s.bomb = bytes.Repeat(one.Bytes(), n)
	})
	return s.bomb
}
