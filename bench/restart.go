package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// RestartOptions size the restart measurement: Stored articles in the
// archive of a daemon run as a separate process (Binary), which is then
// killed with SIGKILL and started again.
type RestartOptions struct {
	Binary   string
	Stored   int
	Payloads [][]byte
	Dir      string
}

// Restart is how long a daemon took to be ready after a kill -9.
type Restart struct {
	Stored       int     `json:"stored"`
	StoreBytes   uint64  `json:"store_bytes"`
	ReadySeconds float64 `json:"ready_seconds_after_kill"`
	FirstReadyS  float64 `json:"ready_seconds_empty"`
}

// RunRestart measures start-to-ready of a daemon process with Stored
// articles after a kill -9.
func RunRestart(ctx context.Context, o RestartOptions) (Restart, error) {
	natsPort, err := freePort()
	if err != nil {
		return Restart{}, err
	}
	httpPort, err := freePort()
	if err != nil {
		return Restart{}, err
	}
	cfgPath := filepath.Join(o.Dir, "restart.yaml")
	cfg := fmt.Sprintf("data_dir: %s\nnats:\n  listen: 127.0.0.1:%d\nhttp:\n  listen: 127.0.0.1:%d\nlog:\n  level: warn\n",
		filepath.Join(o.Dir, "restart-data"), natsPort, httpPort)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return Restart{}, err
	}
	ready := fmt.Sprintf("http://127.0.0.1:%d/readyz", httpPort)
	start := func() (*exec.Cmd, float64, error) {
		cmd := exec.CommandContext(ctx, o.Binary, "run", "--config", cfgPath)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			return nil, 0, err
		}
		if err := waitReady(ctx, ready, 2*time.Minute); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, 0, err
		}
		return cmd, time.Since(t0).Seconds(), nil
	}
	var r Restart
	cmd, first, err := start()
	if err != nil {
		return r, fmt.Errorf("first start: %w", err)
	}
	r.FirstReadyS = first
	defer func() {
		if cmd != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	nc, err := nats.Connect(fmt.Sprintf("nats://127.0.0.1:%d", natsPort))
	if err != nil {
		return r, err
	}
	js, _ := jetstream.New(nc)
	for i := range o.Stored {
		if err := publishAsync(ctx, js, natsutil.SubjectArticle+".restart", o.Payloads[i%len(o.Payloads)], ""); err != nil {
			nc.Close()
			return r, err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-ctx.Done():
		nc.Close()
		return r, ctx.Err()
	}
	if s, err := js.Stream(ctx, natsutil.StreamArticles); err == nil {
		if info, err := s.Info(ctx); err == nil {
			r.Stored, r.StoreBytes = int(info.State.Msgs), info.State.Bytes
		}
	}
	nc.Close()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return r, err
	}
	_ = cmd.Wait()
	cmd = nil
	cmd, r.ReadySeconds, err = start()
	if err != nil {
		return r, fmt.Errorf("start after kill -9: %w", err)
	}
	return r, nil
}

// waitReady polls url until it answers 200.
func waitReady(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond): // polling interval
		}
	}
	return errors.New(strings.TrimSpace("not ready within " + limit.String()))
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
