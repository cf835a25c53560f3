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
// process with stored articles and dedup ledger records, killed with
// SIGKILL, is ready again from the snapshot of its dedup index, and
// without it, and only once its index holds the ledger.
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
	if r.Stored != 5000 || r.Ledger != 5000 || r.ReadySeconds <= 0 || r.ReplayReadyS <= 0 {
		t.Errorf("restart: %+v", r)
	}
	if !r.SnapshotLoaded || r.SnapshotBytes == 0 {
		t.Errorf("the restarted daemon did not load the dedup index's snapshot (%d bytes)", r.SnapshotBytes)
	}
	if r.IndexedAtReady != [2]int{r.Ledger, r.Ledger} {
		t.Errorf("ready with %v of the ledger's %d records indexed (with the snapshot, without)", r.IndexedAtReady, r.Ledger)
	}
	t.Logf("ready %.2fs after kill -9 with %d stored and its index's snapshot (%d bytes), %.2fs without (%.2fs empty)",
		r.ReadySeconds, r.Stored, r.SnapshotBytes, r.ReplayReadyS, r.FirstReadyS)
}
