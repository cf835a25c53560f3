package notify

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// newHTTPClient is the client of the Slack and webhook destinations: no
// redirects (a redirect could carry the signed body elsewhere), the
// attempt's deadline comes from the context.
func newHTTPClient() *http.Client {
	return &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// postJSON posts body to rawURL and classifies the answer. Errors name
// what and the host only, never the URL's path or query, which may hold
// a token.
func postJSON(ctx context.Context, c *http.Client, what, rawURL string, body []byte, hdr http.Header) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, permanent("config", fmt.Errorf("%s: the URL does not parse", what))
	}
	where := what + " at " + u.Host
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, bytes.NewReader(body))
	if err != nil {
		return nil, permanent("config", fmt.Errorf("%s: bad request", where))
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "Wirewatch-Notify/1")
	}
	resp, err := c.Do(req)
	if err != nil {
		e := classifyTransport(err)
		e.Err = fmt.Errorf("POST to %s: %w", where, e.Err)
		return nil, e
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err := classifyHTTP(where, resp, answer, time.Now()); err != nil {
		return answer, err
	}
	return answer, nil
}
