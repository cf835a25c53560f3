package sources

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"
)

// Reasons are the fixed, metric-safe labels a failure is classified by.
const (
	ReasonBadURL       = "bad_url"         // unparseable URL or unsupported scheme
	ReasonDNS          = "dns"             // name resolution failed
	ReasonConnect      = "connect"         // TCP connect refused/unreachable
	ReasonTimeout      = "timeout"         // connect, header or body deadline
	ReasonTLS          = "tls"             // handshake or certificate failure
	ReasonNetwork      = "network"         // other I/O error (reset, EOF mid-body)
	ReasonBlocked      = "blocked_address" // SSRF guard refused the address
	ReasonRedirectLoop = "redirect_loop"   // too many redirects
	ReasonHTTP3xx      = "http_3xx"        // redirect without usable Location
	ReasonHTTP4xx      = "http_4xx"
	ReasonHTTP429      = "http_429"
	ReasonHTTP5xx      = "http_5xx"
	ReasonTooLarge     = "too_large" // body over the size cap
	ReasonCharset      = "charset"   // undecodable or unknown charset
	ReasonNotAFeed     = "not_a_feed"
	ReasonParse        = "parse"    // looked like a feed, did not parse
	ReasonNotText      = "not_text" // local file is binary
	ReasonIO           = "io"       // local file could not be read
	ReasonPublish      = "publish"  // JetStream publish failed
	ReasonState        = "state"    // feed state could not be saved
	ReasonCanceled     = "canceled"
	ReasonUnknown      = "unknown"
)

// FetchError is a failed fetch, parse or poll, classified by Reason.
type FetchError struct {
	Reason string
	URL    string
	// Status is the HTTP status, 0 when no response was received.
	Status int
	// RetryAfter is the server's Retry-After on 429/503, else 0.
	RetryAfter time.Duration
	Err        error
}

func (e *FetchError) Error() string {
	s := e.Reason
	if e.URL != "" {
		s += " " + Redact(e.URL)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	if e.RetryAfter > 0 {
		s += fmt.Sprintf(" (retry after %s)", e.RetryAfter)
	}
	return s
}

func (e *FetchError) Unwrap() error { return e.Err }

func newErr(reason, url string, err error) *FetchError {
	return &FetchError{Reason: reason, URL: url, Err: err}
}

// ReasonOf returns the reason label of err: the Reason of the FetchError it
// wraps, else a classification of common network errors, else "unknown".
// It returns "" for a nil error.
func ReasonOf(err error) string {
	if err == nil {
		return ""
	}
	var fe *FetchError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return classifyNetErr(err)
}

// blockedError is returned by the dialer's Control hook.
type blockedError struct{ addr string }

func (e *blockedError) Error() string {
	return fmt.Sprintf("address %s is not allowed (loopback, private, link-local, multicast or reserved; see AllowNetworks)", e.addr)
}

// redirectError is returned by CheckRedirect.
type redirectError struct{ reason, msg string }

func (e *redirectError) Error() string { return e.msg }

// classifyNetErr maps a transport error to a reason.
func classifyNetErr(err error) string {
	var be *blockedError
	var re *redirectError
	var dnsErr *net.DNSError
	var certInv x509.CertificateInvalidError
	var unkAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var verErr *tls.CertificateVerificationError
	var recErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &be):
		return ReasonBlocked
	case errors.As(err, &re):
		return re.reason
	case errors.Is(err, context.Canceled):
		return ReasonCanceled
	case errors.Is(err, context.DeadlineExceeded):
		return ReasonTimeout
	case strings.Contains(err.Error(), "server response headers exceeded"):
		// net/http has no typed error for MaxResponseHeaderBytes.
		return ReasonTooLarge
	case errors.As(err, &dnsErr):
		if dnsErr.IsTimeout {
			return ReasonTimeout
		}
		return ReasonDNS
	case errors.As(err, &certInv), errors.As(err, &unkAuth), errors.As(err, &hostErr),
		errors.As(err, &verErr), errors.As(err, &recErr), errors.As(err, &alertErr):
		return ReasonTLS
	case errors.As(err, &netErr) && netErr.Timeout():
		return ReasonTimeout
	case errors.As(err, &opErr) && opErr.Op == "dial":
		return ReasonConnect
	case errors.As(err, &opErr):
		return ReasonNetwork
	}
	return ReasonUnknown
}

// Redact hides the password of a URL with credentials
// (https://user:secret@host/feed becomes https://user:xxxxx@host/feed), so
// logs, errors and metrics never carry it.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	return u.Redacted()
}
