package notify

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/internal/testkit"
)

// A notifier killed between recording "sent" and acking, or between
// claiming and sending, then restarted: each alert arrives exactly once.
func TestCrashAndRestartExactlyOnce(t *testing.T) {
	for _, point := range []string{"claimed", "recorded"} {
		t.Run(point, func(t *testing.T) {
			t.Parallel()
			r := newRig(t)
			l := listen(t)
			f := &fakeDest{}
			serveHTTP(t, l, f)
			s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
			_, done := r.start(s, func(p string) bool { return p == point })
			r.publish(testAlert("a1", "ceasefire"))
			testkit.WaitFor(t, 10*time.Second, "the notifier to crash", func() (bool, string) {
				select {
				case <-done:
					return true, ""
				default:
					return false, ""
				}
			})
			r.start(s, nil) // the restarted daemon
			testkit.WaitFor(t, 10*time.Second, "a delivery", func() (bool, string) { return len(f.accepted()) >= 1, fmt.Sprintf("%d accepted", len(f.accepted())) })
			r.settled(s.Name)
			if n := len(f.accepted()); n != 1 {
				t.Fatalf("delivered %d times, want exactly once", n)
			}
		})
	}
}

// Two daemons compete on one subscription while every article arrives as
// two topic-alerts at once: each article is delivered exactly once.
func TestCompetingNotifiersDeliverOnce(t *testing.T) {
	t.Parallel()
	r := newRig(t)
	l := listen(t)
	f := &fakeDest{delay: 30 * time.Millisecond}
	serveHTTP(t, l, f)
	s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
	r.start(s, nil)
	r.start(s, nil)
	const articles = 12
	for i := range articles {
		r.publish(testAlert(fmt.Sprintf("a%d", i), "ceasefire"))
		r.publish(testAlert(fmt.Sprintf("a%d", i), "peace-talks"))
	}
	testkit.WaitFor(t, 20*time.Second, "every article", func() (bool, string) {
		return len(f.accepted()) >= articles, fmt.Sprintf("%d accepted", len(f.accepted()))
	})
	r.settled(s.Name)
	seen := map[string]int{}
	for _, g := range f.accepted() {
		seen[g.hdr.Get(HeaderDelivery)]++
	}
	if len(seen) != articles || len(f.accepted()) != articles {
		t.Fatalf("%d deliveries of %d distinct articles, want %d of %d: %v", len(f.accepted()), len(seen), articles, articles, seen)
	}
}

// Filters: score, source, language, entities, breaking.
func TestMatch(t *testing.T) {
	a := testAlert("a1", "ceasefire")
	for _, c := range []struct {
		name string
		sub  Subscription
		want bool
	}{
		{"none", Subscription{}, true},
		{"min score", Subscription{MinScore: 0.95}, false},
		{"source", Subscription{Sources: []string{"wire service europe"}}, true},
		{"other source", Subscription{Sources: []string{"Herald"}}, false},
		{"language", Subscription{Languages: []string{"uk"}}, false},
		{"entity", Subscription{Entities: []string{"geneva"}}, true},
		{"other entity", Subscription{Entities: []string{"Riyadh"}}, false},
		{"breaking only", Subscription{BreakingOnly: true}, false},
	} {
		if got := c.sub.Match(&a); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
}

// A transport error never shows the URL, which may hold a token.
func TestErrorsHideSecrets(t *testing.T) {
	srv := httptest.NewServer(nil)
	addr := srv.Listener.Addr().String()
	srv.Close()
	for _, d := range []Destination{
		&Slack{WebhookURL: "http://" + addr + "/services/T/B/" + secretToken},
		&Webhook{URL: "http://" + addr + "/hook?token=" + secretToken},
		&Slack{Token: secretToken, Channel: "#desk", APIURL: "http://" + addr},
	} {
		n := &Notification{Subscription: "desk", ID: "x", Alert: testAlert("a1", "ceasefire")}
		err := d.Send(context.Background(), n)
		if err == nil {
			t.Fatalf("%s: sent to a closed port", d.Type())
		}
		if strings.Contains(err.Error(), secretToken) {
			t.Errorf("%s: error shows the secret: %v", d.Type(), err)
		}
		if e := classify(err); e.Reason != "connect" || !e.Retryable {
			t.Errorf("%s: classified as %+v", d.Type(), e)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{"": 0, "7": 7 * time.Second, "-1": 0, "soon": 0,
		now.Add(90 * time.Second).Format(time.RFC1123): 90 * time.Second} {
		if got := retryAfter(strings.Replace(in, "UTC", "GMT", 1), now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", in, got, want)
		}
	}
	if got := backoff(4, time.Second, 5*time.Second); got != 5*time.Second {
		t.Errorf("backoff(4) = %v", got)
	}
}

func TestFromConfig(t *testing.T) {
	cfg, err := config.Parse("w.yaml", []byte(`
subscriptions:
  - name: desk
    topics: [sanctions]
    webhook: {url: "https://hooks.example.org/ww", secret_env: DESK_SECRET}
  - name: ukraine-channel
    slack: {webhook_url_env: SLACK_URL}
`), func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"DESK_SECRET": "k", "SLACK_URL": "https://hooks.slack.com/services/" + secretToken}
	subs, err := FromConfig(cfg.Subscriptions, func(k string) string { return env[k] })
	if err != nil || len(subs) != 2 || string(subs[0].Destination.(*Webhook).Secret) != "k" {
		t.Fatalf("FromConfig: %v %+v", err, subs)
	}
	delete(env, "SLACK_URL")
	if _, err := FromConfig(cfg.Subscriptions, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "SLACK_URL") {
		t.Errorf("missing variable: %v", err)
	}
}

// Config problems are reported at their file:line:col.
func TestConfigProblems(t *testing.T) {
	_, err := config.Parse("w.yaml", []byte(`subscriptions:
  - name: desk
    webhook: {url: "ftp://x"}
    slack: {webhook_url_env: S}
  - name: desk
    email:
      to: [not-an-address]
      smtp: {host: "", tls: ssl}
`), func(string) string { return "" })
	ps, ok := config.AsProblems(err)
	if !ok {
		t.Fatalf("want problems, got %v", err)
	}
	got := ps.Error()
	for _, want := range []string{
		"w.yaml:3:20: subscriptions[0].webhook.url: scheme must be http or https",
		"w.yaml:2:5: subscriptions[0]: needs exactly one destination",
		"w.yaml:5:11: subscriptions[1].name: \"desk\" is already used",
		"w.yaml:7:12: subscriptions[1].email.to[0]",
		"w.yaml:8:29: subscriptions[1].email.smtp.tls",
		"w.yaml:8:20: subscriptions[1].email.smtp.host: is required",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems lack %q:\n%s", want, got)
		}
	}
}

// The example config's subscription block stays valid (commented entries
// uncommented included).
func TestExampleConfig(t *testing.T) {
	data, err := os.ReadFile("../wirewatch.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := config.Parse("wirewatch.example.yaml", data, func(string) string { return "" }); err != nil {
		t.Fatalf("as shipped: %v", err)
	}
	s := strings.Replace(string(data), "subscriptions: []", "subscriptions:", 1)
	s = strings.ReplaceAll(s, "\n#  ", "\n  ")
	if _, err := config.Parse("wirewatch.example.yaml", []byte(s), func(string) string { return "" }); err != nil {
		t.Fatalf("uncommented: %v", err)
	}
}
