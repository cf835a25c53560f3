package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/feedtest"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/sources"
)

// natsNode is one server of the test's NATS cluster; it can be stopped and
// started again on the same ports and store.
type natsNode struct {
	name            string
	port, routePort int
	dir             string
	routes          string
	srv             *server.Server
}

func (n *natsNode) start(t *testing.T) {
	t.Helper()
	opts := &server.Options{
		ServerName: n.name, Host: "127.0.0.1", Port: n.port,
		JetStream: true, StoreDir: n.dir, NoSigs: true, NoLog: true,
		Cluster: server.ClusterOpts{Name: "wirewatch-test", Host: "127.0.0.1", Port: n.routePort},
		Routes:  server.RoutesFromStr(n.routes),
	}
	srv, err := server.NewServer(opts)
	if err != nil {
		t.Fatalf("nats node %s: %v", n.name, err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(30 * time.Second) {
		t.Fatalf("nats node %s not ready", n.name)
	}
	n.srv = srv
}

func (n *natsNode) stop() {
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	}
}

// farmLog records when each feed path was requested.
type farmLog struct {
	mu    sync.Mutex
	times map[string][]time.Time
}

func (f *farmLog) record(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.times[path] = append(f.times[path], time.Now())
}

func (f *farmLog) snapshot() map[string][]time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[string][]time.Time, len(f.times))
	for k, v := range f.times {
		out[k] = slices.Clone(v)
	}
	return out
}

// TestCluster runs 3 daemons (separate processes) on a 3-node NATS cluster
// with R3 streams and buckets, over a farm of feeds that keep publishing.
// The daemons start while only one node runs, so they declare their
// streams before the cluster has a JetStream leader; once every feed is
// polled the scenario kills one daemon (kill -9) and one NATS node and
// brings them back. Every daemon must keep running, every item give
// exactly one alert, no feed go unpolled for more than 2 intervals, none
// be polled twice in one. Heavy (about 75 s): it runs when
// WIREWATCH_CLUSTER_TEST=1, or CI=true without -race.
func TestCluster(t *testing.T) {
	if os.Getenv("WIREWATCH_CLUSTER_TEST") != "1" && (os.Getenv("CI") != "true" || clusterRace) {
		t.Skip("heavy (3 NATS nodes, 3 daemons): set WIREWATCH_CLUSTER_TEST=1 (CI=true runs it without -race)")
	}
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	const (
		nFeeds   = 240
		perFeed  = 5
		interval = 5 * time.Second
	)
	bin := buildBinary(t)
	dir := t.TempDir()

	// NATS: 3 nodes with routes to each other.
	var nodes []*natsNode
	var routes, clients []string
	for i := range 3 {
		n := &natsNode{name: fmt.Sprintf("n%d", i+1), port: freePort(t), routePort: freePort(t), dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1))}
		nodes = append(nodes, n)
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", n.routePort))
		clients = append(clients, fmt.Sprintf("nats://127.0.0.1:%d", n.port))
	}
	for _, n := range nodes {
		n.routes = strings.Join(routes, ",")
		defer n.stop()
	}
	// One node first: the daemons start against a cluster without a
	// JetStream leader, whose API answers nothing or "temporarily
	// unavailable" until the other two join (start order must not matter).
	nodes[0].start(t)
	natsURL := strings.Join(clients, ",")

	// The feed farm: items revealed one per feed every interval.
	fs := feedtest.New()
	defer fs.Close()
	log := &farmLog{times: map[string][]time.Time{}}
	farm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.record(r.URL.Path)
		fs.Config.Handler.ServeHTTP(w, r)
	}))
	defer farm.Close()
	all := map[string][]feedtest.Item{}
	byFeed := map[string][]feedtest.Item{}
	var feedYAML strings.Builder
	for i := range nFeeds {
		p := fmt.Sprintf("/c%03d.rss", i)
		all[p] = distinctStories("cluster.example", p, perFeed)
		byFeed[farm.URL+p] = all[p]
		fs.Add(p, all[p][0])
		fmt.Fprintf(&feedYAML, "  - url: %s%s\n", farm.URL, p)
	}
	want := expectedAlerts(t, byFeed)

	// Three daemons, all roles, R3.
	startDaemon := func(i int) *exec.Cmd {
		cfgPath := filepath.Join(dir, fmt.Sprintf("d%d.yaml", i))
		cfgText := fmt.Sprintf(`data_dir: %s
nats:
  url: %q
  replicas: 3
http:
  listen: 127.0.0.1:0
fetch:
  allow_networks: [127.0.0.0/8]
  per_host_spacing: 1ms
  per_host_concurrency: 16
  concurrency: 16
poll:
  interval: %s
  min_interval: %s
  max_interval: %s
log:
  level: warn
feeds:
%s`, filepath.Join(dir, fmt.Sprintf("d%d", i)), natsURL, interval, interval, interval, feedYAML.String())
		if err := os.WriteFile(cfgPath, []byte(cfgText), 0o644); err != nil {
			t.Fatal(err)
		}
		return startWirewatch(t, bin, cfgPath, fmt.Sprintf("daemon %d", i), 3000)
	}
	began := time.Now()
	procs := []*exec.Cmd{startDaemon(1), startDaemon(2), startDaemon(3)}
	testkit.WaitFor(t, 30*time.Second, "the daemons connected to node n1 alone", func() (bool, string) {
		n := nodes[0].srv.NumClients()
		return n >= len(procs), fmt.Sprintf("%d clients", n)
	})
	nodes[1].start(t)
	nodes[2].start(t)
	nc, err := nats.Connect(natsURL, nats.MaxReconnects(-1), nats.ReconnectWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)

	// The scenario's clock starts once the daemons poll: every daemon
	// still running and registered among the pollers, every feed polled.
	testkit.WaitFor(t, 3*time.Minute, "every daemon registered, every feed polled", func() (bool, string) {
		if !allRunning(t, procs, "while the cluster formed (its output follows)") {
			t.FailNow()
		}
		members := 0
		if kv, err := js.KeyValue(context.Background(), sources.BucketMembers); err == nil {
			if keys, err := kv.Keys(context.Background()); err == nil {
				members = len(keys)
			}
		}
		polled := len(log.snapshot())
		return members == len(procs) && polled == nFeeds, fmt.Sprintf("%d of %d daemons registered, %d of %d feeds polled", members, len(procs), polled, nFeeds)
	})
	start := time.Now()
	t.Logf("cluster: every daemon registered and every feed polled %.1fs after the daemons started against one node", start.Sub(began).Seconds())

	// Reveal one more item per feed each interval, while the faults happen.
	at := func(k float64) time.Time { return start.Add(time.Duration(k * float64(interval))) }
	step := func(k float64, what string, do func()) {
		time.Sleep(time.Until(at(k))) // the scenario's clock; checks below read the farm's record
		t.Logf("%5.1fs %s", time.Since(start).Seconds(), what)
		do()
	}
	reveal := func(k int) func() {
		return func() {
			for p, items := range all {
				fs.Add(p, items[k])
			}
		}
	}
	step(2, "item 2 of each feed", reveal(1))
	step(3, "kill -9 daemon 3", func() {
		_ = procs[2].Process.Signal(syscall.SIGKILL)
		_ = procs[2].Wait()
	})
	step(4, "item 3 of each feed", reveal(2))
	step(5, "stop NATS node n2", nodes[1].stop)
	step(6, "item 4 of each feed", reveal(3))
	step(7, "restart daemon 3", func() { procs[2] = startDaemon(3) })
	step(8, "restart NATS node n2", func() { nodes[1].start(t) })
	step(9, "item 5 of each feed", reveal(4))
	step(11, "end of the polling record", func() {})
	end := time.Now()
	allRunning(t, procs, "at the end of the polling record")
	for i, p := range procs[:2] { // the two that ran throughout
		if cpu, ok := procCPU(p.Process.Pid); ok {
			t.Logf("cluster: daemon %d used %.2fs CPU in %.0fs (%.0f%% of a core) for about %d of %d feeds every %v",
				i+1, cpu.Seconds(), end.Sub(start).Seconds(), 100*cpu.Seconds()/end.Sub(start).Seconds(), nFeeds/3, nFeeds, interval)
		}
	}

	testkit.WaitFor(t, 60*time.Second, "every item archived and the pipeline idle", func() (bool, string) {
		return archivedAndIdle(js, uint64(nFeeds*perFeed), true)
	})
	allRunning(t, procs, "once every item is archived")
	stored := alertsIn(t, js)
	missing, extra, twice := exactlyOnce(want, stored)

	// Polling: gaps between two polls of a feed, after the first poll.
	polls := log.snapshot()
	var gaps []time.Duration
	late, double := 0, 0
	for _, p := range slices.Sorted(func(yield func(string) bool) {
		for p := range all {
			if !yield(p) {
				return
			}
		}
	}) {
		ts := polls[p]
		if len(ts) == 0 {
			late++
			continue
		}
		ts = append(ts, end)
		for i := 1; i < len(ts); i++ {
			g := ts[i].Sub(ts[i-1])
			if i < len(ts)-1 {
				gaps = append(gaps, g)
			}
			if g > 2*interval {
				late++
				t.Logf("feed %s unpolled for %v from %v", p, g.Round(time.Millisecond), ts[i-1].Sub(start).Round(time.Millisecond))
			}
			if i < len(ts)-1 && g < interval/2 {
				double++
				t.Logf("feed %s polled twice %v apart at %v", p, g.Round(time.Millisecond), ts[i].Sub(start).Round(time.Millisecond))
			}
		}
	}
	slices.Sort(gaps)
	pct := func(q float64) time.Duration { return gaps[int(q*float64(len(gaps)-1))].Round(time.Millisecond) }
	t.Logf("cluster: %d feeds, interval %v, %d items, %d polls; gap between polls of a feed min %v, p50 %v, p99 %v, max %v; "+
		"feeds unpolled > 2 intervals %d, polled twice in one interval %d",
		nFeeds, interval, nFeeds*perFeed, len(gaps)+nFeeds, pct(0), pct(0.5), pct(0.99), pct(1), late, double)
	t.Logf("cluster: %d alerts expected, %d stored; missing %d, unexpected %d, repeated %d", len(want), len(stored), missing, extra, twice)
	for _, name := range []string{natsutil.StreamIngest, natsutil.StreamArticles, natsutil.StreamAlerts, "KV_" + natsutil.BucketFeeds, "KV_" + natsutil.BucketDedup, "KV_" + sources.BucketMembers} {
		s, err := js.Stream(context.Background(), name)
		if err != nil {
			t.Errorf("stream %s: %v", name, err)
			continue
		}
		if r := s.CachedInfo().Config.Replicas; r != 3 {
			t.Errorf("stream %s has %d replicas, want 3", name, r)
		}
	}
	if missing+extra+twice > 0 {
		t.Errorf("alerts not exactly once")
	}
	if late > 0 || double > 0 {
		t.Errorf("feeds polled late or twice")
	}
}

// allRunning reports whether every daemon is running, and fails the test
// for each that is not, saying when.
func allRunning(t *testing.T, procs []*exec.Cmd, when string) bool {
	t.Helper()
	ok := true
	for i, p := range procs {
		if !running(p) {
			t.Errorf("daemon %d is not running %s", i+1, when)
			ok = false
		}
	}
	return ok
}

// running reports whether the process is still running: started, not
// exited (a zombie not yet waited for counts as exited). Without /proc
// (not Linux) it says true.
func running(p *exec.Cmd) bool {
	if p.ProcessState != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.Process.Pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist) || runtime.GOOS != "linux"
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// procCPU is the user+system CPU time of a running process (Linux /proc;
// ok false elsewhere).
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	// Fields after the command name (which may hold spaces) in parentheses.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	var utime, stime int64
	_, err1 := fmt.Sscan(f[11], &utime)
	_, err2 := fmt.Sscan(f[12], &stime)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / 100, true // USER_HZ is 100 on Linux
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}
