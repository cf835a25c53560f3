package notify

import (
	"context"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// nowhere is a destination the test never sends to: it checks where a
// subscription's consumer starts, not deliveries.
type nowhere struct{}

func (nowhere) Type() string                              { return "webhook" }
func (nowhere) Send(context.Context, *Notification) error { return nil }

// A subscription created after the pipeline already stored alerts (the
// daemon's notifiers start after its pipeline) starts at Options.Since and
// gets them; without Since it starts at creation and would skip them. An
// existing subscription keeps its position whatever Since says.
func TestSubscriptionStartsAtSince(t *testing.T) {
	r := newRig(t)
	ctx := t.Context()
	since := time.Now().Add(-time.Minute)
	r.publish(testAlert("early-1", "ceasefire"))
	r.publish(testAlert("early-2", "peace-talks"))
	pending := func(name string) uint64 {
		t.Helper()
		c, err := r.js.Consumer(ctx, natsutil.StreamAlerts, Durable(name))
		if err != nil {
			t.Fatal(err)
		}
		info, err := c.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return info.NumPending
	}
	late := testSub(nowhere{})
	if _, err := New(ctx, r.js, r.res, late, Options{Since: since}); err != nil {
		t.Fatal(err)
	}
	if n := pending(late.Name); n != 2 {
		t.Fatalf("with Since before the alerts: %d pending, want 2", n)
	}
	plain := testSub(nowhere{})
	plain.Name = "plain"
	if _, err := New(ctx, r.js, r.res, plain, Options{}); err != nil {
		t.Fatal(err)
	}
	if n := pending(plain.Name); n != 0 {
		t.Fatalf("without Since: %d pending, want 0 (starts at creation)", n)
	}
	// Declared again (a restart) with another Since: same position.
	if _, err := New(ctx, r.js, r.res, plain, Options{Since: since}); err != nil {
		t.Fatal(err)
	}
	if n := pending(plain.Name); n != 0 {
		t.Fatalf("re-declared with Since: %d pending, want the position kept (0)", n)
	}
}
