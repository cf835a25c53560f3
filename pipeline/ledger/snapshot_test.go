package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"
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
// byte, over a random ledger of over two horizons (segments sealed and
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
	apply(4_000, nil)
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
	apply(4_000, loaded)
	if a, b := snapshot(t, live), snapshot(t, loaded); !bytes.Equal(a, b) {
		t.Fatalf("after 4,000 more records the loaded index differs from the live one (%d and %d bytes)", len(b), len(a))
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
	if err := read(reseal(version), rules, "t"); !errors.Is(err, ErrSnapshotStale) {
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

// reseal gives b (a snapshot changed) the checksum of what it now holds.
func reseal(b []byte) []byte {
	body := b[:len(b)-4]
	return binary.LittleEndian.AppendUint32(slices.Clone(body), crc32.Checksum(body, castagnoli))
}

// Whatever a snapshot holds under a sound checksum, reading it returns
// an index or an error, and an index it returns decides more records and
// gives every verdict without reading out of bounds or looping (the
// fuzzer's inputs are sealed with their checksum, so that the reading
// past it is what is fuzzed).
func FuzzReadSnapshot(f *testing.F) {
	// Within one segment (no sealed table, whose bucket starts alone
	// take 256 KB), so that the fuzzer runs fast.
	rules := Rules{Horizon: 24 * time.Hour}
	snap := snapshot(f, randomIndex(rules, 3, 60))
	gen := newRandomLedger(rules, 4)
	more := make([]*Record, 50)
	times := make([]time.Time, len(more))
	for i := range more {
		times[i], more[i] = gen.next()
	}
	f.Add(snap[:len(snap)-4])
	f.Add(snap[:len(snap)/2])
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, body []byte) {
		b := reseal(append(body, 0, 0, 0, 0))
		x, err := ReadSnapshot(bytes.NewReader(b), int64(len(b)), rules, "t")
		if err != nil {
			return
		}
		seq := x.Applied()
		for i, r := range more {
			seq += 1 << 8
			x.Apply(seq, times[i], r)
		}
		for pos := range x.positions() {
			x.Apply(pos, time.Time{}, &Record{}) // (a repeat: its verdict)
		}
	})
}

// A count that says more than the snapshot holds (here the segments',
// under a sound checksum) is an error, and reading it allocates little
// more than the snapshot's size.
func TestSnapshotDamagedCounts(t *testing.T) {
	snap := snapshot(t, randomIndex(Rules{}, 3, 60))
	at := len(snapshotMagic) + 8 + 8 + 8 + len("t") + 3*8 // after the header: the segments' count
	if got := binary.LittleEndian.Uint64(snap[at:]); got != 2 {
		t.Fatalf("the segments' count reads %d, want 1 + 1 (one segment)", got)
	}
	for _, n := range []uint64{3, uint64(len(snap)) / segmentMin, 1 << 40} {
		b := bytes.Clone(snap)
		binary.LittleEndian.PutUint64(b[at:], n+1)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		_, err := ReadSnapshot(bytes.NewReader(reseal(b)), int64(len(b)), Rules{}, "t")
		runtime.ReadMemStats(&after)
		if err == nil {
			t.Errorf("%d segments said: loaded", n)
		}
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 16*uint64(len(b))+2<<20 {
			t.Errorf("%d segments said: %d bytes allocated reading %d", n, grew, len(b))
		}
	}
}

// Snapshots fall between ledger messages: one saved while messages are
// applied (ApplyBatch) holds each whole, so a restart resumes after its
// last.
func TestSnapshotBetweenMessages(t *testing.T) {
	rules := Rules{Horizon: 24 * time.Hour}
	gen := newRandomLedger(rules, 11)
	x := NewIndex(rules)
	const batches, size = 100, 50
	msgs := make([][]*Record, batches)
	times := make([]time.Time, batches)
	for i := range msgs {
		for range size {
			now, r := gen.next()
			times[i], msgs[i] = now, append(msgs[i], r)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i, recs := range msgs {
			x.ApplyBatch(uint64(i+1), times[i], recs)
		}
	}()
	snaps := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
		}
		b := snapshot(t, x)
		y, err := ReadSnapshot(bytes.NewReader(b), int64(len(b)), rules, "t")
		if err != nil {
			t.Fatal(err)
		}
		if a := y.Applied(); a != 0 && a&0xff != size-1 {
			t.Fatalf("a snapshot at position %d (message %d, record %d): not at a message's end", a, a>>8, a&0xff)
		}
		snaps++
	}
	if snaps < 3 {
		t.Fatalf("%d snapshots while applying: the test exercised too little", snaps)
	}
}

// The snapshot's layout is pinned: the snapshot of a fixed random index
// (four horizons of records, segments sealed and dropped, stories) hashes
// to what testdata holds for this snapshotVersion. A change to what the
// index keeps, or to how it is written, changes the hash: the test then
// fails until snapshotVersion is raised, so that daemons refuse the
// snapshots of the binary before (and replay the ledger) rather than
// misread them, and the file for the new version is written with -update.
func TestSnapshotGolden(t *testing.T) {
	snap := snapshot(t, randomIndex(Rules{Horizon: 24 * time.Hour}, 5, 12_000))
	sum := sha256.Sum256(snap)
	got := fmt.Sprintf("bytes %d\nsha256 %s\n", len(snap), hex.EncodeToString(sum[:]))
	testkit.Golden(t, filepath.Join("testdata", fmt.Sprintf("snapshot-v%d.golden", snapshotVersion)), got, *update)
}
