package ledger

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"math/bits"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/wirewatch/wirewatch/internal/hash64"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// clock is a test clock for the in-process ledger.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

// An article is a duplicate of one seen within the horizon, not of one
// seen before it; once every article of a stretch of ledger time is past
// the horizon, the index lets go of it.
func TestHorizon(t *testing.T) {
	c := &clock{time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)}
	rules := Rules{Horizon: 24 * time.Hour}
	led := NewMemory(rules, c.now)
	st := NewStage(led, rules, true, metrics.NewUnregistered())
	text := storyText(1, 80)
	process := func(id string) *pipeline.Article {
		a := &pipeline.Article{ID: id, Feed: "f", Title: "t", Text: text}
		if err := st.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	process("first")
	c.t = c.t.Add(23 * time.Hour)
	if a := process("within"); a.DuplicateOf() != "first" {
		t.Fatalf("23h later: duplicate of %q, want first", a.DuplicateOf())
	}
	c.t = c.t.Add(2 * time.Hour) // "first" is 25h old, "within" 2h
	if a := process("after"); a.DuplicateOf() != "within" && a.DuplicateOf() != "first" {
		t.Fatalf("25h after the first: duplicate of %q", a.DuplicateOf())
	}
	c.t = c.t.Add(48 * time.Hour)
	if a := process("much later"); a.Duplicate != nil {
		t.Fatalf("48h after the last copy: %+v, want an original", a.Duplicate)
	}
	for i := range 50 {
		c.t = c.t.Add(time.Hour)
		process(fmt.Sprint("filler", i))
	}
	if n := led.Index().Len(); n > 30 {
		t.Fatalf("%d articles indexed after 50 hourly ones with a 24h horizon", n)
	}
}

// Sources joining slowly do not make a story breaking; the same feed twice
// is one source.
func TestBreakingWindow(t *testing.T) {
	c := &clock{time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)}
	st := NewStage(NewMemory(Rules{}, c.now), Rules{}, true, metrics.NewUnregistered())
	var last *pipeline.Article
	for i := range 6 {
		c.t = c.t.Add(20 * time.Minute)
		feed := fmt.Sprintf("outlet %d", i)
		if i == 5 {
			feed = "outlet 4"
		}
		last = &pipeline.Article{ID: fmt.Sprint(i), Feed: feed, Title: "Valencia floods force thousands from homes", Text: fmt.Sprintf("%s Outlet %d.", event, i)}
		if err := st.Process(context.Background(), last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Story.Sources != 5 || last.Story.Breaking {
		t.Fatalf("story %+v: want 5 sources over 100 minutes, not breaking", last.Story)
	}
	first := time.Date(2026, 1, 6, 10, 20, 0, 0, time.UTC)
	if last.Story.ID != "0" || !last.Story.FirstSeen.Equal(first) {
		t.Fatalf("story %+v: want id 0 first seen %v", last.Story, first)
	}
}

// tableBase is the smallest value TestTable's tables hold: values wrap
// past 2^32, as entry numbers' low 32 bits do.
const tableBase = math.MaxUint32 - 9

// newTable is a table of the pairs of m, sized for at least n slots, its
// values tableBase to tableBase+len(m)+9.
func newTable(m map[uint64]uint32, n int, narrow bool) table {
	tb := newTableBuilder(max(n, len(m)), narrow, tableBase, uint64(len(m))+10)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		tb.add(k, m[k])
	}
	return tb.table()
}

// A sealed table finds every slot it was built from, with its value, and
// no other, at the edges of the hash space and beside slots that differ
// from it only in their lowest bits; with 16 bucket bits and with more
// (sized for 64M slots: 20); and so does a narrow table, with the band
// slots it is made for (low 32 bits 0, bandSlot). Merged into a table with
// more buckets, either still finds every slot.
func TestTable(t *testing.T) {
	for _, narrow := range []bool{false, true} {
		for _, n := range []int{0, 1, 2, 5, 1000, 100_000, -100_000} {
			sizedFor := 0
			if n < 0 {
				n, sizedFor = -n, 64<<20
			}
			// Neighbours differ in their lowest bit, or in the lowest bit
			// a narrow table keeps.
			lowest, mask := uint64(1), ^uint64(0)
			if narrow {
				lowest, mask = 1<<32, ^uint64(1<<32-1)
			}
			m := map[uint64]uint32{}
			rng := rand.New(rand.NewPCG(uint64(n), 1))
			for len(m) < n {
				k := rng.Uint64() & mask
				m[k] = tableBase + uint32(len(m))
				if len(m)%3 == 0 {
					m[k^lowest] = tableBase + uint32(len(m))
				}
			}
			if n >= 2 {
				m[0], m[math.MaxUint64&mask] = tableBase, tableBase+uint32(len(m))+9
			}
			tab := newTable(m, sizedFor, narrow)
			if want := max(16, bits.Len(uint(sizedFor))-7); len(m) > 0 && tab.bits != uint(want) {
				t.Fatalf("n=%d sized for %d: %d bucket bits, want %d", n, sizedFor, tab.bits, want)
			}
			for k, v := range m {
				if got, ok := tab.get(k); !ok || got != v {
					t.Fatalf("narrow %v, n=%d: get(%x) = %d, %v; want %d", narrow, n, k, got, ok, v)
				}
				if _, in := m[k^(2*lowest)]; in {
					continue
				}
				if got, ok := tab.get(k ^ (2 * lowest)); ok {
					t.Fatalf("narrow %v, n=%d: get(%x), a slot never added beside %x, = %d", narrow, n, k^(2*lowest), k, got)
				}
			}
			for range 1000 {
				k := rng.Uint64() & mask
				if _, in := m[k]; in {
					continue
				}
				if _, ok := tab.get(k); ok {
					t.Fatalf("narrow %v, n=%d: get(%x) found a slot never added", narrow, n, k)
				}
			}
			var each []uint64
			tab.each(func(k uint64, v uint32) {
				if want, in := m[k]; !in || v != want {
					t.Fatalf("narrow %v, n=%d: each gave %x = %d, never added as such", narrow, n, k, v)
				}
				each = append(each, k)
			})
			if len(each) != len(m) || !slices.IsSorted(each) {
				t.Fatalf("narrow %v, n=%d: each gave %d slots (want %d), sorted %v", narrow, n, len(each), len(m), slices.IsSorted(each))
			}
			// Merged into a table with more buckets, as the index's
			// tables grow past 4M slots, every slot is still found.
			big := newTableBuilderBits(0, narrow, tableBase, uint64(len(m))+10, 20) // buckets for 64M slots
			tab.each(big.add)
			grown := big.table()
			for k, v := range m {
				if got, ok := grown.get(k); !ok || got != v {
					t.Fatalf("narrow %v, n=%d, grown to %d bucket bits: get(%x) = %d, %v; want %d", narrow, n, grown.bits, k, got, ok, v)
				}
			}
		}
	}
}

// each calls fn with every slot of t and its value, in slot order.
func (t *table) each(fn func(k uint64, v uint32)) {
	t.merged(nil, 0, func(uint32) bool { return true }, fn)
}

// count is the number of slots in t.
func (t *table) count() int { return t.n }

// Values that span all 32 bits (4 billion live entries) are kept whole,
// in an exact table and beside 16 bits of each slot in a narrow one.
func TestTableWideValues(t *testing.T) {
	for _, narrow := range []bool{false, true} {
		tb := newTableBuilder(3, narrow, 5, 1<<32)
		want := map[uint64]uint32{1 << 32: 4, 2 << 32: 5, 3 << 32: 1 << 31, math.MaxUint32 << 32: 7}
		for _, k := range slices.Sorted(maps.Keys(want)) {
			tb.add(k, want[k])
		}
		tab := tb.table()
		if tab.width != 32 {
			t.Fatalf("narrow %v: width %d, want 32", narrow, tab.width)
		}
		for k, v := range want {
			if got, ok := tab.get(k); !ok || got != v {
				t.Errorf("narrow %v: get(%x) = %d, %v; want %d", narrow, k, got, ok, v)
			}
		}
	}
}

// unmix inverts hash64.Mix, so a test can make keys whose slots it
// chooses.
func unmix(x uint64) uint64 {
	x ^= x>>31 ^ x>>62
	x *= 0x319642b2d24d8ec3 // the inverse of 0x94d049bb133111eb
	x ^= x>>27 ^ x>>54
	x *= 0x96de1b173f119089 // the inverse of 0xbf58476d1ce4e5b9
	x ^= x>>30 ^ x>>60
	return x
}

// keyAt is the key of kind k whose slot is s.
func keyAt(k Kind, s uint64) Key { return Key{Kind: k, Hash: unmix(s) ^ uint64(k)*0x9e3779b97f4a7c15} }

// Keys whose slots differ only in their lowest bit are different keys,
// in one segment, across a seal and beside an article's id: every owner
// stays found, and a redelivery stays a repeat.
func TestNeighbourSlots(t *testing.T) {
	if k := keyAt(KindURL, 12345); slot(k.Kind, k.Hash) != 12345 {
		t.Fatalf("keyAt: slot %x, want 12345", slot(k.Kind, k.Hash))
	}
	x := NewIndex(Rules{Horizon: 8 * time.Hour})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := uint64(0x0123456789abcdef)
	a, b := keyAt(KindURL, s), keyAt(KindURL, s^1)
	c := keyAt(KindURL, slot(slotID, hash64.String("a"))^1) // beside a's id
	x.Apply(1, t0, &Record{Article: "a", Feed: "f", Keys: []Key{a}})
	x.Apply(2, t0.Add(time.Second), &Record{Article: "b", Feed: "f", Keys: []Key{b}})
	x.Apply(3, t0.Add(2*time.Hour), &Record{Article: "c", Feed: "f", Keys: []Key{c}}) // seals a's and b's segment
	x.Apply(4, t0.Add(4*time.Hour), &Record{Article: "d", Feed: "f"})                 // seals c's
	if x.exact.old.count() == 0 {
		t.Fatal("nothing sealed")
	}
	at := t0.Add(4 * time.Hour)
	for i, want := range []struct {
		id  string
		key Key
		of  string
	}{{"a2", a, "a"}, {"b2", b, "b"}, {"c2", c, "c"}} {
		r := x.Apply(uint64(5+i), at.Add(time.Duration(i+1)*time.Second), &Record{Article: want.id, Feed: "f", Keys: []Key{want.key}})
		if r.Duplicate == nil || r.Duplicate.Of != want.of {
			t.Fatalf("%s has %s's url: duplicate %+v, want of %s", want.id, want.of, r.Duplicate, want.of)
		}
	}
	r := x.Apply(8, at.Add(time.Minute), &Record{Article: "a", Feed: "f", Keys: []Key{a}})
	if !r.Repeat || r.Duplicate != nil {
		t.Fatalf("a redelivered: repeat %v, duplicate %+v; want a repeat of an original", r.Repeat, r.Duplicate)
	}
}

// hot agrees with a Go map through growth and overwrites, and lists its
// pairs in slot order, whether its places are a power of two or not (as
// a segment's, sized for the last one's keys); so does a narrow one, with
// band slots (low 32 bits 0, bandSlot).
func TestHot(t *testing.T) {
	for _, narrow := range []bool{false, true} {
		mask := ^uint64(0)
		if narrow {
			mask = ^uint64(1<<32 - 1)
		}
		h := newHot(1500, narrow)
		if len(h.places) != 2000 {
			t.Fatalf("narrow %v: %d places for 1,500 slots, want 2,000", narrow, len(h.places))
		}
		m := map[uint64]uint32{}
		rng := rand.New(rand.NewPCG(3, 3))
		for i := range 50_000 {
			k := rng.Uint64() & mask
			if i%5 == 0 && len(m) > 0 { // overwrite a slot already set
				for k = range m {
					break
				}
			}
			if i == 7 {
				k = 0
			}
			m[k] = uint32(i)
			h.set(k, uint32(i))
		}
		if h.n != len(m) {
			t.Fatalf("narrow %v: %d slots, want %d", narrow, h.n, len(m))
		}
		for k, v := range m {
			if got, ok := h.get(k); !ok || got != v {
				t.Fatalf("narrow %v: get(%x) = %d, %v; want %d", narrow, k, got, ok, v)
			}
		}
		for range 10_000 {
			if k := rng.Uint64() & mask; m[k] == 0 {
				if _, ok := h.get(k); ok {
					t.Fatalf("narrow %v: get(%x) found a slot never set", narrow, k)
				}
			}
		}
		pairs := h.sorted()
		inOrder := slices.IsSortedFunc(pairs, func(a, b pair) int { return cmp.Compare(a.slot, b.slot) })
		if len(pairs) != len(m) || !inOrder {
			t.Fatalf("narrow %v: sorted: %d slots (want %d), in order %v", narrow, len(pairs), len(m), inOrder)
		}
		for _, p := range pairs {
			if m[p.slot] != p.v {
				t.Fatalf("narrow %v: sorted: %x -> %d, want %d", narrow, p.slot, p.v, m[p.slot])
			}
		}

		// Slots whose places wrap past the last to the first ones, and
		// slots far from uniform (all in a few places), come out sorted too.
		for _, c := range []struct{ room, step uint64 }{{0, 1 << 40}, {0, 1 << 32}, {1000, 1 << 40}, {1000, 1 << 32}} {
			step := c.step
			h := newHot(int(c.room), narrow)
			var want []uint64
			for i := range uint64(700) {
				k := (^uint64(0) - i*step) & mask
				if i%2 == 1 {
					k = i * step
				}
				h.set(k, uint32(i))
				want = append(want, k)
			}
			slices.Sort(want)
			var got []uint64
			for _, p := range h.sorted() {
				got = append(got, p.slot)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("narrow %v, %d places, step %x: sorted gives %d slots, not the %d in order", narrow, len(h.places), step, len(got), len(want))
			}
		}
	}
}

// Sealing segments does not change a verdict: articles spread over four
// horizons, each with a copy 100 minutes later (its original's keys are in
// the sealed table by then), get the verdicts the rules say, while the
// index seals every horizon/16 and drops what the horizon passed.
func TestSealedVerdicts(t *testing.T) {
	c := &clock{time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)}
	rules := Rules{Horizon: 8 * time.Hour}
	led := NewMemory(rules, c.now)
	st := NewStage(led, rules, true, metrics.NewUnregistered())
	for i := range 200 {
		c.t = c.t.Add(10 * time.Minute)
		orig := &pipeline.Article{ID: fmt.Sprint("o", i), Feed: "f", Title: "t", Text: storyText(i, 80)}
		if err := st.Process(context.Background(), orig); err != nil || orig.Duplicate != nil {
			t.Fatalf("original %d: %+v, %v", i, orig.Duplicate, err)
		}
		if i < 10 {
			continue
		}
		// A copy of the article from 100 minutes ago: within the horizon,
		// its original is in a sealed segment by now.
		cp := &pipeline.Article{ID: fmt.Sprint("c", i), Feed: "g", Title: "t", Text: "Copy. " + storyText(i-10, 80)}
		if err := st.Process(context.Background(), cp); err != nil || cp.DuplicateOf() != fmt.Sprint("o", i-10) {
			t.Fatalf("copy %d: %+v, %v; want a duplicate of o%d", i, cp.Duplicate, err, i-10)
		}
	}
	x := led.Index()
	x.mu.Lock()
	segs, sealed := len(x.segs), x.exact.old.count()
	// Entries are numbered without a gap across segments (merge keeps a
	// sealed key by its number alone).
	for i := 1; i < segs; i++ {
		if prev, s := x.segs[i-1], x.segs[i]; s.base != prev.base+uint64(prev.entries.len()) {
			t.Errorf("segment %d starts at entry %d, the one before ends at %d", i, s.base, prev.base+uint64(prev.entries.len()))
		}
	}
	if last := x.segs[segs-1]; x.next != last.base+uint64(last.entries.len()) {
		t.Errorf("next entry %d, the newest segment ends at %d", x.next, last.base+uint64(last.entries.len()))
	}
	x.mu.Unlock()
	if segs < 5 || sealed == 0 {
		t.Fatalf("%d segments, %d sealed keys: the test did not exercise sealing", segs, sealed)
	}
}

// Segments and sealing are invisible: an index that seals a segment every
// horizon/16 and one that keeps everything in one growing map reach the
// same verdict on every record of a long random ledger, where keys are
// shared often and time runs over many horizons.
func TestSegmentsInvisible(t *testing.T) {
	rules := Rules{Horizon: 24 * time.Hour}
	segmented, single := NewIndex(rules), NewIndex(rules)
	single.span = math.MaxInt64 / 4
	gen := newRandomLedger(rules, 42)
	dups := 0
	stories, joined := 0, 0
	for seq := uint64(1); seq <= 20_000; seq++ {
		now, r := gen.next()
		a, b := segmented.Apply(seq, now, r), single.Apply(seq, now, r)
		if fmt.Sprintf("%v %v %+v %v %v", a.Duplicate, a.Repeat, a.Story, a.NewStory, a.Added) != fmt.Sprintf("%v %v %+v %v %v", b.Duplicate, b.Repeat, b.Story, b.NewStory, b.Added) {
			t.Fatalf("record %d (%s at %v): segmented %v %v %+v, single %v %v %+v", seq, r.Article, now, a.Duplicate, a.Repeat, a.Story, b.Duplicate, b.Repeat, b.Story)
		}
		if a.Duplicate != nil {
			dups++
		}
		if a.Story != nil {
			stories++
			if !a.NewStory {
				joined++
			}
		}
	}
	if dups < 1000 || dups > 19_000 || joined < 500 {
		t.Fatalf("%d duplicates of 20,000, %d of %d in a story joined one: the ledger exercised too little", dups, joined, stories)
	}
	if len(segmented.segs) < 8 || segmented.exact.old.count() == 0 || segmented.bands.old.count() == 0 {
		t.Fatalf("%d segments, %d+%d sealed keys: sealing not exercised", len(segmented.segs), segmented.exact.old.count(), segmented.bands.old.count())
	}
}

// randomLedger makes the records of a long random ledger, where keys are
// shared often and time runs over many horizons: signatures of 40 texts,
// pairs of near copies (2i, 2i+1), for band keys drawn from a small
// space, some of whose slots differ only in the low bits a narrow table
// does not keep (bandSlot).
type randomLedger struct {
	rng   *rand.Rand
	now   time.Time
	sigs  []*Record
	bands []uint64 // top 32 bits, spread over the tables' buckets
}

func newRandomLedger(rules Rules, seed uint64) *randomLedger {
	l := &randomLedger{rng: rand.New(rand.NewPCG(seed, seed)), now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	st := NewStage(nil, rules, true, metrics.NewUnregistered())
	for i := range 20 {
		text := storyText(i, 80)
		for _, v := range []string{text, "Copy: " + text + " More to follow."} {
			l.sigs = append(l.sigs, st.Record(&pipeline.Article{ID: "x", Feed: "f", Title: "t", Text: v}))
		}
	}
	l.bands = make([]uint64, 2_000)
	for i := range l.bands {
		l.bands[i] = uint64(l.rng.Uint32()) << 32
	}
	return l
}

// next is the next record and its time.
func (l *randomLedger) next() (time.Time, *Record) {
	rng := l.rng
	l.now = l.now.Add(time.Duration(rng.IntN(60)) * time.Second)
	r := &Record{Article: fmt.Sprint("a", rng.IntN(18_000)), Feed: fmt.Sprint("f", rng.IntN(5))}
	for range 1 + rng.IntN(3) {
		r.Keys = append(r.Keys, Key{Kind: Kind(1 + rng.IntN(3)), Hash: uint64(rng.IntN(3_000))})
	}
	if rng.IntN(2) == 0 {
		sig := l.sigs[rng.IntN(len(l.sigs))]
		r.NearSig, r.StorySig = sig.NearSig, sig.StorySig
		for range 1 + rng.IntN(3) {
			low := uint64(rng.Uint32()) // below what a band slot keeps
			r.Keys = append(r.Keys, keyAt(KindNear, l.bands[rng.IntN(len(l.bands))]|low))
			r.StoryKeys = append(r.StoryKeys, keyAt(slotStory, l.bands[rng.IntN(len(l.bands))]|low).Hash)
		}
	}
	return l.now, r
}

// The in-process ledger refuses what the stream's encoding would: a
// record past the limits never reaches the index (whose field lengths
// are 16-bit).
func TestMemoryRefusesOversizedRecords(t *testing.T) {
	led := NewMemory(Rules{}, nil)
	long := strings.Repeat("x", maxString+1)
	for _, r := range []*Record{{Article: long}, {Article: "a", Feed: long}, {Article: "a", NearSig: make([]byte, maxSig+1)}} {
		if _, err := led.Append(context.Background(), r); err == nil || !strings.Contains(err.Error(), "longer than") && !strings.Contains(err.Error(), "too long") {
			t.Errorf("record of %.10q... appended: %v", r.Article, err)
		}
	}
	if n := led.Index().Len(); n != 0 {
		t.Errorf("%d records indexed, want 0", n)
	}
}

// Ids are kept packed when they are 32 lowercase hex digits (as
// sources.ArticleKey makes them) and as they are otherwise; either way a
// duplicate names its original, a repeat is known and a story is named
// by its first article exactly as they came.
func TestPackedIDs(t *testing.T) {
	for _, id := range []string{
		"0123456789abcdef0123456789abcdef", // packed
		"0123456789ABCDEF0123456789ABCDEF", // hex, but would come back lowercase
		"0123456789abcdef0123456789abcdeg", // 32, not hex
		"feed-item-7",
	} {
		x := NewIndex(Rules{})
		t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		key := Key{Kind: KindURL, Hash: 99}
		_, sig, _ := x.rules.Story.Sketch(dedup.Words{Title: strings.Fields("valencia floods force thousands from homes")})
		rec := func(id string) *Record {
			return &Record{Article: id, Feed: "f", Keys: []Key{key}, StoryKeys: []uint64{1}, StorySig: sig}
		}
		first := x.Apply(1, t0, rec(id))
		if first.Story == nil || first.Story.ID != natsutil.Token(id) {
			t.Fatalf("%s: story %+v, want id %s", id, first.Story, natsutil.Token(id))
		}
		cp := x.Apply(2, t0.Add(time.Second), rec(id+"-copy"))
		if cp.Duplicate == nil || cp.Duplicate.Of != id || cp.Story == nil || cp.Story.ID != natsutil.Token(id) {
			t.Fatalf("%s: copy's duplicate %+v, story %+v; want of %s, in its story", id, cp.Duplicate, cp.Story, id)
		}
		again := x.Apply(3, t0.Add(2*time.Second), rec(id))
		if !again.Repeat || again.Duplicate != nil || again.Story.ID != natsutil.Token(id) {
			t.Fatalf("%s: redelivery %+v (story %+v), want a repeat of the first", id, again, again.Story)
		}
		cp2 := x.Apply(4, t0.Add(3*time.Second), rec(id+"-copy"))
		if !cp2.Repeat || cp2.Duplicate == nil || cp2.Duplicate.Of != id {
			t.Fatalf("%s: the copy's redelivery %+v, want a repeat, duplicate of %s", id, cp2, id)
		}
	}
}

// A segment numbers its feeds in 16 bits: past 65,536 feeds a new one
// opens, and every entry keeps its own feed.
func TestSegmentFeeds(t *testing.T) {
	x := NewIndex(Rules{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n = maxSegmentFeeds + 5000
	for i := range n {
		x.Apply(uint64(i+1), t0, &Record{Article: fmt.Sprint("a", i), Feed: fmt.Sprint("f", i%(n-10))})
	}
	if len(x.segs) != 2 {
		t.Fatalf("%d segments for %d feeds at one time, want 2", len(x.segs), n)
	}
	for i := range n {
		e := x.at(uint64(i + 1))
		if got, want := e.seg.feeds[e.feed], fmt.Sprint("f", i%(n-10)); got != want {
			t.Fatalf("record %d: feed %s, want %s", i, got, want)
		}
	}
}

// A segment's entries and data grow in chunks: with records as large as
// a Record may be among small ones, many chunks fill in one segment, no
// data chunk outgrows its size (the room kept for a record holds it),
// and every entry
// still reads back its id, its signature and its verdict, duplicates of
// originals in other chunks included.
func TestSegmentChunks(t *testing.T) {
	x := NewIndex(Rules{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const n, originals = 12_388, 4000
	id := func(i int) string {
		if i%7 == 0 {
			return fmt.Sprintf("%d-%s", i, strings.Repeat("x", maxString-6))
		}
		return fmt.Sprint("a", i)
	}
	sig := func(i int) []byte {
		if i%7 == 0 {
			return bytes.Repeat([]byte{byte(i)}, maxSig)
		}
		return nil
	}
	for i := range n {
		r := &Record{Article: id(i), Feed: "f", Keys: []Key{{Kind: KindURL, Hash: uint64(i%originals + 1)}}, NearSig: sig(i)}
		if err := r.check(); err != nil {
			t.Fatal(err)
		}
		x.Apply(uint64(i+1), t0, r)
	}
	if len(x.segs) != 1 {
		t.Fatalf("%d segments, want 1", len(x.segs))
	}
	s := x.segs[0]
	if len(s.entries.chunks) < 4 || len(s.data.chunks) < 4 {
		t.Fatalf("%d entry chunks, %d data chunks: the test did not fill several", len(s.entries.chunks), len(s.data.chunks))
	}
	for i, c := range s.data.chunks {
		if len(c) > 1<<dataChunkBits {
			t.Fatalf("data chunk %d holds %d bytes, more than %d", i, len(c), 1<<dataChunkBits)
		}
	}
	for i := range n {
		e := x.at(uint64(i + 1))
		if e.entry == nil || string(e.id()) != id(i) {
			t.Fatalf("record %d: entry %v, want id %.20s…", i, e, id(i))
		}
		if want := x.rules.Near.Pack(nil, sig(i)); !bytes.Equal(e.nearSig(), want) {
			t.Fatalf("record %d: near signature of %d bytes, want %d", i, len(e.nearSig()), len(want))
		}
		r := x.result(e)
		switch {
		case i < originals && r.Duplicate != nil:
			t.Fatalf("record %d: duplicate %+v, want an original", i, r.Duplicate)
		case i >= originals && (r.Duplicate == nil || r.Duplicate.Of != id(i%originals)):
			t.Fatalf("record %d: duplicate %+v, want of %.20s…", i, r.Duplicate, id(i%originals))
		}
	}
	again := x.Apply(n+1, t0, &Record{Article: id(originals + 7), Feed: "f"})
	if !again.Repeat || again.Duplicate == nil || again.Duplicate.Of != id(7) {
		t.Fatalf("a redelivery of record %d: %+v, want a repeat, duplicate of record 7", originals+7, again)
	}
}

// An entry keeps its ledger position as an offset in its segment: ledger
// positions 4 billion apart (a segment spanning more) open a new segment,
// and every record is still found at its position with its verdict.
func TestSegmentPositions(t *testing.T) {
	x := NewIndex(Rules{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	url := Key{Kind: KindURL, Hash: 42}
	far := uint64(maxSegmentPositions + 7)
	x.Apply(1, t0, &Record{Article: "a", Feed: "f", Keys: []Key{url}})
	x.Apply(2, t0, &Record{Article: "b", Feed: "f"})
	r := x.Apply(far, t0.Add(time.Second), &Record{Article: "c", Feed: "f", Keys: []Key{url}})
	if len(x.segs) != 2 {
		t.Fatalf("%d segments for positions 1 and %d, want 2", len(x.segs), far)
	}
	if r.Duplicate == nil || r.Duplicate.Of != "a" {
		t.Fatalf("c has a's url: duplicate %+v, want of a", r.Duplicate)
	}
	for _, c := range []struct {
		seq uint64
		id  string
	}{{1, "a"}, {2, "b"}, {far, "c"}} {
		if e := x.at(c.seq); e.entry == nil || e.seq() != c.seq || string(e.id()) != c.id {
			t.Fatalf("at(%d): %v, want %s", c.seq, e, c.id)
		}
	}
	if r2, err := x.Wait(t.Context(), far); err != nil || r2.Duplicate == nil || r2.Duplicate.Of != "a" {
		t.Fatalf("Wait(%d): %+v, %v", far, r2.Duplicate, err)
	}
}

// An entry keeps its time in milliseconds from its segment's first, in 32
// bits: with a horizon long enough that a segment could span more (two
// years: 45 days a segment), a record 25 days after the first opens a new
// segment, and the times a user sees (a story's first-seen) and expiry
// stay right.
func TestSegmentTimes(t *testing.T) {
	x := NewIndex(Rules{Horizon: 2 * 365 * 24 * time.Hour})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	url := Key{Kind: KindURL, Hash: 42}
	story := []uint64{7}
	sig := func() []byte {
		_, s, _ := x.rules.Story.Sketch(dedup.Words{Title: strings.Fields("valencia floods force thousands from homes")})
		return s
	}()
	x.Apply(1, t0.Add(1500*time.Microsecond), &Record{Article: "a", Feed: "f", Keys: []Key{url}, StoryKeys: story, StorySig: sig})
	x.Apply(2, t0.Add(22*24*time.Hour), &Record{Article: "b", Feed: "f"})
	later := t0.Add(25 * 24 * time.Hour)
	r := x.Apply(3, later, &Record{Article: "c", Feed: "g", Keys: []Key{url}, StoryKeys: story, StorySig: sig})
	if len(x.segs) != 2 {
		t.Fatalf("%d segments for records 25 days apart, want 2", len(x.segs))
	}
	if r.Duplicate == nil || r.Duplicate.Of != "a" {
		t.Fatalf("c has a's url: duplicate %+v, want of a", r.Duplicate)
	}
	if first := t0.Add(time.Millisecond); r.Story == nil || r.Story.ID != "a" || !r.Story.FirstSeen.Equal(first) || r.Story.Sources != 2 {
		t.Fatalf("c's story %+v: want a's, first seen %v (rounded down to the millisecond), 2 sources", r.Story, first)
	}
	if e := x.at(3); e.entry == nil || e.time() != later.UnixNano() {
		t.Fatalf("c's entry: time %v, want %v", e.time(), later.UnixNano())
	}

	// Rounded the same way whatever segment holds it: an index whose
	// segment opened 4.8 ms before a's record and one whose segment opened
	// with it agree that a is live one horizon after 4.5 ms, and on its
	// first-seen time.
	h := time.Hour
	a := &Record{Article: "a", Feed: "f", Keys: []Key{url}, StoryKeys: story, StorySig: sig}
	c := &Record{Article: "c", Feed: "g", Keys: []Key{url}, StoryKeys: story, StorySig: sig}
	early, late := NewIndex(Rules{Horizon: h}), NewIndex(Rules{Horizon: h})
	early.Apply(1, t0.Add(300*time.Microsecond), &Record{Article: "z", Feed: "f"})
	early.Apply(2, t0.Add(5100*time.Microsecond), a)
	late.Apply(2, t0.Add(5100*time.Microsecond), a)
	for name, x := range map[string]*Index{"segment opened before a": early, "segment opened with a": late} {
		r := x.Apply(3, t0.Add(h+4500*time.Microsecond), c)
		if r.Duplicate == nil || r.Duplicate.Of != "a" || r.Story == nil || !r.Story.FirstSeen.Equal(t0.Add(5*time.Millisecond)) {
			t.Errorf("%s: c %+v, story %+v; want a duplicate of a, in a's story first seen at 5 ms", name, r.Duplicate, r.Story)
		}
	}
	if size := unsafe.Sizeof(entry{}); size != 24 {
		t.Errorf("an entry takes %d bytes, want 24", size)
	}
}

// A story band's owner is live by its own time, even where its segment
// says otherwise: a record stamped a little before its segment's first
// (ledger time may step back) expires one horizon after its own time, so
// an article then tells a new story, while its segment's other record,
// still live, is joined.
func TestStoryOwnerExpiry(t *testing.T) {
	h := time.Hour
	x := NewIndex(Rules{Horizon: h})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sketch := func(title string) []byte {
		_, s, ok := x.rules.Story.Sketch(dedup.Words{Title: strings.Fields(title)})
		if !ok {
			t.Fatalf("%q: no sketch", title)
		}
		return s
	}
	floods, final := sketch("valencia floods force thousands from homes"), sketch("valencia wins the cup final against sevilla")
	x.Apply(1, t0, &Record{Article: "a", Feed: "f", StoryKeys: []uint64{1}, StorySig: final})
	x.Apply(2, t0.Add(-500*time.Millisecond), &Record{Article: "b", Feed: "f", StoryKeys: []uint64{2}, StorySig: floods})
	if len(x.segs) != 1 {
		t.Fatalf("%d segments, want b in a's", len(x.segs))
	}
	// 0.4 s before one horizon after a: b (0.1 s older than that) has
	// expired, a has not.
	at := t0.Add(h - 400*time.Millisecond)
	if r := x.Apply(3, at, &Record{Article: "c", Feed: "g", StoryKeys: []uint64{2}, StorySig: floods}); r.Story == nil || r.Story.ID != "c" || !r.NewStory {
		t.Errorf("c, b's story one horizon and 0.1 s after b: story %+v, want a new one", r.Story)
	}
	if r := x.Apply(4, at, &Record{Article: "d", Feed: "g", StoryKeys: []uint64{1}, StorySig: final}); r.Story == nil || r.Story.ID != "a" || r.Story.Sources != 2 {
		t.Errorf("d, a's story 0.4 s before a expires: story %+v, want a's with 2 sources", r.Story)
	}
}

// A story's state lives as long as one of its articles is indexed: a
// story whose first article has expired is still joined by its name, and
// one whose articles have all expired is forgotten, its state's number
// used again by a later story. An index that runs for many horizons keeps
// only the states of its live stories.
func TestStoriesReleased(t *testing.T) {
	h := time.Hour
	x := NewIndex(Rules{Horizon: h})
	_, sig, ok := x.rules.Story.Sketch(dedup.Words{Title: strings.Fields("valencia floods force thousands from homes")})
	if !ok {
		t.Fatal("no sketch")
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seq := uint64(0)
	apply := func(at time.Duration, id, feed string) Result {
		seq++
		return x.Apply(seq, t0.Add(at), &Record{Article: id, Feed: feed, StoryKeys: []uint64{1, 2}, StorySig: sig})
	}
	for round := range 40 {
		start := time.Duration(round) * 3 * h
		a, b := fmt.Sprint(round, "a"), fmt.Sprint(round, "b")
		if r := apply(start, a, "f"); r.Story == nil || r.Story.ID != a || !r.NewStory {
			t.Fatalf("round %d: %s's story %+v, want a new one", round, a, r.Story)
		}
		if r := apply(start+h/2, b, "g"); r.Story == nil || r.Story.ID != a || r.Story.Sources != 2 {
			t.Fatalf("round %d: %s's story %+v, want %s's with 2 sources", round, b, r.Story, a)
		}
		if r := apply(start+h/2, b, "g"); !r.Repeat || r.Story == nil || r.Story.ID != a {
			t.Fatalf("round %d: %s redelivered: %+v, story %+v, want a repeat in %s's story", round, b, r, r.Story, a)
		}
		// a has expired, b has not: its story goes on under a's name.
		c := fmt.Sprint(round, "c")
		if r := apply(start+h+h/4, c, "k"); r.Story == nil || r.Story.ID != a || r.Story.Sources != 3 || !r.Story.FirstSeen.Equal(t0.Add(start)) {
			t.Fatalf("round %d: %s's story %+v, want %s's, first seen %v, with 3 sources", round, c, r.Story, a, t0.Add(start))
		}
	}
	if n := len(x.stories) - len(x.freed); n > 3 {
		t.Fatalf("%d story states kept after 40 horizons of one story each", n)
	}
	if len(x.stories) > 4 {
		t.Fatalf("%d story numbers used for one story at a time", len(x.stories))
	}
}

// A story signature no story sketch makes (too long to be packed) tells
// no story the same as any other, and leaves the entry's other fields
// whole.
func TestLongStorySig(t *testing.T) {
	x := NewIndex(Rules{})
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long := bytes.Repeat([]byte{7}, 300)
	key := Key{Kind: KindURL, Hash: 5}
	for i, id := range []string{"first", "second"} {
		r := x.Apply(uint64(i+1), t0.Add(time.Duration(i)*time.Second), &Record{Article: id, Feed: "f", Keys: []Key{key}, StoryKeys: []uint64{1}, StorySig: long})
		if r.Story == nil || r.Story.ID != id || !r.NewStory {
			t.Fatalf("%s: story %+v, want one of its own", id, r.Story)
		}
		if i == 1 && (r.Duplicate == nil || r.Duplicate.Of != "first") {
			t.Fatalf("%s: duplicate %+v, want of first", id, r.Duplicate)
		}
		if e := x.at(uint64(i + 1)); string(e.id()) != id || e.storyLen != 1 {
			t.Fatalf("%s: entry of id %q with a story signature of %d bytes", id, e.id(), e.storyLen)
		}
	}
}
