package notify

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/notify/schedule"
)

// TestDeadLetterWaitsForItsStream: an alert given up on while the
// DEADLETTER stream is missing is not recorded dead and lost; it is kept,
// and dead-lettered once the stream is back.
func TestDeadLetterWaitsForItsStream(t *testing.T) {
	ctx := t.Context()
	r := newRig(t)
	if err := r.js.DeleteStream(ctx, StreamDeadLetter); err != nil {
		t.Fatal(err)
	}
	l := listen(t)
	f := &fakeDest{faults: slices.Repeat([]fault{reject}, 1000)}
	serveHTTP(t, l, f)
	s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
	r.start(s, nil)
	r.publish(testAlert("a1", "ceasefire"))

	// Rejected, not dead-lettered, and so tried again.
	testkit.WaitFor(t, 15*time.Second, "the rejected alert to be tried again", func() (bool, string) {
		return len(f.times()) >= 2, fmt.Sprintf("%d attempts", len(f.times()))
	})
	if v := r.metric("wirewatch_notification_dead_letters_total", nil); v != 0 {
		t.Fatalf("dead letters counted = %v with no stream to hold them", v)
	}
	if !strings.Contains(r.logs.String(), "could not dead-letter") {
		t.Errorf("no log line for the failed dead letter:\n%s", r.logs.String())
	}

	res, err := EnsureResources(ctx, r.js, 1) // the stream is back
	if err != nil {
		t.Fatal(err)
	}
	testkit.WaitFor(t, 15*time.Second, "a dead letter", func() (bool, string) {
		v := r.metric("wirewatch_notification_dead_letters_total", map[string]string{"subscription": "desk"})
		return v == 1, fmt.Sprintf("%v dead letters counted", v)
	})
	r.settled(s.Name)
	info, err := res.DeadLetter.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Errorf("DEADLETTER holds %d messages, want 1", info.State.Msgs)
	}
	dl, err := res.DeadLetter.GetLastMsgForSubject(ctx, SubjectDeadLetter+".desk")
	if err != nil {
		t.Fatal(err)
	}
	var d DeadLetter
	if err := json.Unmarshal(dl.Data, &d); err != nil || d.Alert.Article.ID != "a1" || d.Reason != "http_4xx" {
		t.Errorf("dead letter %+v (%v)", d, err)
	}
	if len(f.accepted()) != 0 {
		t.Errorf("%d accepted by a destination that rejects everything", len(f.accepted()))
	}
}

// TestDigestDeadLetterWaitsForItsStream: a digest given up on while the
// DEADLETTER stream is missing keeps its entries, and is dead-lettered
// whole once the stream is back.
func TestDigestDeadLetterWaitsForItsStream(t *testing.T) {
	ctx := t.Context()
	r := newRig(t)
	l := listen(t)
	f := &fakeDest{faults: slices.Repeat([]fault{reject}, 1000)}
	serveHTTP(t, l, f)
	s := testSub(&Webhook{URL: "http://" + l.Addr().String() + "/hook"})
	s.Digest, _ = schedule.Parse("every 30m")
	clock := &fakeClock{now: time.Date(2025, 3, 1, 10, 5, 0, 0, time.UTC)}
	r.startClocked(s, clock)
	r.publish(testAlert("a1", "ceasefire"))
	r.publish(testAlert("a2", "ceasefire"))
	testkit.WaitFor(t, 10*time.Second, "two articles collected", func() (bool, string) {
		v := r.metric("wirewatch_notifications_folded_total", nil)
		return v == 2, fmt.Sprintf("%v folded", v)
	})
	testkit.WaitFor(t, 5*time.Second, "the digest loop to wait", func() (bool, string) { return clock.pending() > 0, "no timer pending" })
	if err := r.js.DeleteStream(ctx, StreamDeadLetter); err != nil {
		t.Fatal(err)
	}
	clock.Advance(25 * time.Minute) // 10:30: the digest is due, and rejected
	testkit.WaitFor(t, 15*time.Second, "the digest to be rejected and retried later", func() (bool, string) {
		return len(f.times()) >= 1 && clock.pending() > 0, fmt.Sprintf("%d attempts, %d timers", len(f.times()), clock.pending())
	})
	if v := r.metric("wirewatch_notification_dead_letters_total", nil); v != 0 {
		t.Fatalf("dead letters counted = %v with no stream to hold them", v)
	}
	lister, err := r.res.Digest.ListKeysFiltered(ctx, "desk.e.*")
	if err != nil {
		t.Fatal(err)
	}
	var entries int
	for range lister.Keys() {
		entries++
	}
	if entries != 2 {
		t.Fatalf("%d digest entries kept, want 2", entries)
	}

	res, err := EnsureResources(ctx, r.js, 1) // the stream is back
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute) // past the retry's backoff
	testkit.WaitFor(t, 15*time.Second, "a dead letter", func() (bool, string) {
		v := r.metric("wirewatch_notification_dead_letters_total", map[string]string{"subscription": "desk"})
		if v == 0 && clock.pending() > 0 {
			clock.Advance(time.Minute) // the stream came back after another retry was scheduled
		}
		return v == 1, fmt.Sprintf("%v dead letters counted", v)
	})
	dl, err := res.DeadLetter.GetLastMsgForSubject(ctx, SubjectDeadLetter+".desk")
	if err != nil {
		t.Fatal(err)
	}
	var d DeadLetter
	if err := json.Unmarshal(dl.Data, &d); err != nil || len(d.Alerts) != 2 || d.Reason != "http_4xx" {
		t.Errorf("dead letter %+v (%v)", d, err)
	}
}
