package notify

import (
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/notify/schedule"
)

// fakeClock is a controllable clock: Now stands still until Advance, which
// fires the After channels that came due.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{c.now.Add(d), ch})
	return ch
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			kept = append(kept, w)
		}
	}
	c.waiters = kept
}

// startClocked is rig.start with the fake clock.
func (r *rig) startClocked(sub Subscription, c *fakeClock) {
	r.t.Helper()
	n, err := New(r.t.Context(), r.js, r.res, sub, Options{Metrics: r.m, Now: c.Now, After: c.After})
	if err != nil {
		r.t.Fatal(err)
	}
	done := make(chan struct{})
	ctx, cancel := contextWithCancel()
	go func() {
		defer close(done)
		if err := n.Run(ctx); err != nil {
			r.t.Errorf("Run: %v", err)
		}
	}()
	r.t.Cleanup(func() { cancel(); <-done })
}

// A digest every 30m, against every destination type: alerts are
// collected (an article matching two topics once), nothing is sent
// before the period ends, then exactly one message with each article once.
func TestDigestConformance(t *testing.T) {
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			l := listen(t)
			f := &fakeDest{}
			k.serve(t, l, f)
			clock := &fakeClock{now: time.Date(2026, 1, 6, 10, 5, 0, 0, time.UTC)}
			s := testSub(k.dest(l.Addr().String()))
			s.Digest, _ = schedule.Parse("every 30m")
			r.startClocked(s, clock)
			for _, a := range []string{"a1", "a2", "a3"} {
				r.publish(testAlert(a, "ceasefire"))
			}
			r.publish(testAlert("a1", "peace-talks")) // same article, other topic
			late := testAlert("a4", "peace-talks")
			late.Story = nil
			r.publish(late)
			testkit.WaitFor(t, 10*time.Second, "four articles collected", func() (bool, string) {
				return r.metric("wirewatch_notifications_folded_total", map[string]string{"reason": "digest"}) == 4, ""
			})
			r.settled(s.Name)
			testkit.WaitFor(t, 5*time.Second, "the digest loop to wait", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
			if n := len(f.times()); n != 0 {
				t.Fatalf("%d messages before the period ended", n)
			}
			clock.Advance(25 * time.Minute) // 10:30, the end of the period
			testkit.WaitFor(t, 10*time.Second, "the digest", func() (bool, string) { return len(f.accepted()) >= 1, fmt.Sprintf("%d accepted", len(f.accepted())) })
			testkit.WaitFor(t, 5*time.Second, "the digest loop to wait again", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
			got := f.accepted()
			if len(got) != 1 {
				t.Fatalf("%d messages, want one digest", len(got))
			}
			body := got[0].body
			if k.name == "email" {
				body = decodeMail(t, body)
			}
			for _, a := range []string{"a1", "a2", "a3", "a4"} {
				if c := strings.Count(body, "https://news.example/"+a+"\""); k.name != "email" && c != 1 && !strings.Contains(body, "https://news.example/"+a+"|") {
					t.Errorf("article %s appears %d times:\n%s", a, c, body)
				}
				if !strings.Contains(body, "https://news.example/"+a) {
					t.Errorf("article %s missing:\n%s", a, body)
				}
			}
			if k.name != "email" && (strings.Contains(body, "<!channel>") || strings.Contains(body, "<b>bold")) || strings.Contains(body, "<b>bold</b></a>") {
				t.Errorf("digest not escaped:\n%s", body)
			}
			if v := r.metric("wirewatch_notification_digest_size", map[string]string{"type": k.name}); v != 1 {
				t.Errorf("digest size observations = %v, want 1", v)
			}
			// A later period with nothing collected sends nothing; a
			// redelivered alert of the sent digest is not collected again.
			r.publish(testAlert("a2", "ceasefire"))
			r.settled(s.Name)
			clock.Advance(30 * time.Minute)
			testkit.WaitFor(t, 5*time.Second, "the digest loop to wait again", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
			if n := len(f.accepted()); n != 1 {
				t.Errorf("%d messages after an empty period, want 1", n)
			}
			if v := r.metric("wirewatch_notifications_skipped_total", map[string]string{"reason": "already_sent"}); v != 1 {
				t.Errorf("redelivery skipped as already sent = %v, want 1", v)
			}
		})
	}
}

// A notifier that stops with alerts collected loses none: its successor
// sends them when the period ends.
func TestDigestSurvivesRestart(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	l := listen(t)
	f := &fakeDest{}
	serveHTTP(t, l, f)
	s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
	s.Digest, _ = schedule.Parse("daily 07:00 Europe/London")
	// The alerts are collected at the real time; the successor's clock
	// starts a minute before the next 07:00 in London.
	clock := &fakeClock{now: s.Digest.Next(time.Now()).Add(-time.Minute)}
	stop, _ := r.start(s, nil) // real clock: nothing is due until 07:00
	r.publish(testAlert("a1", "ceasefire"))
	r.publish(testAlert("a2", "ceasefire"))
	testkit.WaitFor(t, 10*time.Second, "collected", func() (bool, string) {
		return r.metric("wirewatch_notifications_folded_total", nil) == 2, ""
	})
	stop()
	r.startClocked(s, clock)
	testkit.WaitFor(t, 5*time.Second, "the digest loop to wait", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
	clock.Advance(time.Minute)
	testkit.WaitFor(t, 10*time.Second, "the digest", func() (bool, string) { return len(f.accepted()) == 1, fmt.Sprintf("%d accepted", len(f.accepted())) })
	b := f.accepted()[0].body
	if !strings.Contains(b, `"type":"digest"`) || !strings.Contains(b, "news.example/a1") || !strings.Contains(b, "news.example/a2") {
		t.Errorf("digest: %s", b)
	}
}

// Beyond rate_limit in a window, alerts fold into one digest sent when the
// window ends; none is dropped.
func TestRateLimitFoldsIntoDigest(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	l := listen(t)
	f := &fakeDest{}
	serveHTTP(t, l, f)
	clock := &fakeClock{now: time.Date(2026, 1, 6, 10, 5, 0, 0, time.UTC)}
	s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
	s.RateLimit, _ = schedule.ParseRate("2/h")
	r.startClocked(s, clock)
	for i := range 5 {
		r.publish(testAlert(fmt.Sprintf("a%d", i), "ceasefire"))
	}
	testkit.WaitFor(t, 10*time.Second, "two sent, three folded", func() (bool, string) {
		return len(f.accepted()) == 2 && r.metric("wirewatch_notifications_folded_total", map[string]string{"reason": "rate_limit"}) == 3, ""
	})
	r.settled(s.Name)
	testkit.WaitFor(t, 5*time.Second, "the digest loop to wait", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
	clock.Advance(55 * time.Minute) // 11:00, the window ends
	testkit.WaitFor(t, 10*time.Second, "the digest", func() (bool, string) { return len(f.accepted()) == 3, fmt.Sprintf("%d accepted", len(f.accepted())) })
	d := f.accepted()[2].body
	if !strings.Contains(d, `"type":"digest"`) || !strings.Contains(d, `"reason":"rate_limit"`) || !strings.Contains(d, `"count":3`) {
		t.Errorf("digest: %s", d)
	}
	seen := map[string]int{}
	for _, g := range f.accepted() {
		for i := range 5 {
			if strings.Contains(g.body, fmt.Sprintf("news.example/a%d\"", i)) {
				seen[fmt.Sprintf("a%d", i)]++
			}
		}
	}
	for i := range 5 {
		if a := fmt.Sprintf("a%d", i); seen[a] != 1 {
			t.Errorf("article %s delivered %d times: %v", a, seen[a], seen)
		}
	}
}

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}

// decodeMail is the decoded text of every part of a mail.
func decodeMail(t *testing.T, raw string) string {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	_, params, _ := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	var b strings.Builder
	b.WriteString(subj + "\n")
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		body, _ := io.ReadAll(p)
		b.Write(body)
	}
	return b.String()
}
