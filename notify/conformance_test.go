package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// fault is what a fake destination does with the next request.
type fault int

const (
	accept     fault = iota
	transient5       // HTTP 500 / SMTP 451
	rateLimit        // HTTP 429 Retry-After: 1 / SMTP 421
	hang             // no answer until the client gives up
	reject           // HTTP 400 / SMTP 550
)

type received struct {
	body string
	hdr  http.Header
}

// fakeDest is the state every fake destination server shares: faults to
// apply in order, then accept; what was accepted; when requests came.
type fakeDest struct {
	mu       sync.Mutex
	faults   []fault
	got      []received
	arrivals []time.Time
	delay    time.Duration
}

func (f *fakeDest) next() fault {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.arrivals = append(f.arrivals, time.Now())
	if len(f.faults) == 0 {
		return accept
	}
	x := f.faults[0]
	f.faults = f.faults[1:]
	return x
}

func (f *fakeDest) accept(r received) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, r)
}

func (f *fakeDest) accepted() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.got...)
}

func (f *fakeDest) times() []time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Time(nil), f.arrivals...)
}

// kind is one destination type under the conformance suite.
type kind struct {
	name       string
	retryAfter bool // the protocol can say when to retry
	serve      func(t *testing.T, l net.Listener, f *fakeDest)
	dest       func(addr string) Destination
	check      func(t *testing.T, a pipeline.Alert, r received)
}

const secretToken = "T0KEN-s3cr3t-9f8e7d"

func serveHTTP(t *testing.T, l net.Listener, f *fakeDest) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch f.next() {
		case transient5:
			http.Error(w, "boom", http.StatusInternalServerError)
		case rateLimit:
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case hang:
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case reject:
			http.Error(w, "invalid_token", http.StatusBadRequest)
		default:
			if f.delay > 0 {
				time.Sleep(f.delay) // a slow destination, not synchronisation
			}
			f.accept(received{body: string(body), hdr: r.Header.Clone()})
			_, _ = io.WriteString(w, "ok")
		}
	}))
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
}

// smtpBackend is a real SMTP server (go-smtp) with PLAIN auth.
type smtpBackend struct{ f *fakeDest }

type smtpSession struct {
	f    *fakeDest
	auth bool
}

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{f: b.f}, nil }
func (s *smtpSession) AuthMechanisms() []string                   { return []string{sasl.Plain} }
func (s *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "wirewatch" || pass != "pw-"+secretToken {
			return errors.New("bad credentials")
		}
		s.auth = true
		return nil
	}), nil
}
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	if !s.auth {
		return smtp.ErrAuthRequired
	}
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	body, _ := io.ReadAll(r)
	switch s.f.next() {
	case transient5:
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	case rateLimit:
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 7, 0}, Message: "too many messages"}
	case hang:
		<-time.After(2 * time.Second) // the client has given up by then
		return &smtp.SMTPError{Code: 451, Message: "late"}
	case reject:
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	s.f.accept(received{body: string(body)})
	return nil
}

func serveSMTP(t *testing.T, l net.Listener, f *fakeDest) {
	srv := smtp.NewServer(smtpBackend{f})
	srv.Domain, srv.AllowInsecureAuth = "localhost", true
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
}

var kinds = []kind{
	{
		name: "slack", retryAfter: true, serve: serveHTTP,
		dest: func(addr string) Destination {
			return &Slack{WebhookURL: "http://" + addr + "/services/T000/B000/" + secretToken}
		},
		check: checkSlack,
	},
	{
		name: "webhook", retryAfter: true, serve: serveHTTP,
		dest: func(addr string) Destination {
			return &Webhook{URL: "http://" + addr + "/hook?token=" + secretToken, Secret: []byte("sign-" + secretToken)}
		},
		check: checkWebhook,
	},
	{
		name: "email", serve: serveSMTP,
		dest: func(addr string) Destination {
			host, port, _ := net.SplitHostPort(addr)
			var p int
			fmt.Sscan(port, &p)
			return &Email{Host: host, Port: p, TLS: "none", Username: "wirewatch", Password: "pw-" + secretToken,
				From: "wirewatch@example.org", To: []string{"analyst@example.org"}}
		},
		check: checkEmail,
	},
}

// nastyTitle tries every trick: Slack pings and links, HTML, and a
// header injection.
const nastyTitle = "Ceasefire talks <!channel> @here & <b>bold</b> <https://evil.example|click>\r\nBcc: evil@example.org"

func testAlert(article, topic string) pipeline.Alert {
	return pipeline.Alert{
		Version: 1, ID: pipeline.AlertID(article, topic), Topic: topic, Score: 0.9, Severity: "normal",
		Matches: []pipeline.Match{{Term: "ceasefire*", Text: "Ceasefire", Field: "title", Start: 0, End: 9}},
		Created: time.Now(), Topics: []string{"ceasefire", "peace-talks"},
		Article: pipeline.AlertArticle{ID: article, URL: "https://news.example/" + article, Title: nastyTitle,
			Feed: "Wire Service Europe", Published: time.Now().Add(-time.Minute), Language: "en",
			Entities: []pipeline.Entity{{Type: "place", Name: "Geneva"}}},
		Story: &pipeline.StoryRef{ID: "story-" + article, Sources: 3, FirstSeen: time.Now()},
	}
}

func checkSlack(t *testing.T, a pipeline.Alert, r received) {
	t.Helper()
	var msg struct {
		Text   string            `json:"text"`
		Blocks []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal([]byte(r.body), &msg); err != nil {
		t.Fatalf("slack body is not JSON: %v", err)
	}
	if len(msg.Blocks) < 2 {
		t.Fatalf("want Block Kit blocks, got %s", r.body)
	}
	var all strings.Builder
	all.WriteString(msg.Text)
	for _, b := range msg.Blocks {
		var v any
		_ = json.Unmarshal(b, &v)
		collectStrings(v, &all)
	}
	s := all.String()
	for _, want := range []string{"<" + a.Article.URL + "|", "Wire Service Europe", "ceasefire, peace-talks", "3 sources", "“Ceasefire”", "&lt;b&gt;bold", "<!date^"} {
		if !strings.Contains(s, want) {
			t.Errorf("slack message lacks %q:\n%s", want, s)
		}
	}
	for _, bad := range []string{"<!channel>", "@here", "<https://evil", "<b>", "\n"} {
		if strings.Contains(s, bad) {
			t.Errorf("slack message contains %q:\n%s", bad, s)
		}
	}
}

func collectStrings(v any, b *strings.Builder) {
	switch x := v.(type) {
	case string:
		b.WriteString(x + "\t")
	case []any:
		for _, e := range x {
			collectStrings(e, b)
		}
	case map[string]any:
		for _, e := range x {
			collectStrings(e, b)
		}
	}
}

func checkWebhook(t *testing.T, a pipeline.Alert, r received) {
	t.Helper()
	var p WebhookPayload
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("webhook body is not JSON: %v", err)
	}
	if p.Version != 1 || p.Type != "alert" || p.Subscription != "desk" || p.ID == "" || p.SentAt.IsZero() {
		t.Errorf("envelope = %+v", p)
	}
	if p.Alert.Article.Title != a.Article.Title || p.Alert.Article.URL != a.Article.URL || p.Alert.Story == nil || p.Alert.Story.Sources != 3 {
		t.Errorf("alert = %+v", p.Alert)
	}
	if r.hdr.Get(HeaderDelivery) != p.ID {
		t.Errorf("delivery header %q, body id %q", r.hdr.Get(HeaderDelivery), p.ID)
	}
	if !Verify([]byte("sign-"+secretToken), r.hdr.Get(HeaderTimestamp), r.hdr.Get(HeaderSignature), []byte(r.body), time.Now(), 5*time.Minute) {
		t.Errorf("signature %q does not verify", r.hdr.Get(HeaderSignature))
	}
}

func checkEmail(t *testing.T, a pipeline.Alert, r received) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(r.body))
	if err != nil {
		t.Fatalf("not a mail: %v\n%s", err, r.body)
	}
	subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil || !strings.Contains(subj, "Ceasefire talks") || strings.ContainsAny(subj, "\r\n") {
		t.Errorf("subject %q (%v)", subj, err)
	}
	if msg.Header.Get("Bcc") != "" {
		t.Errorf("header injection: Bcc = %q", msg.Header.Get("Bcc"))
	}
	if id := msg.Header.Get("Message-ID"); !strings.HasPrefix(id, "<") || !strings.HasSuffix(id, "@wirewatch>") {
		t.Errorf("Message-ID %q", id)
	}
	if _, err := msg.Header.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		mt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[mt] = string(b)
	}
	text, html := parts["text/plain"], parts["text/html"]
	for _, want := range []string{a.Article.URL, "Wire Service Europe", "ceasefire, peace-talks", "3 sources"} {
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("mail lacks %q:\ntext: %s\nhtml: %s", want, text, html)
		}
	}
	if !strings.Contains(html, "&lt;b&gt;bold") || strings.Contains(html, "<b>bold") || strings.Contains(html, "<https://evil") {
		t.Errorf("HTML part is not escaped:\n%s", html)
	}
}

// rig is a notifier under test with its NATS server.
type rig struct {
	t    *testing.T
	js   jetstream.JetStream
	res  *Resources
	reg  *prometheus.Registry
	m    *metrics.Metrics
	logs *testkit.SyncBuffer
}

func newRig(t *testing.T) *rig {
	t.Helper()
	_, _, js := natsutil.StartTestServer(t)
	ctx := t.Context()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	res, err := EnsureResources(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	return &rig{t: t, js: js, res: res, reg: reg, m: metrics.New(reg), logs: &testkit.SyncBuffer{}}
}

func testSub(d Destination) Subscription {
	return Subscription{
		Name: "desk", Topics: []string{"ceasefire", "peace-talks"}, Destination: d,
		Timeout: 300 * time.Millisecond, Attempts: 5, Backoff: 50 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Lease: 800 * time.Millisecond, AckWait: time.Second,
	}
}

// start runs a notifier for sub until the test ends or the returned stop
// is called; stop waits for Run to return.
func (r *rig) start(sub Subscription, crash func(string) bool) (stop func(), done <-chan struct{}) {
	r.t.Helper()
	n, err := New(r.t.Context(), r.js, r.res, sub, Options{Metrics: r.m, Logger: slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		r.t.Fatal(err)
	}
	n.crash = crash
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		if err := n.Run(ctx); err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}()
	stop = func() { cancel(); <-ch }
	r.t.Cleanup(stop)
	return stop, ch
}

func (r *rig) publish(a pipeline.Alert) {
	r.t.Helper()
	data, _ := json.Marshal(a)
	// No Nats-Msg-Id: a repeat is stored again, as a redelivery would be.
	if _, err := r.js.PublishMsg(r.t.Context(), &nats.Msg{Subject: natsutil.SubjectAlert + "." + a.Topic + ".normal", Data: data}); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rig) metric(name string, labels map[string]string) float64 {
	v, err := metrics.Sum(r.reg, name, labels)
	if err != nil {
		r.t.Fatal(err)
	}
	return v
}

// settled waits until the subscription's consumer has nothing pending or
// unacknowledged: every alert is finished with.
func (r *rig) settled(name string) {
	r.t.Helper()
	testkit.WaitFor(r.t, 15*time.Second, "consumer "+Durable(name)+" to settle", func() (bool, string) {
		c, err := r.js.Consumer(r.t.Context(), natsutil.StreamAlerts, Durable(name))
		if err != nil {
			return false, err.Error()
		}
		info, err := c.Info(r.t.Context())
		if err != nil {
			return false, err.Error()
		}
		return info.NumPending == 0 && info.NumAckPending == 0, fmt.Sprintf("%d pending, %d unacknowledged", info.NumPending, info.NumAckPending)
	})
}

func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestConformance runs the same delivery guarantees against every
// destination type, each with a real server: httptest for Slack and
// webhooks, go-smtp for email.
func TestConformance(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			// One live destination, checked once delivered.
			once := func(t *testing.T, f *fakeDest, sub func(*Subscription), publish func(*rig)) (*rig, []received) {
				t.Helper()
				r := newRig(t)
				l := listen(t)
				k.serve(t, l, f)
				s := testSub(k.dest(l.Addr().String()))
				if sub != nil {
					sub(&s)
				}
				r.start(s, nil)
				publish(r)
				testkit.WaitFor(t, 10*time.Second, "a delivery", func() (bool, string) { return len(f.accepted()) >= 1, fmt.Sprintf("%d accepted", len(f.accepted())) })
				r.settled(s.Name)
				got := f.accepted()
				if len(got) != 1 {
					t.Fatalf("delivered %d times, want once", len(got))
				}
				return r, got
			}
			one := func(r *rig) { r.publish(testAlert("a1", "ceasefire")) }

			t.Run("delivered once, fields and escaping", func(t *testing.T) {
				r, got := once(t, &fakeDest{}, nil, one)
				k.check(t, testAlert("a1", "ceasefire"), got[0])
				if v := r.metric("wirewatch_notifications_sent_total", map[string]string{"subscription": "desk", "type": k.name}); v != 1 {
					t.Errorf("sent metric = %v", v)
				}
				if v := r.metric("wirewatch_notification_latency_seconds", nil); v != 1 {
					t.Errorf("latency observations = %v", v)
				}
			})
			t.Run("server error then success", func(t *testing.T) {
				r, _ := once(t, &fakeDest{faults: []fault{transient5, transient5}}, nil, one)
				if v := r.metric("wirewatch_notifications_failed_total", map[string]string{"type": k.name}); v != 2 {
					t.Errorf("failed attempts = %v, want 2", v)
				}
			})
			t.Run("rate limited", func(t *testing.T) {
				f := &fakeDest{faults: []fault{rateLimit}}
				once(t, f, nil, one)
				if ts := f.times(); k.retryAfter && ts[1].Sub(ts[0]) < 900*time.Millisecond {
					t.Errorf("retried %v after a 429 with Retry-After: 1", ts[1].Sub(ts[0]))
				}
			})
			t.Run("timeout retried", func(t *testing.T) {
				r, _ := once(t, &fakeDest{faults: []fault{hang}}, nil, one)
				if v := r.metric("wirewatch_notifications_failed_total", map[string]string{"reason": "timeout"}); v != 1 {
					t.Errorf("timeouts = %v, want 1", v)
				}
			})
			t.Run("redelivered alert sent once", func(t *testing.T) {
				r, _ := once(t, &fakeDest{}, nil, func(r *rig) {
					r.publish(testAlert("a1", "ceasefire"))
					r.publish(testAlert("a1", "ceasefire"))
				})
				if v := r.metric("wirewatch_notifications_skipped_total", map[string]string{"reason": "already_sent"}); v != 1 {
					t.Errorf("skipped as already sent = %v, want 1", v)
				}
			})
			t.Run("two topics one notification", func(t *testing.T) {
				once(t, &fakeDest{}, nil, func(r *rig) {
					r.publish(testAlert("a1", "ceasefire"))
					r.publish(testAlert("a1", "peace-talks"))
				})
			})
			t.Run("down then back", func(t *testing.T) {
				r := newRig(t)
				l := listen(t)
				addr := l.Addr().String()
				l.Close() // refused until the server comes up
				s := testSub(k.dest(addr))
				s.Attempts = 1000
				r.start(s, nil)
				r.publish(testAlert("a1", "ceasefire"))
				testkit.WaitFor(t, 10*time.Second, "refused attempts", func() (bool, string) {
					return r.metric("wirewatch_notifications_failed_total", map[string]string{"reason": "connect"}) >= 3, ""
				})
				l2, err := net.Listen("tcp", addr)
				if err != nil {
					t.Skipf("port %s taken meanwhile: %v", addr, err)
				}
				f := &fakeDest{}
				k.serve(t, l2, f)
				testkit.WaitFor(t, 10*time.Second, "a delivery", func() (bool, string) { return len(f.accepted()) >= 1, fmt.Sprintf("%d accepted", len(f.accepted())) })
				r.settled(s.Name)
				if n := len(f.accepted()); n != 1 {
					t.Fatalf("delivered %d times", n)
				}
			})
			t.Run("rejected is dead-lettered", func(t *testing.T) {
				r := newRig(t)
				l := listen(t)
				f := &fakeDest{faults: []fault{reject}}
				k.serve(t, l, f)
				s := testSub(k.dest(l.Addr().String()))
				r.start(s, nil)
				r.publish(testAlert("a1", "ceasefire"))
				r.publish(testAlert("a1", "peace-talks")) // same article: not tried again
				testkit.WaitFor(t, 10*time.Second, "a dead letter", func() (bool, string) {
					return r.metric("wirewatch_notification_dead_letters_total", map[string]string{"subscription": "desk"}) == 1, ""
				})
				r.settled(s.Name)
				if n := len(f.times()); n != 1 || len(f.accepted()) != 0 {
					t.Errorf("%d attempts, %d accepted; want 1, 0", n, len(f.accepted()))
				}
				dl, err := r.res.DeadLetter.GetLastMsgForSubject(t.Context(), SubjectDeadLetter+".desk")
				if err != nil {
					t.Fatal(err)
				}
				var d DeadLetter
				if err := json.Unmarshal(dl.Data, &d); err != nil || d.Alert.Article.ID != "a1" || d.Reason == "" || d.Attempts != 1 {
					t.Errorf("dead letter %+v (%v)", d, err)
				}
				// Secrets stay out of errors, logs and dead letters.
				for what, s := range map[string]string{"dead letter": string(dl.Data), "logs": r.logs.String()} {
					if strings.Contains(s, secretToken) {
						t.Errorf("%s contains the secret: %s", what, s)
					}
				}
				if !strings.Contains(r.logs.String(), "dead-lettered") {
					t.Errorf("no log line for the dead letter:\n%s", r.logs.String())
				}
			})
		})
	}
}
