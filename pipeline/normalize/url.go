package normalize

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ErrInvalidURL is wrapped by every error CanonicalURL returns.
var ErrInvalidURL = errors.New("invalid URL")

// trackingParams are query parameters that only say how a reader arrived
// (campaigns, click ids, referrers); keys are compared in lower case.
var trackingParams = map[string]bool{
	"fbclid": true, "gclid": true, "gclsrc": true, "dclid": true,
	"gbraid": true, "wbraid": true, "msclkid": true, "yclid": true,
	"mc_cid": true, "mc_eid": true, "igshid": true, "ocid": true,
	"cmpid": true, "cmp": true, "icid": true, "ref": true, "ref_src": true,
	"ref_url": true, "referrer": true, "_ga": true, "_gl": true, "spm": true,
	"smid": true, "partner": true, "mkt_tok": true, "_hsenc": true,
	"_hsmi": true, "xtor": true, "__twitter_impression": true,
	"guccounter": true, "guce_referrer": true, "guce_referrer_sig": true,
	"s_cid": true, "sr_share": true, "wt.mc_id": true, "fb_action_ids": true,
	"fb_action_types": true, "fb_ref": true, "fb_source": true,
	"ns_mchannel": true, "ns_source": true, "ns_campaign": true,
	"ns_linkname": true, "ns_fee": true, "oly_anon_id": true,
	"oly_enc_id": true, "vero_id": true, "rss": true,
}

// isTrackingParam reports whether the (decoded) query key k is tracking.
func isTrackingParam(k string) bool {
	k = strings.ToLower(k)
	return strings.HasPrefix(k, "utm_") || strings.HasPrefix(k, "at_") || trackingParams[k]
}

// CanonicalURL returns the canonical form of an absolute http(s) URL, so
// that the same article reached through different links compares equal:
//
//   - scheme and host in lower case; a non-ASCII host in punycode (IDNA);
//     a trailing dot of the host removed;
//   - the default port (80, 443) dropped; user info and fragment dropped;
//   - the path with duplicate slashes collapsed and dot segments resolved,
//     "/" when empty, its trailing slash kept as it was; percent escapes in
//     upper case, escapes of unreserved characters decoded;
//   - tracking parameters removed (utm_*, at_*, fbclid, gclid, ref, ...)
//     and the remaining ones sorted by key (stable: repeated keys keep
//     their order), their text otherwise kept.
//
// A relative, non-http(s) or unparseable URL is an error that names it and
// wraps ErrInvalidURL. CanonicalURL is idempotent.
func CanonicalURL(raw string) (string, error) {
	fail := func(format string, args ...any) (string, error) {
		return "", fmt.Errorf("canonical URL %q: %w: %s", raw, ErrInvalidURL, fmt.Sprintf(format, args...))
	}
	s := strings.TrimSpace(raw)
	if s == "" {
		return fail("empty")
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("canonical URL %q: %w: %w", raw, ErrInvalidURL, err)
	}
	if u.Scheme == "" || u.Opaque != "" || u.Host == "" {
		return fail("not an absolute URL")
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return fail("scheme %q is not http or https", u.Scheme)
	}
	host, err := canonicalHost(u.Hostname())
	if err != nil {
		return fail("%v", err)
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(scheme)
	b.WriteString("://")
	b.WriteString(host)
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n > 65535 {
			return fail("bad port %q", p)
		}
		if !(scheme == "http" && n == 80 || scheme == "https" && n == 443) {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(n))
		}
	}
	b.WriteString(canonicalPath(u.EscapedPath()))
	if q := canonicalQuery(u.RawQuery); q != "" {
		b.WriteByte('?')
		b.WriteString(q)
	}
	return b.String(), nil
}

// canonicalHost lower-cases a host name, converts a non-ASCII one to
// punycode, and rejects characters a host name cannot have.
func canonicalHost(h string) (string, error) {
	if strings.Contains(h, ":") { // IPv6 literal
		if strings.Contains(h, "%") {
			return "", errors.New("IPv6 zone in host")
		}
		for i := 0; i < len(h); i++ {
			if c := h[i] | 0x20; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || h[i] == ':' || h[i] == '.') {
				return "", fmt.Errorf("bad IPv6 host %q", h)
			}
		}
		return "[" + strings.ToLower(h) + "]", nil
	}
	h = strings.TrimSuffix(h, ".")
	if h == "" {
		return "", errors.New("empty host")
	}
	ascii := true
	for i := 0; i < len(h); i++ {
		if h[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if !ascii {
		a, err := idna.Lookup.ToASCII(h)
		if err != nil {
			return "", fmt.Errorf("host %q: %w", h, err)
		}
		h = a
	}
	h = strings.ToLower(h)
	for i := 0; i < len(h); i++ {
		if c := h[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_') {
			return "", fmt.Errorf("bad character %q in host %q", c, h)
		}
	}
	if h == "" || strings.HasPrefix(h, ".") || strings.HasSuffix(h, ".") || strings.Contains(h, "..") {
		return "", fmt.Errorf("bad host %q", h)
	}
	return h, nil
}

// canonicalPath normalises an escaped path: percent escapes, duplicate
// slashes, dot segments; "" becomes "/".
func canonicalPath(p string) string {
	p = normalizeEscapes(p, false)
	if strings.Contains(p, "//") {
		var b strings.Builder
		b.Grow(len(p))
		for i := 0; i < len(p); i++ {
			if p[i] == '/' && i > 0 && p[i-1] == '/' {
				continue
			}
			b.WriteByte(p[i])
		}
		p = b.String()
	}
	if p == "" {
		return "/"
	}
	if strings.Contains(p, "/.") || strings.HasPrefix(p, ".") {
		p = removeDotSegments(p)
	}
	if p == "" || p[0] != '/' {
		p = "/" + p
	}
	return p
}

// removeDotSegments is RFC 3986 section 5.2.4 over a path without "//".
func removeDotSegments(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	trailing := false
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			trailing = last
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			trailing = last
		default:
			out = append(out, s)
			trailing = false
		}
	}
	r := strings.Join(out, "/")
	if trailing && !strings.HasSuffix(r, "/") {
		r += "/"
	}
	return r
}

// canonicalQuery drops empty and tracking parameters from a raw query and
// sorts the rest by key.
func canonicalQuery(q string) string {
	if q == "" {
		return ""
	}
	type param struct{ key, text string }
	var params []param
	for pair := range strings.SplitSeq(q, "&") {
		if pair == "" {
			continue
		}
		pair = normalizeEscapes(pair, true)
		k, _, _ := strings.Cut(pair, "=")
		dk, err := url.QueryUnescape(k)
		if err != nil {
			dk = k
		}
		if isTrackingParam(dk) {
			continue
		}
		params = append(params, param{key: k, text: pair})
	}
	slices.SortStableFunc(params, func(a, b param) int { return strings.Compare(a.key, b.key) })
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.text)
	}
	return b.String()
}

// normalizeEscapes upper-cases percent escapes, decodes those of
// unreserved characters, and (in a query) escapes bytes that may not
// appear there, including a "%" that starts no valid escape.
func normalizeEscapes(s string, query bool) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || query && !queryByteOK(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	const hexdigits = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			v := unhex(s[i+1])<<4 | unhex(s[i+2])
			if isUnreserved(v) {
				b.WriteByte(v)
			} else {
				b.WriteByte('%')
				b.WriteByte(hexdigits[v>>4])
				b.WriteByte(hexdigits[v&15])
			}
			i += 2
			continue
		}
		if query && (c == '%' || !queryByteOK(c)) {
			b.WriteByte('%')
			b.WriteByte(hexdigits[c>>4])
			b.WriteByte(hexdigits[c&15])
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

func isUnreserved(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// queryByteOK reports bytes allowed unescaped in a query (RFC 3986 pchar,
// "/" and "?"), plus "%" which starts an escape.
func queryByteOK(c byte) bool {
	if isUnreserved(c) {
		return true
	}
	switch c {
	case '!', '$', '&', '\'', '(', ')', '*', '+', ',', ';', '=', ':', '@', '/', '?', '%':
		return true
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || (c|0x20) >= 'a' && (c|0x20) <= 'f'
}

func unhex(c byte) byte {
	if c <= '9' {
		return c - '0'
	}
	return (c | 0x20) - 'a' + 10
}
