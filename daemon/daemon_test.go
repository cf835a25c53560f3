package daemon_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// testConfig polls fast, listens on random loopback ports and lets feeds
// reach the loopback test servers.
func testConfig(dataDir string, feedURLs ...string) *config.Config {
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.NATS.Listen = "127.0.0.1:0"
	cfg.HTTP.Listen = "127.0.0.1:0"
	cfg.Fetch.AllowNetworks = []string{"127.0.0.0/8", "::1/128"}
	cfg.Fetch.Timeout = 2 * time.Second
	cfg.Fetch.PerHostSpacing = 0
	cfg.Fetch.PerHostConcurrency = 8
	cfg.Poll = config.Poll{Interval: time.Second, MinInterval: 500 * time.Millisecond, MaxInterval: 4 * time.Second}
	for _, u := range feedURLs {
		cfg.Feeds = append(cfg.Feeds, config.Feed{URL: u, Interval: time.Second})
	}
	return &cfg
}

type running struct {
	natsURL string
	reg     *prometheus.Registry
	js      jetstream.JetStream
	stop    func()
}

// start runs the daemon until the test ends or stop is called.
func start(t *testing.T, cfg *config.Config) *running {
	t.Helper()
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	d, err := daemon.Start(context.Background(), daemon.Options{Config: cfg, Logger: logger, Registry: reg}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc, err := nats.Connect(d.NATSURL)
	if err != nil {
		_ = d.Stop(30 * time.Second)
		t.Fatal(err)
	}
	js, _ := jetstream.New(nc)
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		nc.Close()
		if err := d.Stop(30 * time.Second); err != nil {
			t.Errorf("daemon: %v", err)
		}
	}
	t.Cleanup(stop)
	return &running{natsURL: d.NATSURL, reg: reg, js: js, stop: stop}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func streamMsgs(t *testing.T, js jetstream.JetStream, stream string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// idle reports whether the pipeline consumer has nothing pending.
func idle(t *testing.T, js jetstream.JetStream) bool {
	c, err := js.Consumer(context.Background(), natsutil.StreamIngest, "process")
	if err != nil {
		return false
	}
	info, err := c.Info(context.Background())
	return err == nil && info.NumPending == 0 && info.NumAckPending == 0
}

// readAlerts returns every alert stored in ALERTS with its subject.
func readAlerts(t *testing.T, js jetstream.JetStream) (alerts []pipeline.Alert, subjects []string) {
	t.Helper()
	n := streamMsgs(t, js, natsutil.StreamAlerts)
	if n == 0 {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := js.OrderedConsumer(ctx, natsutil.StreamAlerts, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for uint64(len(alerts)) < n {
		batch, err := c.Fetch(int(n)-len(alerts), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		for m := range batch.Messages() {
			var a pipeline.Alert
			if err := json.Unmarshal(m.Data(), &a); err != nil {
				t.Fatalf("alert on %s: %v", m.Subject(), err)
			}
			alerts = append(alerts, a)
			subjects = append(subjects, m.Subject())
		}
		if batch.Error() != nil {
			t.Fatal(batch.Error())
		}
	}
	return alerts, subjects
}

func counter(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	v, err := metrics.Sum(reg, name, labels)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// expectedTopics runs the offline stages (what `inspect` runs) over the
// feed's items, so the test expects what a user would see offline.
func expectedTopics(t *testing.T, feedURL string, items []feedtest.Item) map[string][]string {
	t.Helper()
	body, err := feedtest.Render("/x", items)
	if err != nil {
		t.Fatal(err)
	}
	_, arts, err := sources.Parse(bytes.NewReader(body), sources.Feed{URL: feedURL}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	chain, err := daemon.OfflineChain(&cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	for _, a := range arts {
		if err := chain.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		for _, tm := range a.Topics {
			out[a.Title] = append(out[a.Title], tm.Name)
		}
	}
	return out
}

var story = feedtest.Item{
	GUID:  "a-1",
	Title: "Ceasefire agreed in Riyadh as envoys open peace talks",
	Link:  "https://news.example/a/ceasefire-riyadh?utm_source=rss",
	Description: "<p>Negotiators agreed a 30-day ceasefire in Riyadh on Tuesday, the first pause in fighting " +
		"since the spring, as American and Ukrainian envoys opened peace talks aimed at ending the war.</p>" +
		"<p>European leaders said the truce must be backed by security guarantees for Kyiv.</p>",
}

func items() []feedtest.Item {
	return []feedtest.Item{
		story,
		{GUID: "a-2", Title: "EU adopts new sanctions package targeting Russian oil exports", Link: "https://news.example/a/sanctions",
			Description: "The European Union adopted its latest sanctions package against Russia on Friday, with an asset freeze on banks and a lower oil price cap."},
		{GUID: "a-3", Title: "Local bakery wins regional bread prize", Link: "https://news.example/a/bread",
			Description: "A family bakery in the old town won the regional prize for its sourdough loaf this weekend, judges said."},
		{GUID: "a-4", Title: "Undersea cable damaged in the Baltic; sabotage suspected", Link: "https://news.example/a/cable",
			Description: "Officials said an undersea cable between Finland and Estonia was damaged, and sabotage by a Russian-linked vessel is suspected, in the latest of a series of hybrid attacks."},
	}
}

func TestFeedsToAlerts(t *testing.T) {
	srv := feedtest.New()
	defer srv.Close()
	srv.Add("/a.rss", items()...)
	// The same story republished by another outlet: new headline and link, same body.
	copyItem := story
	copyItem.GUID, copyItem.Title, copyItem.Link = "b-1", "Truce deal struck in Saudi capital", "https://other.example/world/truce"
	srv.Add("/b.rss", copyItem, feedtest.Item{GUID: "b-2", Title: "Weather: a mild week ahead", Link: "https://other.example/weather",
		Description: "Forecasters expect mild temperatures and light winds for most of the week across the region."})

	want := expectedTopics(t, srv.FeedURL("/a.rss"), items())
	if len(want[story.Title]) == 0 || !contains(want[story.Title], "ceasefire") {
		t.Fatalf("offline stages do not tag the ceasefire story as ceasefire: %v", want)
	}
	wantAlerts := 0
	for _, ts := range want {
		wantAlerts += len(ts)
	}

	dataDir := t.TempDir()
	cfg := testConfig(dataDir, srv.FeedURL("/a.rss"), srv.FeedURL("/b.rss"))
	d := start(t, cfg)

	testkit.WaitFor(t, 30*time.Second, "6 archived articles and an idle pipeline", func() (bool, string) {
		n := streamMsgs(t, d.js, natsutil.StreamArticles)
		return n == 6 && idle(t, d.js), fmt.Sprintf("%d archived", n)
	})
	alerts, subjects := readAlerts(t, d.js)
	checkAlerts(t, alerts, subjects, want, copyItem.Title)
	if len(alerts) != wantAlerts {
		t.Errorf("got %d alerts, want %d", len(alerts), wantAlerts)
	}
	if got := counter(t, d.reg, "wirewatch_duplicates_total", map[string]string{"kind": "content"}); got != 1 {
		t.Errorf("content duplicates counted %v, want 1", got)
	}

	// Polls answered 304 publish nothing new.
	testkit.WaitFor(t, 20*time.Second, "two polls answered 304", func() (bool, string) {
		n := counter(t, d.reg, "wirewatch_fetches_total", map[string]string{"result": "not_modified"})
		return n >= 2, fmt.Sprintf("%v not-modified", n)
	})
	if n := streamMsgs(t, d.js, natsutil.StreamIngest); n != 6 {
		t.Errorf("INGEST holds %d messages after 304s, want 6", n)
	}

	// One new item: exactly one new article.
	srv.Add("/a.rss", feedtest.Item{GUID: "a-5", Title: "Kyiv and Moscow exchange prisoners", Link: "https://news.example/a/prisoners",
		Description: "Ukraine and Russia exchanged prisoners of war on Sunday in a swap mediated by the United Arab Emirates."})
	testkit.WaitFor(t, 20*time.Second, "the new item archived", func() (bool, string) {
		n := streamMsgs(t, d.js, natsutil.StreamArticles)
		return n == 7 && idle(t, d.js), fmt.Sprintf("%d archived", n)
	})
	alertsBefore := streamMsgs(t, d.js, natsutil.StreamAlerts)
	d.stop()

	// Restart on the same data dir against a server that ignores
	// conditional GET: every item is served again, none is published twice.
	srv.SetConditional(false)
	d2 := start(t, testConfig(dataDir, srv.FeedURL("/a.rss"), srv.FeedURL("/b.rss")))
	testkit.WaitFor(t, 20*time.Second, "both feeds fetched in full after restart", func() (bool, string) {
		n := counter(t, d2.reg, "wirewatch_fetches_total", map[string]string{"result": "ok"})
		return n >= 2 && idle(t, d2.js), fmt.Sprintf("%v full fetches", n)
	})
	if n := streamMsgs(t, d2.js, natsutil.StreamIngest); n != 7 {
		t.Errorf("INGEST holds %d after restart, want 7", n)
	}
	if n := streamMsgs(t, d2.js, natsutil.StreamAlerts); n != alertsBefore {
		t.Errorf("ALERTS holds %d after restart, want %d", n, alertsBefore)
	}
}

// checkAlerts asserts every alert is on ww.alert.<topic>.<severity>, and
// that each (story, topic) the offline run expects is alerted exactly once,
// whichever copy of a republished story came first.
func checkAlerts(t *testing.T, alerts []pipeline.Alert, subjects []string, want map[string][]string, copyTitle string) {
	t.Helper()
	seen := map[string]int{}
	for i, a := range alerts {
		if wantSubj := "ww.alert." + a.Topic + "." + a.Severity; subjects[i] != wantSubj {
			t.Errorf("alert %s on %s, want %s", a.ID, subjects[i], wantSubj)
		}
		title := a.Article.Title
		if title == copyTitle {
			title = story.Title
		}
		if !contains(want[title], a.Topic) {
			t.Errorf("unexpected alert %s for %q", a.Topic, a.Article.Title)
		}
		if a.Article.ID == "" || a.Article.URL == "" || a.Article.Feed == "" || len(a.Matches) == 0 {
			t.Errorf("alert lacks article fields or matches: %+v", a)
		}
		seen[title+"/"+a.Topic]++
	}
	for title, ts := range want {
		for _, tp := range ts {
			if seen[title+"/"+tp] != 1 {
				t.Errorf("%q / %s alerted %d times, want 1", title, tp, seen[title+"/"+tp])
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
