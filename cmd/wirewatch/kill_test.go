package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// buildBinary compiles wirewatch once for the tests of this package.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wirewatch")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("go build: %v", err)
	}
	return bin
}

// startWirewatch starts `bin run --config cfgPath` and kills it when the
// test ends; if the test failed, it logs the process's output under label,
// only its last tail bytes when tail > 0.
func startWirewatch(t *testing.T, bin, cfgPath, label string, tail int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "run", "--config", cfgPath)
	dieWithParent(cmd) // a test binary stopped by its -timeout leaves no daemon behind
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if !t.Failed() {
			return
		}
		if tail > 0 {
			t.Logf("%s output (last %d bytes):\n%s", label, tail, lastBytes(logs.String(), tail))
		} else {
			t.Logf("%s output:\n%s", label, logs.String())
		}
	})
	return cmd
}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

var topicsByTurn = []string{
	"Envoys resume peace talks on ending the war, round %d",
	"Ceasefire violated along the front line for the %dth time this month",
	"EU sanctions package %d adds asset freezes on Russian banks",
	"Drone incursion %d over airport blamed on Russia in hybrid attack",
}

// vocabulary for the made-up stories: random draws make texts that share
// no run of three words, so no two items are near-duplicates.
var vocabulary = strings.Fields(`harbour council winter grain pipeline bridge rail
	ministry village border river factory school election budget court drought
	harvest tunnel airport convoy market parliament museum festival province
	vessel bank treaty mayor satellite refinery reactor clinic highway port
	forest mine coast garrison depot archive tribunal envoy governor summit
	delegation militia cable uranium corridor shipyard checkpoint reservoir`)

// distinctStories makes n distinct topical stories for feed, linked on
// host: no two are duplicates or near-duplicates of each other.
func distinctStories(host, feed string, n int) []feedtest.Item {
	h := fnv.New64a()
	h.Write([]byte(host + "/" + feed))
	rng := rand.New(rand.NewPCG(h.Sum64(), 1))
	words := func(k int) string {
		w := make([]string, k)
		for i := range w {
			w[i] = vocabulary[rng.IntN(len(vocabulary))]
		}
		return strings.Join(w, " ")
	}
	var out []feedtest.Item
	for i := range n {
		title := fmt.Sprintf(topicsByTurn[i%len(topicsByTurn)], i) + ": " + words(4)
		out = append(out, feedtest.Item{
			GUID:        fmt.Sprintf("%s-%d", feed, i),
			Title:       title,
			Link:        fmt.Sprintf("https://%s/%s/%d", host, feed, i),
			Description: fmt.Sprintf("%s. %s.", title, words(40)),
			Published:   time.Date(2026, 1, 1, 0, 0, i, 0, time.UTC),
		})
	}
	return out
}

// TestKill9 kills the daemon process while it processes a few hundred
// articles and restarts it: every expected alert exists exactly once.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	srv := feedtest.New()
	defer srv.Close()
	const perFeed = 120
	feeds := []string{"f1", "f2", "f3"}
	all := map[string][]feedtest.Item{}
	var released atomic.Int64
	for _, f := range feeds {
		all[f] = distinctStories("kill.example", f, perFeed)
	}
	// Reveal items in steps so the kill lands mid-stream.
	reveal := func(k int) {
		for _, f := range feeds {
			srv.Add("/"+f+".rss", all[f][k:min(k+20, perFeed)]...)
		}
		released.Store(int64(min(k+20, perFeed)))
	}
	reveal(0)

	// What the offline stages say each article must alert on.
	byFeed := map[string][]feedtest.Item{}
	for _, f := range feeds {
		byFeed[srv.FeedURL("/"+f+".rss")] = all[f]
	}
	want := expectedAlerts(t, byFeed)
	if len(want) < perFeed {
		t.Fatalf("only %d expected alerts: the topic pack tags too little of the test set", len(want))
	}

	// A webhook subscription on every topic: deliveries are counted by
	// delivery id and by article.
	var hookMu sync.Mutex
	byDelivery := map[string]int{}
	byArticle := map[string]int{}
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var doc struct {
			Alert struct {
				Article struct {
					ID string `json:"id"`
				} `json:"article"`
			} `json:"alert"`
		}
		if err := json.NewDecoder(r.Body).Decode(&doc); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		hookMu.Lock()
		byDelivery[r.Header.Get("X-Wirewatch-Delivery")]++
		byArticle[doc.Alert.Article.ID]++
		hookMu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "wirewatch.yaml")
	feedYAML := ""
	for _, f := range feeds {
		feedYAML += fmt.Sprintf("  - url: %s\n    interval: 1s\n", srv.FeedURL("/"+f+".rss"))
	}
	cfgText := fmt.Sprintf(`data_dir: %s
nats:
  listen: 127.0.0.1:%d
http:
  listen: 127.0.0.1:0
fetch:
  allow_networks: [127.0.0.0/8]
  per_host_spacing: 0s
  per_host_concurrency: 4
poll:
  interval: 1s
  min_interval: 500ms
  max_interval: 2s
log:
  level: warn
subscriptions:
  - name: desk
    topics: []
    webhook:
      url: %s/hook
feeds:
%s`, filepath.Join(dir, "data"), port, hook.URL, feedYAML)
	if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("nats://127.0.0.1:%d", port)
	connect := func() jetstream.JetStream {
		var nc *nats.Conn
		testkit.WaitFor(t, 30*time.Second, "NATS up", func() (bool, string) {
			var err error
			nc, err = nats.Connect(url, nats.Timeout(time.Second))
			if err != nil {
				return false, fmt.Sprintf("connect %s: %v", url, err)
			}
			return true, ""
		})
		t.Cleanup(nc.Close)
		js, _ := jetstream.New(nc)
		return js
	}

	proc := startWirewatch(t, bin, cfgPath, "daemon", 0)
	js := connect()
	// Release more items as they are consumed, then kill -9 mid-stream.
	testkit.WaitFor(t, 60*time.Second, "a quarter of the articles archived", func() (bool, string) {
		n := msgs(js, natsutil.StreamArticles)
		k := released.Load()
		if n >= uint64(k)*uint64(len(feeds))-10 && k < perFeed {
			reveal(int(k))
		}
		return n >= uint64(perFeed*len(feeds)/4), fmt.Sprintf("%d articles archived, %d items per feed released", n, k)
	})
	killedAt := msgs(js, natsutil.StreamArticles)
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = proc.Wait()

	for k := int(released.Load()); k < perFeed; k += 20 {
		reveal(k)
	}
	startWirewatch(t, bin, cfgPath, "daemon", 0)
	js = connect()
	testkit.WaitFor(t, 90*time.Second, "every article archived and the pipeline idle", func() (bool, string) {
		return archivedAndIdle(js, uint64(perFeed*len(feeds)), false)
	})
	stored := alertsIn(t, js)
	missing, extra, twice := exactlyOnce(want, stored)
	t.Logf("killed with %d of %d articles archived; %d alerts expected, %d stored; missing %d, unexpected %d, repeated %d",
		killedAt, perFeed*len(feeds), len(want), len(stored), missing, extra, twice)
	if killedAt == 0 || killedAt >= uint64(perFeed*len(feeds)) {
		t.Errorf("the kill came after all articles were processed: the test proved nothing")
	}
	if missing+extra+twice > 0 {
		t.Errorf("alerts not exactly once")
	}
	// Every alerted article reaches the webhook; a delivery repeated by the
	// kill (the destination accepted it, the daemon died before recording
	// it) carries the same delivery id, so the receiver can drop it.
	wantArticles := map[string]bool{}
	for _, a := range alertsIn(t, js) {
		wantArticles[a.Article.ID] = true
	}
	testkit.WaitFor(t, 90*time.Second, "every alerted article at the webhook", func() (bool, string) {
		hookMu.Lock()
		missing := 0
		for id := range wantArticles {
			if byArticle[id] == 0 {
				missing++
			}
		}
		hookMu.Unlock()
		if missing == 0 {
			return true, ""
		}
		info := "no consumer info"
		if c, err := js.Consumer(context.Background(), natsutil.StreamAlerts, "notify-desk"); err == nil {
			if ci, err := c.Info(context.Background()); err == nil {
				info = fmt.Sprintf("consumer notify-desk: pending %d, ack pending %d, redelivered %d, waiting %d", ci.NumPending, ci.NumAckPending, ci.NumRedelivered, ci.NumWaiting)
			}
		}
		return false, fmt.Sprintf("%d of %d alerted articles never reached the webhook; %s", missing, len(wantArticles), info)
	})
	hookMu.Lock()
	repeats := 0
	for _, n := range byDelivery {
		repeats += n - 1
	}
	t.Logf("webhook: %d articles expected, %d delivery ids received, %d repeated deliveries", len(wantArticles), len(byDelivery), repeats)
	if len(byDelivery) != len(wantArticles) {
		t.Errorf("webhook got %d distinct deliveries for %d alerted articles", len(byDelivery), len(wantArticles))
	}
	if repeats > 16 {
		t.Errorf("%d repeated deliveries: more than the in-flight work at the kill", repeats)
	}
	hookMu.Unlock()
	if n := msgs(js, natsutil.StreamIngest); n != uint64(perFeed*len(feeds)) {
		t.Errorf("INGEST holds %d messages, want %d (an item published twice?)", n, perFeed*len(feeds))
	}
}

// expectedAlerts runs the offline stages over every feed's items with one
// duplicate store, as the daemon would.
func expectedAlerts(t *testing.T, byFeed map[string][]feedtest.Item) map[string]bool {
	t.Helper()
	cfg := config.Default()
	chain, err := daemon.OfflineChain(&cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for feedURL, items := range byFeed {
		body, err := feedtest.Render("/x", items)
		if err != nil {
			t.Fatal(err)
		}
		_, arts, err := sources.Parse(bytes.NewReader(body), sources.Feed{URL: feedURL}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range arts {
			if err := chain.Process(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			if a.Duplicate != nil {
				t.Fatalf("test items must be distinct: %q duplicates %s", a.Title, a.Duplicate.Of)
			}
			for _, tm := range a.Topics {
				out[pipeline.AlertID(a.ID, tm.Name)] = true
			}
		}
	}
	return out
}

// exactlyOnce compares the stored alerts with the expected alert ids: how
// many expected ones are missing, how many are unexpected, and how many
// are stored more than once.
func exactlyOnce(want map[string]bool, alerts []pipeline.Alert) (missing, extra, twice int) {
	got := map[string]int{}
	for _, a := range alerts {
		got[a.ID]++
	}
	for id := range want {
		if got[id] == 0 {
			missing++
		}
	}
	for id, n := range got {
		if !want[id] {
			extra++
		}
		if n > 1 {
			twice++
		}
	}
	return missing, extra, twice
}

// archivedAndIdle reports whether ARTICLES holds want messages (at least
// want when atLeast) and the process consumer has nothing pending, and
// what it saw.
func archivedAndIdle(js jetstream.JetStream, want uint64, atLeast bool) (bool, string) {
	n := msgs(js, natsutil.StreamArticles)
	idle, state := consumerState(js)
	ok := n == want || (atLeast && n > want)
	return ok && idle, fmt.Sprintf("%d of %d articles archived; %s", n, want, state)
}

func msgs(js jetstream.JetStream, stream string) uint64 {
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		return 0
	}
	info, err := s.Info(context.Background())
	if err != nil {
		return 0
	}
	return info.State.Msgs
}

// consumerState reports whether the process consumer of INGEST has
// nothing pending, and its counts.
func consumerState(js jetstream.JetStream) (bool, string) {
	c, err := js.Consumer(context.Background(), natsutil.StreamIngest, "process")
	if err != nil {
		return false, fmt.Sprintf("consumer process: %v", err)
	}
	info, err := c.Info(context.Background())
	if err != nil {
		return false, fmt.Sprintf("consumer process: %v", err)
	}
	return info.NumPending == 0 && info.NumAckPending == 0,
		fmt.Sprintf("consumer process: pending %d, ack pending %d", info.NumPending, info.NumAckPending)
}

func alertsIn(t *testing.T, js jetstream.JetStream) []pipeline.Alert {
	t.Helper()
	// The read is retried from the start: in a cluster, a consumer just
	// created can miss its first pull while its placement settles (the
	// pull is answered "no responders"), which says nothing of the alerts.
	var out []pipeline.Alert
	testkit.WaitFor(t, 60*time.Second, "every alert read back", func() (bool, string) {
		var err error
		out, err = readAlerts(js)
		if err != nil {
			t.Logf("reading the alerts back, retried: %v", err)
			return false, err.Error()
		}
		return true, ""
	})
	return out
}

// readAlerts reads the whole ALERTS stream once.
func readAlerts(js jetstream.JetStream) ([]pipeline.Alert, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, natsutil.StreamAlerts) // its info, fetched now
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", natsutil.StreamAlerts, err)
	}
	n := int(s.CachedInfo().State.Msgs)
	c, err := js.OrderedConsumer(ctx, natsutil.StreamAlerts, jetstream.OrderedConsumerConfig{})
	if err != nil {
		return nil, fmt.Errorf("ordered consumer on %s: %w", natsutil.StreamAlerts, err)
	}
	var out []pipeline.Alert
	for len(out) < n {
		batch, err := c.Fetch(n-len(out), jetstream.FetchMaxWait(5*time.Second))
		if err != nil {
			return nil, fmt.Errorf("fetch from %s after %d of %d: %w", natsutil.StreamAlerts, len(out), n, err)
		}
		for m := range batch.Messages() {
			var a pipeline.Alert
			if err := json.Unmarshal(m.Data(), &a); err != nil {
				return nil, fmt.Errorf("alert %d: %w", len(out), err)
			}
			out = append(out, a)
		}
		if err := batch.Error(); err != nil {
			return nil, fmt.Errorf("fetch from %s after %d of %d: %w", natsutil.StreamAlerts, len(out), n, err)
		}
	}
	return out, nil
}
