package main

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/bench"
	"github.com/wirewatch/wirewatch/pipeline"
)

// The restart measurement of `wirewatch bench`, CI-sized: a daemon
// process with stored articles killed with SIGKILL is ready again.
func TestBenchRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := buildBinary(t)
	payload, _ := json.Marshal(pipeline.Article{Version: pipeline.ArticleVersion, ID: "x", Title: "A stored article", Text: "Some text."})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := bench.RunRestart(ctx, bench.RestartOptions{Binary: bin, Stored: 5000, Payloads: [][]byte{payload}, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if r.Stored != 5000 || r.ReadySeconds <= 0 {
		t.Errorf("restart: %+v", r)
	}
	t.Logf("ready %.2fs after kill -9 with %d stored (%.2fs empty)", r.ReadySeconds, r.Stored, r.FirstReadyS)
}
