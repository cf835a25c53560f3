package natsutil

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

type hits struct {
	mu sync.Mutex
	n  map[string]uint64 // "stream/limit" -> discarded
}

func (h *hits) add(stream, limit string, n uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[stream+"/"+limit] += n
}

func (h *hits) get(k string) uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[k]
}

// A stream over its MaxBytes and one past its MaxAge: each discard is
// reported with its limit, and logged.
func TestWatchLimits(t *testing.T) {
	_, _, js := StartTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for _, c := range []jetstream.StreamConfig{
		{Name: "SMALL", Subjects: []string{"small.>"}, MaxBytes: 16 << 10, Discard: jetstream.DiscardOld, Storage: jetstream.MemoryStorage},
		{Name: "SHORT", Subjects: []string{"short.>"}, MaxAge: time.Second, Discard: jetstream.DiscardOld, Storage: jetstream.MemoryStorage},
	} {
		if _, err := js.CreateStream(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	h := &hits{n: map[string]uint64{}}
	var logs testkit.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- WatchLimits(ctx, js, LimitWatch{
			Streams: []string{"SMALL", "SHORT"}, Interval: 50 * time.Millisecond, OnHit: h.add,
			Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		})
	}()
	// Let the first check record the starting sequences.
	testkit.WaitFor(t, 20*time.Second, "a first check", func() (bool, string) { return strings.Contains(logs.String(), "stream limits checked"), "" })
	payload := []byte(strings.Repeat("x", 1000))
	for i := range 5 {
		if _, err := js.Publish(ctx, fmt.Sprintf("short.%d", i), payload); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 100 {
		if _, err := js.Publish(ctx, fmt.Sprintf("small.%d", i), payload); err != nil {
			t.Fatal(err)
		}
	}
	testkit.WaitFor(t, 20*time.Second, "SMALL's max_bytes discards counted", func() (bool, string) { return h.get("SMALL/max_bytes") >= 80, "" })
	testkit.WaitFor(t, 20*time.Second, "SHORT's max_age discards counted", func() (bool, string) { return h.get("SHORT/max_age") == 5, "" })
	if h.get("SMALL/max_age") != 0 || h.get("SHORT/max_bytes") != 0 {
		t.Errorf("wrong limit named: %v", h.n)
	}
	if !strings.Contains(logs.String(), "stream limit hit") || !strings.Contains(logs.String(), "limit=max_bytes") {
		t.Errorf("no log line for the hit:\n%s", logs.String())
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("WatchLimits: %v", err)
	}
}
