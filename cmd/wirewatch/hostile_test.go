package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/hostile"
)

// `wirewatch inspect --config F URL` against every attack of the hostile
// server, all at once: each ends within the fetch timeout plus a margin;
// a failing one exits 1 with a message naming the URL and the reason
// label; one that must parse exits 0 with JSON lines.
func TestInspectHostile(t *testing.T) {
	srv := hostile.New(hostile.Options{DripEvery: 200 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "wirewatch.yaml")
	const timeout = 5 * time.Second
	cfg := fmt.Sprintf("fetch:\n  allow_networks: [127.0.0.1/32]\n  timeout: %s\n  max_body_bytes: %d\n", timeout, 4<<20)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, a := range hostile.Attacks() {
		if a.Name == "many-items" {
			continue // 10,000 articles through every stage: slow under -race, covered in sources
		}
		wg.Go(func() {
			u := srv.AttackURL(a)
			start := time.Now()
			code, out, errs := runCLI(t, "inspect", "--config", cfgPath, u)
			// A hang detector, not a speed test: under -race on a loaded
			// 2-core machine a 4 MB item takes a while through the stages.
			if took := time.Since(start); took > timeout+55*time.Second {
				t.Errorf("%s: inspect took %v: something does not stop", a.Name, took)
			}
			switch {
			case a.Reason != "":
				if code != 1 {
					t.Errorf("%s: exit %d, want 1\n%s", a.Name, code, errs)
				}
				if !strings.Contains(errs, u+": "+a.Reason+" "+u) {
					t.Errorf("%s: stderr does not name the URL and reason %q:\n%s", a.Name, a.Reason, errs)
				}
				if a.Name == "html-page" && !strings.Contains(errs, "the page links feed "+srv.FeedURL()+"; use that URL") {
					t.Errorf("html-page: stderr does not point at the feed:\n%s", errs)
				}
			case a.Name == "deep-nesting":
				if code != 0 && !strings.Contains(errs, "parse "+u) {
					t.Errorf("deep-nesting: exit %d:\n%s", code, errs)
				}
			default:
				if code != 0 || strings.Count(out, "\n") == 0 {
					t.Errorf("%s: exit %d, %d lines\n%s", a.Name, code, strings.Count(out, "\n"), errs)
				}
			}
		})
	}
	wg.Wait()
	// The page's feed, as the error message suggests, works.
	if code, out, errs := runCLI(t, "inspect", "--config", cfgPath, srv.FeedURL()); code != 0 || strings.Count(out, "\n") != 3 {
		t.Errorf("the suggested feed: exit %d\n%s%s", code, out, errs)
	}
}
