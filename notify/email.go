package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/textcut"
)

// Email sends one multipart (text and HTML) mail per notification.
type Email struct {
	Host     string
	Port     int
	TLS      string // starttls (default), tls, none
	Username string
	Password string // never logged
	From     string
	To       []string
	// RootCAs verifies the server (nil: the system pool).
	RootCAs *x509.CertPool
	Now     func() time.Time
}

// Type is "email".
func (e *Email) Type() string { return "email" }

// Send delivers one mail.
func (e *Email) Send(ctx context.Context, n *Notification) error {
	msg, err := e.message(n)
	if err != nil {
		return permanent("encode", err)
	}
	return e.deliver(ctx, msg)
}

func (e *Email) deliver(ctx context.Context, msg []byte) error {
	if err := e.send(ctx, msg); err != nil {
		ce := classifySMTP(err)
		ce.Err = fmt.Errorf("smtp %s:%d: %w", e.Host, e.port(), ce.Err)
		return ce
	}
	return nil
}

func (e *Email) port() int {
	switch {
	case e.Port > 0:
		return e.Port
	case e.TLS == "tls":
		return 465
	case e.TLS == "none":
		return 25
	}
	return 587
}

func (e *Email) from() string {
	if e.From != "" {
		return e.From
	}
	return "wirewatch@" + e.Host
}

func (e *Email) send(ctx context.Context, msg []byte) error {
	addr := net.JoinHostPort(e.Host, strconv.Itoa(e.port()))
	tlsCfg := &tls.Config{ServerName: e.Host, RootCAs: e.RootCAs, MinVersion: tls.VersionTLS12}
	var conn net.Conn
	var err error
	if e.TLS == "tls" {
		conn, err = (&tls.Dialer{Config: tlsCfg}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	c, err := smtp.NewClient(conn, e.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if e.TLS == "" || e.TLS == "starttls" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return permanent("tls", errors.New("the server does not offer STARTTLS (set smtp.tls: none only for a loopback relay)"))
		}
		if err := c.StartTLS(tlsCfg); err != nil {
			return err
		}
	}
	if e.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", e.Username, e.Password, e.Host)); err != nil {
			return err
		}
	}
	if err := c.Mail(e.from()); err != nil {
		return err
	}
	for _, to := range e.To {
		if err := c.Rcpt(to); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	_ = c.Quit() // the message is accepted once DATA is answered 250
	return nil
}

// headerSafe drops CR, LF and other control characters, so a title
// cannot add a header.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

var mailHTML = template.Must(template.New("mail").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
{{if .Test}}<p><em>Test from Wirewatch</em></p>{{end}}
<h2 style="margin:0"><a href="{{.URL}}">{{.Title}}</a></h2>
<p style="color:#555">{{.Feed}} · {{.When}} · topics: {{.Topics}}{{if .Story}} · story: {{.Story}}{{end}}</p>
{{if .Summary}}<p>{{.Summary}}</p>{{end}}
{{if .Terms}}<p style="color:#555">matched: {{range $i, $t := .Terms}}{{if $i}}, {{end}}“{{$t}}”{{end}}</p>{{end}}
</body></html>
`))

type mailView struct {
	Test                                      bool
	URL                                       template.URL
	Title, Feed, When, Topics, Story, Summary string
	Terms                                     []string
}

func (e *Email) message(n *Notification) ([]byte, error) {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	a := &n.Alert
	v := mailView{Test: n.Test, Title: a.Article.Title, Feed: a.Article.Feed, Summary: a.Article.Summary, Terms: matchedTerms(a, 8)}
	if u := slackURL(a.Article.URL); u != "" { // http(s) only
		v.URL = template.URL(a.Article.URL)
	}
	when := a.Article.Published
	if when.IsZero() {
		when = a.Created
	}
	v.When = when.UTC().Format("2006-01-02 15:04 MST")
	topics := a.Topics
	if len(topics) == 0 {
		topics = []string{a.Topic}
	}
	v.Topics = strings.Join(topics, ", ")
	if a.Story != nil {
		v.Story = strconv.Itoa(a.Story.Sources) + " sources"
		if a.Story.Breaking {
			v.Story += " (breaking)"
		}
	}
	subject := "[wirewatch] " + a.Topic + ": " + a.Article.Title
	if n.Test {
		subject = "[wirewatch] test: " + a.Article.Title
	}

	text := fmt.Sprintf("%s\n%s\n\n%s · %s · topics: %s", v.Title, a.Article.URL, v.Feed, v.When, v.Topics)
	if v.Story != "" {
		text += " · story: " + v.Story
	}
	if v.Summary != "" {
		text += "\n\n" + v.Summary
	}
	if len(v.Terms) > 0 {
		text += "\n\nmatched: " + strings.Join(v.Terms, ", ")
	}
	var html bytes.Buffer
	if err := mailHTML.Execute(&html, v); err != nil {
		return nil, fmt.Errorf("mail HTML: %w", err)
	}
	return e.compose(now(), n.ID, n.Subscription, subject, text+"\n", html.String())
}

// compose is a multipart/alternative mail of text and HTML bodies.
func (e *Email) compose(date time.Time, id, sub, subject, text, html string) ([]byte, error) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	h := func(k, val string) { fmt.Fprintf(&b, "%s: %s\r\n", k, val) }
	h("From", headerSafe(e.from()))
	h("To", headerSafe(strings.Join(e.To, ", ")))
	h("Subject", mime.QEncoding.Encode("utf-8", headerSafe(textcut.Ellipsize(subject, 250))))
	h("Date", date.Format(time.RFC1123Z))
	h("Message-ID", "<"+id+"@wirewatch>")
	h("MIME-Version", "1.0")
	h("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	h("X-Wirewatch-Subscription", headerSafe(sub))
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", html}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
