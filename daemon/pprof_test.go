package daemon_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// The profiler is served by the daemon's HTTP server only when http.pprof
// says so.
func TestPprofEndpoint(t *testing.T) {
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("pprof=", on), func(t *testing.T) {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := l.Addr().String()
			_ = l.Close()
			cfg := testConfig(t.TempDir())
			cfg.HTTP.Listen, cfg.HTTP.Pprof = addr, on
			start(t, cfg)
			client := &http.Client{Timeout: 10 * time.Second}
			resp, err := client.Get("http://" + addr + "/debug/pprof/heap?debug=1")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			want := http.StatusNotFound
			if on {
				want = http.StatusOK
			}
			if resp.StatusCode != want || on && len(body) == 0 {
				t.Fatalf("GET /debug/pprof/heap: %d (%d bytes), want %d", resp.StatusCode, len(body), want)
			}
		})
	}
}
