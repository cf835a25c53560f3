package sources

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/natsutil"
)

func TestStateRememberBounded(t *testing.T) {
	var st State
	keys := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprintf("k%d", i))
		}
		return out
	}
	st.remember(keys(0, 10), 10)
	if len(st.Seen) != 10 {
		t.Fatalf("seen %d", len(st.Seen))
	}
	// Many polls of a 10-item feed: the bound is max(2×10, 500) = 500.
	for i := 10; i < 1000; i += 10 {
		st.remember(keys(i, i+10), 10)
	}
	if len(st.Seen) != minSeen || st.Seen[len(st.Seen)-1] != "k999" || st.Seen[0] != "k500" {
		t.Fatalf("seen %d, first %s, last %s", len(st.Seen), st.Seen[0], st.Seen[len(st.Seen)-1])
	}
	// Items still in the feed move to the recent end and are never dropped.
	st.remember(append([]string{"k500"}, keys(1000, 1010)...), 400)
	if !slices.Contains(st.Seen, "k500") || st.Seen[len(st.Seen)-11] != "k500" {
		t.Errorf("k500 not kept as recent")
	}
	// A big feed raises the bound to 2× its size.
	st.remember(keys(2000, 3000), 1000)
	if len(st.Seen) != 1510 {
		t.Errorf("seen %d, want all 1510 (bound 2000)", len(st.Seen))
	}
	// Duplicate keys in one feed are recorded once.
	st = State{}
	st.remember([]string{"a", "b", "a"}, 3)
	if !slices.Equal(st.Seen, []string{"a", "b"}) {
		t.Errorf("seen %v", st.Seen)
	}
}

func TestStateNames(t *testing.T) {
	for errs, want := range map[int]string{0: "ok", 1: "backing_off", 4: "backing_off", 5: "failing", 50: "failing"} {
		if got := (&State{Errors: errs}).StateName(); got != want {
			t.Errorf("%d errors: %s, want %s", errs, got, want)
		}
	}
}

func TestStateStore(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	s := NewStateStore(res.Feeds)
	if _, rev, err := s.GetRev(ctx, "nokey"); rev != 0 || err != nil {
		t.Fatalf("missing key: found=%v err=%v", rev != 0, err)
	}
	want := State{
		ETag: `"x"`, LastModified: "Sat, 10 Jan 2026 10:00:00 GMT", Errors: 2, LastError: "boom", LastReason: ReasonHTTP5xx,
		NextPoll: time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC), Interval: 5 * time.Minute, Seen: []string{"a", "b"},
	}
	if err := s.Put(ctx, "k1", want); err != nil {
		t.Fatal(err)
	}
	got, rev, err := s.GetRev(ctx, "k1")
	if err != nil || rev == 0 {
		t.Fatalf("get: %v %v", rev != 0, err)
	}
	if got.ETag != want.ETag || got.Errors != 2 || !got.NextPoll.Equal(want.NextPoll) || got.Interval != want.Interval || !slices.Equal(got.Seen, want.Seen) {
		t.Errorf("round trip: %+v", got)
	}
	if err := s.Put(ctx, "k2", State{Errors: 1}); err != nil {
		t.Fatal(err)
	}
	all, err := s.All(ctx)
	if err != nil || len(all) != 2 || all["k2"].Errors != 1 {
		t.Errorf("all: %v %v", all, err)
	}
}
