package notify

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/wirewatch/wirewatch/internal/textcut"
)

// Error is a failed delivery, classified: Retryable ones are attempted
// again (after RetryAfter when the destination asked for it), the others
// are dead-lettered at once. Reason is a short label for metrics and logs
// (http_4xx, http_429, http_5xx, timeout, connect, network, tls, smtp_4xx,
// smtp_5xx, slack_api, encode). The message never holds a secret: URLs are
// reduced to their host.
type Error struct {
	Reason     string
	Retryable  bool
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string { return e.Reason + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func transient(reason string, err error) *Error {
	return &Error{Reason: reason, Retryable: true, Err: err}
}
func permanent(reason string, err error) *Error { return &Error{Reason: reason, Err: err} }

// classify turns any delivery error into an *Error. Errors the
// destinations did not classify themselves are transport errors.
func classify(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return classifyTransport(err)
}

// classifyHTTP is the one place HTTP answers are judged: 2xx is delivered
// (nil); 429 and 5xx are retried, 429 and 503 after their Retry-After; 408
// is a timeout; every other status is permanent. body is a short excerpt
// of the answer, for the error message.
func classifyHTTP(what string, resp *http.Response, body []byte, now time.Time) error {
	code := resp.StatusCode
	if code >= 200 && code < 300 {
		return nil
	}
	err := fmt.Errorf("%s answered %s: %q", what, resp.Status, textcut.Ellipsize(string(body), 200))
	switch {
	case code == http.StatusTooManyRequests:
		e := transient("http_429", err)
		e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
		return e
	case code == http.StatusRequestTimeout:
		return transient("timeout", err)
	case code >= 500:
		e := transient("http_5xx", err)
		if code == http.StatusServiceUnavailable {
			e.RetryAfter = retryAfter(resp.Header.Get("Retry-After"), now)
		}
		return e
	case code >= 400:
		return permanent("http_4xx", err)
	default:
		return permanent("http_3xx", err) // redirects are not followed: a webhook must answer itself
	}
}

// classifySMTP judges an SMTP reply: 4yz is transient, 5yz permanent.
func classifySMTP(err error) *Error {
	var te *textproto.Error
	if errors.As(err, &te) {
		if te.Code >= 400 && te.Code < 500 {
			return transient("smtp_4xx", err)
		}
		return permanent("smtp_5xx", err)
	}
	return classifyTransport(err)
}

// classifyTransport judges an error below the protocol: timeouts, refused
// or reset connections and DNS failures are transient; certificate errors
// are permanent. *url.Error is unwrapped so the URL (which may hold a
// token) is never in the message.
func classifyTransport(err error) *Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	var ce x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return transient("timeout", err)
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return transient("connect", err)
	case errors.As(err, &ce), errors.As(err, &ua), errors.As(err, &he):
		return permanent("tls", err)
	default:
		return transient("network", err)
	}
}

// retryAfter parses a Retry-After header: seconds or an HTTP date, at
// most a day (callers cap further).
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(min(s, 24*3600)) * time.Second // capped: a huge value must not overflow
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), 24*time.Hour)
	}
	return 0
}

// backoff is the delay before attempt n+1 after n failed attempts.
func backoff(n int, base, ceiling time.Duration) time.Duration {
	d := base
	for i := 1; i < n && d < ceiling; i++ {
		d *= 2
	}
	return min(d, ceiling)
}
