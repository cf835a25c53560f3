package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/internal/hash64"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/ledger"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
)

// RestartOptions size the restart measurement: Stored articles in the
// archive of a daemon run as a separate process (Binary), and as many
// records in its dedup ledger, which it replays into its index before it
// is ready; the daemon is then killed with SIGKILL and started again.
type RestartOptions struct {
	Binary   string
	Stored   int
	Payloads [][]byte
	Dir      string
}

// Restart is how long a daemon took to be ready after a kill -9: with
// the snapshot of its dedup index it saved before (a daemon saves one
// every dedup.snapshot_every), and without one, replaying the whole
// ledger.
type Restart struct {
	Stored     int    `json:"stored"`
	StoreBytes uint64 `json:"store_bytes"`
	Ledger     int    `json:"ledger_records"`
	// SnapshotBytes is the size of the dedup index's snapshot.
	SnapshotBytes int64   `json:"snapshot_bytes"`
	ReadySeconds  float64 `json:"ready_seconds_after_kill"`
	// ReplayReadyS is the time to ready after a kill -9 without a
	// snapshot: the whole ledger replayed.
	ReplayReadyS float64 `json:"ready_seconds_after_kill_no_snapshot"`
	FirstReadyS  float64 `json:"ready_seconds_empty"`
	// IndexedAtReady is what each restarted daemon's dedup index held
	// when it first answered ready (wirewatch_dedup_index_articles): with
	// the snapshot, then without.
	IndexedAtReady [2]int `json:"indexed_at_ready"`
	// SnapshotLoaded: the first restart loaded the snapshot.
	SnapshotLoaded bool `json:"snapshot_loaded"`
}

// RunRestart measures start-to-ready of a daemon process with Stored
// articles and as many dedup ledger records after a kill -9.
func RunRestart(ctx context.Context, o RestartOptions) (Restart, error) {
	natsPort, err := freePort()
	if err != nil {
		return Restart{}, err
	}
	httpPort, err := freePort()
	if err != nil {
		return Restart{}, err
	}
	cfgPath, dataDir := filepath.Join(o.Dir, "restart.yaml"), filepath.Join(o.Dir, "restart-data")
	// Snapshots every second, so that the one the daemon holds when it is
	// killed has every record (at the default 5 minutes, the records of
	// up to 5 minutes are replayed after it).
	cfg := fmt.Sprintf("data_dir: %s\nnats:\n  listen: 127.0.0.1:%d\nhttp:\n  listen: 127.0.0.1:%d\nlog:\n  level: warn\ndedup:\n  snapshot_every: 1s\n",
		dataDir, natsPort, httpPort)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return Restart{}, err
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	var cmd *exec.Cmd
	defer func() {
		if cmd != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	start := func() (float64, error) {
		cmd = exec.CommandContext(ctx, o.Binary, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			cmd = nil
			return 0, err
		}
		if err := waitReady(ctx, base+"/readyz", 2*time.Minute); err != nil {
			return 0, err
		}
		return time.Since(t0).Seconds(), nil
	}
	kill := func() error {
		err := cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		cmd = nil
		return err
	}
	var r Restart
	if r.FirstReadyS, err = start(); err != nil {
		return r, fmt.Errorf("first start: %w", err)
	}
	if err := store(ctx, natsPort, o, &r); err != nil {
		return r, err
	}
	// Killed once it has saved a snapshot of every record.
	if err := waitMetric(ctx, base, "wirewatch_dedup_index_snapshot_articles", func(v int) bool { return v >= r.Ledger }); err != nil {
		return r, err
	}
	if err := kill(); err != nil {
		return r, err
	}
	snapshot := filepath.Join(dataDir, daemon.IndexSnapshot)
	if fi, err := os.Stat(snapshot); err == nil {
		r.SnapshotBytes = fi.Size()
	}
	if r.ReadySeconds, err = start(); err != nil {
		return r, fmt.Errorf("start after kill -9: %w", err)
	}
	if r.IndexedAtReady[0], err = metric(ctx, base, "wirewatch_dedup_index_articles"); err != nil {
		return r, fmt.Errorf("after kill -9: %w", err)
	}
	loads, _ := metric(ctx, base, "wirewatch_dedup_index_snapshots_total{op=\"load\",result=\"ok\"}")
	r.SnapshotLoaded = loads == 1
	// Again, without the snapshot.
	if err := kill(); err != nil {
		return r, err
	}
	if err := os.Remove(snapshot); err != nil {
		return r, err
	}
	if r.ReplayReadyS, err = start(); err != nil {
		return r, fmt.Errorf("start after kill -9 without a snapshot: %w", err)
	}
	if r.IndexedAtReady[1], err = metric(ctx, base, "wirewatch_dedup_index_articles"); err != nil {
		return r, fmt.Errorf("after kill -9 without a snapshot: %w", err)
	}
	return r, nil
}

// store writes o.Stored articles to the archive and as many records to
// the dedup ledger of the daemon listening on natsPort.
func store(ctx context.Context, natsPort int, o RestartOptions, r *Restart) error {
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	for i := range o.Stored {
		if err := publishAsync(ctx, js, natsutil.SubjectArticle+".restart", o.Payloads[i%len(o.Payloads)], ""); err != nil {
			return err
		}
	}
	if err := publishLedger(ctx, js, o.Payloads, o.Stored); err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		return ctx.Err()
	}
	r.Ledger = o.Stored
	if s, err := js.Stream(ctx, natsutil.StreamArticles); err == nil {
		if info, err := s.Info(ctx); err == nil {
			r.Stored, r.StoreBytes = int(info.State.Msgs), info.State.Bytes
		}
	}
	return nil
}

// waitMetric polls base's /metrics until series (a name, with its labels
// if any) has a value ok accepts, for up to 2 minutes.
func waitMetric(ctx context.Context, base, series string, ok func(int) bool) error {
	var v int
	var err error
	if perr := poll(ctx, 2*time.Minute, 50*time.Millisecond, series+" as awaited", func() bool {
		v, err = metric(ctx, base, series)
		return err == nil && ok(v)
	}); perr != nil {
		return fmt.Errorf("%w: last read %d (%v)", perr, v, err)
	}
	return nil
}

// poll calls done every interval until it reports true, for up to limit.
func poll(ctx context.Context, limit, interval time.Duration, what string, done func() bool) error {
	deadline := time.Now().Add(limit)
	for !done() {
		if time.Now().After(deadline) {
			return fmt.Errorf("not %s within %v", what, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
	return nil
}

// metric reads series (a name, with its labels if any, as /metrics
// writes them) from base's /metrics page; 0 when it is not there yet.
func metric(ctx context.Context, base, series string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return int(f), err
		}
	}
	return 0, sc.Err()
}

// publishLedger writes n dedup ledger records, MaxBatch a message as
// busy workers write them: the records of the articles of payloads,
// normalised as the pipeline does, over and over with fresh ids. Each
// pass over them has its keys moved by a hash of the pass, so that its
// articles meet one another as the originals do and never an earlier
// pass's: n distinct articles to decide, as a daemon's ledger holds, not
// n/len(payloads) copies of each (a copy is decided at its first key).
func publishLedger(ctx context.Context, js jetstream.JetStream, payloads [][]byte, n int) error {
	norm := normalize.New(nil)
	st := ledger.NewStage(nil, ledger.Rules{}, true, metrics.NewUnregistered())
	base := make([]*ledger.Record, 0, len(payloads))
	for _, p := range payloads {
		var a pipeline.Article
		if err := json.Unmarshal(p, &a); err != nil {
			return err
		}
		if err := norm.Process(ctx, &a); err != nil {
			return err
		}
		base = append(base, st.Record(&a))
	}
	batch := make([][]byte, 0, ledger.MaxBatch)
	for i := range n {
		pass := uint64(i / len(base))
		r := *base[i%len(base)]
		r.Article = fmt.Sprintf("restart-%d", i)
		move := hash64.Mix(pass) // (0 for the first pass: its keys as they are)
		r.Keys = slices.Clone(r.Keys)
		for k := range r.Keys {
			r.Keys[k].Hash ^= move
		}
		r.StoryKeys = slices.Clone(r.StoryKeys)
		for k := range r.StoryKeys {
			r.StoryKeys[k] ^= move
		}
		data, err := r.Encode(nil)
		if err != nil {
			return err
		}
		if batch = append(batch, data); len(batch) < cap(batch) && i < n-1 {
			continue
		}
		msg, err := ledger.EncodeBatch(batch)
		if err != nil {
			return err
		}
		batch = batch[:0]
		if err := publishAsync(ctx, js, natsutil.SubjectLedger, msg, ""); err != nil {
			return err
		}
	}
	return nil
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	client := &http.Client{Timeout: time.Second}
	return poll(ctx, limit, 10*time.Millisecond, "ready", func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
