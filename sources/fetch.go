package sources

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Fetcher defaults.
const (
	DefaultConnectTimeout = 10 * time.Second
	DefaultFetchTimeout   = 60 * time.Second
	DefaultMaxRedirects   = 10
	// MaxHeaderBytes caps a response's headers (reason too_large).
	MaxHeaderBytes = 1 << 20
	defaultVersion = "dev"
	projectURL     = "https://github.com/wirewatch/wirewatch"
	acceptHeader   = "application/rss+xml, application/atom+xml, application/feed+json, " +
		"application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)

// FetcherConfig configures a Fetcher. Zero fields take the defaults.
type FetcherConfig struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// Timeout bounds a whole fetch: connect, redirects, headers and body.
	Timeout time.Duration
	// MaxBodySize caps a body after decompression (default 16 MiB).
	MaxBodySize int64
	// MaxRedirects is how many redirects are followed (default 10).
	MaxRedirects int
	// Version goes into the User-Agent: Wirewatch/<Version> (+project URL).
	Version string
	// UserAgent replaces the whole User-Agent when set.
	UserAgent string
	// AllowNetworks lists networks a feed may reach even though the SSRF
	// guard blocks them by default (loopback, private, link-local, ...).
	AllowNetworks []netip.Prefix
}

// Fetcher fetches feeds over HTTP(S) with its own client: timeouts, a body
// cap, conditional GET, Retry-After, a redirect limit and an SSRF guard on
// every address actually dialled. It is safe for concurrent use.
type Fetcher struct {
	client    *http.Client
	transport *http.Transport
	ua        string
	maxBody   int64
}

// Validators are the conditional-GET validators from the last response.
type Validators struct {
	ETag, LastModified string
}

// Response is a successful fetch (2xx or 304).
type Response struct {
	// URL is the final URL after redirects.
	URL    string
	Status int
	// NotModified is true for a 304: Body is empty, keep the old state.
	NotModified bool
	// Body is the feed as UTF-8 (charset converted, illegal XML
	// characters dropped); Bytes is how many bytes were read.
	Body        []byte
	Bytes       int64
	ContentType string
	// Validators for the next conditional GET (empty: keep the old ones
	// on a 304).
	Validators Validators
	// MaxAge is the Cache-Control max-age, 0 if absent.
	MaxAge time.Duration
}

// NewFetcher returns a Fetcher with its own transport.
func NewFetcher(cfg FetcherConfig) *Fetcher {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultFetchTimeout
	}
	if cfg.MaxBodySize <= 0 {
		cfg.MaxBodySize = DefaultMaxBodySize
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = DefaultMaxRedirects
	}
	if cfg.Version == "" {
		cfg.Version = defaultVersion
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = "Wirewatch/" + cfg.Version + " (+" + projectURL + ")"
	}
	guard := addrGuard{allow: append([]netip.Prefix(nil), cfg.AllowNetworks...)}
	dialer := &net.Dialer{
		Timeout:   cfg.ConnectTimeout,
		KeepAlive: 30 * time.Second,
		Control:   guard.control,
	}
	tr := &http.Transport{
		// No proxy: the guard must see the feed's own address.
		Proxy:                  nil,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    cfg.ConnectTimeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		MaxResponseHeaderBytes: MaxHeaderBytes,
		ExpectContinueTimeout:  time.Second,
		MaxIdleConns:           100,
		MaxIdleConnsPerHost:    2,
		IdleConnTimeout:        90 * time.Second,
	}
	maxRedirects := cfg.MaxRedirects
	client := &http.Client{
		Transport: tr,
		Timeout:   cfg.Timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return &redirectError{ReasonRedirectLoop, fmt.Sprintf("stopped after %d redirects", maxRedirects)}
			}
			for _, v := range via {
				if v.URL.String() == req.URL.String() {
					return &redirectError{ReasonRedirectLoop, "redirect loop back to " + req.URL.Redacted()}
				}
			}
			if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
				return &redirectError{ReasonBadURL, "redirect to unsupported scheme " + req.URL.Scheme}
			}
			return nil
		},
	}
	return &Fetcher{client: client, transport: tr, ua: ua, maxBody: cfg.MaxBodySize}
}

// CloseIdleConnections closes pooled connections (call at shutdown).
func (f *Fetcher) CloseIdleConnections() { f.transport.CloseIdleConnections() }

// Fetch GETs rawURL, conditionally when v holds validators. A 304 gives a
// Response with NotModified set; any failure is a *FetchError.
func (f *Fetcher) Fetch(ctx context.Context, rawURL string, v Validators) (*Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, newErr(ReasonBadURL, rawURL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, newErr(ReasonBadURL, rawURL, fmt.Errorf("unsupported scheme %q (only http and https are fetched)", u.Scheme))
	}
	if u.Host == "" {
		return nil, newErr(ReasonBadURL, rawURL, errors.New("no host"))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, newErr(ReasonBadURL, rawURL, err)
	}
	req.Header.Set("User-Agent", f.ua)
	req.Header.Set("Accept", acceptHeader)
	if v.ETag != "" {
		req.Header.Set("If-None-Match", v.ETag)
	}
	if v.LastModified != "" {
		req.Header.Set("If-Modified-Since", v.LastModified)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, newErr(classifyNetErr(err), rawURL, err)
	}
	defer resp.Body.Close()
	now := time.Now()

	res := &Response{
		URL:         resp.Request.URL.String(),
		Status:      resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
		Validators:  Validators{ETag: resp.Header.Get("ETag"), LastModified: resp.Header.Get("Last-Modified")},
		MaxAge:      maxAge(resp.Header.Get("Cache-Control")),
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		res.NotModified = true
		drain(resp.Body)
		return res, nil
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	default:
		drain(resp.Body)
		fe := &FetchError{URL: rawURL, Status: resp.StatusCode, Err: fmt.Errorf("HTTP %s", resp.Status)}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			fe.Reason = ReasonHTTP429
		case resp.StatusCode >= 500:
			fe.Reason = ReasonHTTP5xx
		case resp.StatusCode >= 400:
			fe.Reason = ReasonHTTP4xx
		default:
			fe.Reason = ReasonHTTP3xx
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			fe.RetryAfter = parseRetryAfter(resp.Header.Get("Retry-After"), now)
		}
		return nil, fe
	}
	if resp.ContentLength > f.maxBody {
		return nil, newErr(ReasonTooLarge, rawURL, fmt.Errorf("Content-Length %d over the %d byte cap", resp.ContentLength, f.maxBody))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBody+1))
	res.Bytes = int64(len(body))
	if err != nil {
		return nil, newErr(classifyNetErr(err), rawURL, fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > f.maxBody {
		return nil, newErr(ReasonTooLarge, rawURL, fmt.Errorf("body over the %d byte cap", f.maxBody))
	}
	body, err = decodeBody(body, res.ContentType, f.maxBody)
	if err != nil {
		return nil, withURL(err, rawURL)
	}
	res.Body = body
	return res, nil
}

// withURL fills the URL of a *FetchError that has none.
func withURL(err error, u string) error {
	var fe *FetchError
	if errors.As(err, &fe) && fe.URL == "" {
		fe.URL = u
	}
	return err
}

// drain reads a little of an unwanted body so the connection can be reused.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10)) }

// parseRetryAfter reads delay-seconds or an HTTP date; 0 when absent or bad.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		if n > int64(30*24*time.Hour/time.Second) {
			n = int64(30 * 24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return d.Round(time.Second)
		}
	}
	return 0
}

// maxAge reads max-age from a Cache-Control header (0 when absent, or
// no-cache/no-store).
func maxAge(cc string) time.Duration {
	for part := range strings.SplitSeq(cc, ",") {
		part = strings.TrimSpace(strings.ToLower(part))
		if v, ok := strings.CutPrefix(part, "max-age="); ok {
			n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
			if err == nil && n > 0 && n < int64(30*24*time.Hour/time.Second) {
				return time.Duration(n) * time.Second
			}
		}
	}
	return 0
}

// addrGuard is the SSRF guard, run on every address the dialer connects to.
type addrGuard struct{ allow []netip.Prefix }

func (g addrGuard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &blockedError{addr: address}
	}
	if !g.allowed(ap.Addr()) {
		return &blockedError{addr: ap.Addr().String()}
	}
	return nil
}

// blockedPrefixes are reserved ranges not covered by the netip predicates.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
	netip.MustParsePrefix("100::/64"),        // discard-only
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("2001::/32"),       // Teredo (embeds other addresses)
	netip.MustParsePrefix("2002::/16"),       // 6to4 (embeds IPv4)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// allowed reports whether a feed may connect to a.
func (g addrGuard) allowed(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return false
	}
	for _, p := range blockedPrefixes {
		if p.Contains(a) {
			return false
		}
	}
	if nat64.Contains(a) {
		b := a.As16()
		return g.allowed(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return true
}
