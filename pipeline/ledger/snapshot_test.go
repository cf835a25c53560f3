package ledger

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
	"time"
)

// snapshot is x's snapshot with tag "t".
func snapshot(t testing.TB, x *Index) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := x.WriteSnapshot(&b, "t"); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// randomIndex is an index of n records of a random ledger (seed).
func randomIndex(rules Rules, seed uint64, n int) *Index {
	gen := newRandomLedger(rules, seed)
	x := NewIndex(rules)
	for seq := uint64(1); seq <= uint64(n); seq++ {
		now, r := gen.next()
		x.Apply(seq, now, r)
	}
	return x
}

// verdict is what a user sees of a result.
func verdict(r Result) string {
	return fmt.Sprintf("%v %v %+v %v %v", r.Duplicate, r.Repeat, r.Story, r.NewStory, r.Added)
}

// An index loaded from a snapshot is the index that was snapshotted: it
// snapshots to the same bytes, reaches the same verdict on every record
// after, and after them holds what the index that went on holds, byte for
// byte, over a random ledger of four horizons (segments sealed and
// dropped, keys expired, stories released and their numbers reused).
func TestSnapshotAgrees(t *testing.T) {
	rules := Rules{Horizon: 24 * time.Hour}
	gen := newRandomLedger(rules, 7)
	live := NewIndex(rules)
	seq := uint64(0)
	apply := func(n int, also *Index) {
		for range n {
			seq++
			now, r := gen.next()
			a := live.Apply(seq, now, r)
			if also != nil {
				if b := also.Apply(seq, now, r); verdict(a) != verdict(b) {
					t.Fatalf("record %d: live %s, loaded %s", seq, verdict(a), verdict(b))
				}
			}
		}
	}
	apply(6_000, nil)
	snap := snapshot(t, live)
	loaded, err := ReadSnapshot(bytes.NewReader(snap), int64(len(snap)), rules, "t")
	if err != nil {
		t.Fatal(err)
	}
	if again := snapshot(t, loaded); !bytes.Equal(again, snap) {
		t.Fatalf("the loaded index snapshots to %d bytes unlike the %d it was loaded from", len(again), len(snap))
	}
	if loaded.Applied() != live.Applied() || loaded.Len() != live.Len() {
		t.Fatalf("loaded: applied %d, %d records; live %d, %d", loaded.Applied(), loaded.Len(), live.Applied(), live.Len())
	}
	apply(6_000, loaded)
	if a, b := snapshot(t, live), snapshot(t, loaded); !bytes.Equal(a, b) {
		t.Fatalf("after 6,000 more records the loaded index differs from the live one (%d and %d bytes)", len(b), len(a))
	}
	if len(live.freed) == 0 && len(live.stories) < 2 || len(live.segs) < 8 {
		t.Fatalf("%d segments, %d story states, %d freed: the ledger exercised too little", len(live.segs), len(live.stories), len(live.freed))
	}
}

// A snapshot of other rules, another ledger (tag) or another version is
// refused as stale; one damaged or cut short is refused with an error;
// none is half loaded.
func TestSnapshotRefused(t *testing.T) {
	rules := Rules{Horizon: 24 * time.Hour}
	snap := snapshot(t, randomIndex(rules, 9, 2_000))
	read := func(b []byte, r Rules, tag string) error {
		_, err := ReadSnapshot(bytes.NewReader(b), int64(len(b)), r, tag)
		return err
	}
	if err := read(snap, rules, "t"); err != nil {
		t.Fatal(err)
	}
	if err := read(snap, Rules{Horizon: 12 * time.Hour}, "t"); !errors.Is(err, ErrSnapshotStale) {
		t.Errorf("other rules: %v, want stale", err)
	}
	if err := read(snap, rules, "another ledger"); !errors.Is(err, ErrSnapshotStale) {
		t.Errorf("another tag: %v, want stale", err)
	}
	version := bytes.Clone(snap)
	version[len(snapshotMagic)]++
	if err := read(version, rules, "t"); !errors.Is(err, ErrSnapshotStale) {
		t.Errorf("another version: %v, want stale", err)
	}
	for _, at := range []int{len(snap) / 3, len(snap) / 2, len(snap) - 5, len(snap) - 1} {
		damaged := bytes.Clone(snap)
		damaged[at] ^= 0x10
		if err := read(damaged, rules, "t"); err == nil || errors.Is(err, ErrSnapshotStale) {
			t.Errorf("a byte changed at %d of %d: %v, want an error", at, len(snap), err)
		}
	}
	for _, n := range []int{0, 3, 40, len(snap) / 2, len(snap) - 1} {
		if err := read(snap[:n], rules, "t"); err == nil || errors.Is(err, ErrSnapshotStale) {
			t.Errorf("cut to %d of %d bytes: %v, want an error", n, len(snap), err)
		}
	}
	if err := read(append(bytes.Clone(snap), 0), rules, "t"); err == nil {
		t.Errorf("a byte too many: loaded")
	}
}

// Whatever the bytes, reading a snapshot returns an index or an error,
// and never allocates much past their size.
func FuzzReadSnapshot(f *testing.F) {
	rules := Rules{Horizon: time.Hour}
	snap := snapshot(f, randomIndex(rules, 3, 200))
	f.Add(snap)
	f.Add(snap[:len(snap)/2])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, b []byte) {
		y, err := ReadSnapshot(bytes.NewReader(b), int64(len(b)), rules, "t")
		if err == nil && y == nil {
			t.Fatal("no index and no error")
		}
	})
}
