package ledger

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"slices"
)

// The index's two key tables: hot, the newest segment's keys, written as
// records arrive; table, every older segment's live keys merged, read-only
// until the next merge. Both map slots (uniform 64-bit hashes) to numbers.

// hot is an open-addressing hash table of slots to entry indexes (linear
// probing on the slot's top bits, which are uniform), 3/8 to 3/4 full. A
// place holds a slot's top 32 bits beside its value, so a probe reads one
// cache line, and in an exact table its low 32 bits apart (read only when
// the top ones match): 12 bytes a place; a narrow one (band slots, whose
// low 32 bits are 0: bandSlot) keeps no low bits, 8 bytes a place.
type hot struct {
	places []uint64 // top 32 bits << 32 | index + 1; 0: an empty place
	lo     []uint32 // nil: narrow
	n      int
	shift  uint // 64 - log2(len(places))
}

// narrow reports whether h keeps no low bits (band slots).
func (h *hot) narrow() bool { return h.lo == nil }

// holds reports whether place i, holding p, holds slot k.
func (h *hot) holds(i int, p, k uint64) bool {
	return p>>32 == k>>32 && (h.narrow() || h.lo[i] == uint32(k))
}

// get returns the value of slot k.
func (h *hot) get(k uint64) (uint32, bool) {
	if h.n == 0 {
		return 0, false
	}
	mask := len(h.places) - 1
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		switch p := h.places[i]; {
		case p == 0:
			return 0, false
		case h.holds(i, p, k):
			return uint32(p) - 1, true
		}
	}
}

// place adds the place a lookup of k reads first to w (Index.warm).
func (h *hot) place(k uint64, w *warmth) {
	if h.n > 0 {
		w.u64 = append(w.u64, &h.places[k>>h.shift])
	}
}

// set makes v the value of slot k.
func (h *hot) set(k uint64, v uint32) {
	if 4*(h.n+1) > 3*len(h.places) {
		h.grow()
	}
	mask := len(h.places) - 1
	place := k>>32<<32 | uint64(v+1)
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		switch p := h.places[i]; {
		case p == 0:
			h.places[i] = place
			if !h.narrow() {
				h.lo[i] = uint32(k)
			}
			h.n++
			return
		case h.holds(i, p, k):
			h.places[i] = place
			return
		}
	}
}

// newHot is an empty hot table, narrow or not, with room for n slots
// before it grows: a new segment's table is sized for as many keys as the
// last one had, so it does not stop to grow (and rehash millions of
// slots) while records wait.
func newHot(n int, narrow bool) hot {
	size := 1024
	for 3*size < 4*n {
		size *= 2
	}
	h := hot{places: make([]uint64, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	if !narrow {
		h.lo = make([]uint32, size)
	}
	return h
}

// grow doubles the places and puts every slot back.
func (h *hot) grow() {
	old := *h
	*h = newHot(2*len(old.places)*3/4, old.narrow())
	for i, p := range old.places {
		if p != 0 {
			h.set(old.slot(i), uint32(p)-1)
		}
	}
}

// slot is the slot at place i.
func (h *hot) slot(i int) uint64 {
	k := h.places[i] >> 32 << 32
	if !h.narrow() {
		k |= uint64(h.lo[i])
	}
	return k
}

// pair is a slot and its value.
type pair struct {
	slot uint64
	v    uint32
}

// sorted returns the slots and their values in slot order. A slot sits
// at the place its top bits name or a little after (linear probing), or,
// past the last place, wrapped to the first ones: read in place order,
// with the wrapped ones last, the slots are nearly in order already, and
// an insertion sort finishes them in about one pass (a sort of the lot
// was a third of a merge at a million articles).
func (h *hot) sorted() []pair {
	pairs := make([]pair, 0, h.n)
	var wrapped []pair
	for i, v := range h.places {
		if v != 0 {
			p := pair{h.slot(i), uint32(v) - 1}
			if int(p.slot>>h.shift) > i {
				wrapped = append(wrapped, p)
			} else {
				pairs = append(pairs, p)
			}
		}
	}
	pairs = append(pairs, wrapped...)
	moves := 0
	for i := 1; i < len(pairs); i++ {
		for j := i; j > 0 && pairs[j].slot < pairs[j-1].slot; j-- {
			pairs[j], pairs[j-1] = pairs[j-1], pairs[j]
			moves++
		}
		if moves > 8*len(pairs) { // slots far from uniform: sort them
			slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(a.slot, b.slot) })
			break
		}
	}
	return pairs
}

// table is a read-only map of slots (uniform 64-bit hashes) to entry
// numbers (their low 32 bits). A slot's top bits choose its bucket: 16
// bits (256 KiB of bucket starts) up to 4M keys, more above, so that a
// bucket holds 32-64 keys and start, where each bucket begins in 4 bytes
// per 32 keys or more, stays in the CPU's cache. In its bucket a slot is
// kept as its bits 32-47 (hi) and, in an exact table, its low 32 bits
// (lo), sorted, beside its value. Values are kept less the smallest a
// table may hold (base), in as few bits as the span of the index's live
// entries needs (width: 20 at a million), back to back: about 8.5 bytes a
// key in an exact table, 4.5 in a narrow one, at a million entries. A
// slot is found where its bits put it in its bucket (slots are uniform),
// stepping on hi, 32 to a cache line: a lookup of an absent slot (most
// are) reads one line or two.
//
// An exact table knows every slot by all its 64 bits (the top 16 are in
// its bucket's number). A narrow table knows only a slot's top 32 bits,
// whatever its number of buckets: the index gives it only slots whose low
// 32 bits are 0 (band keys, bandSlot), so it is exact for them too, and
// tables of any size merge into one another without loss.
type table struct {
	hi    []uint16
	lo    []uint32 // nil: a narrow table
	vals  []byte   // value - base, width bits each, then 8 bytes of slack
	base  uint32
	width uint     // 1 to 32
	start []uint32 // 1<<bits + 1 (nil while empty)
	bits  uint
}

// parts are the bits of slot k a table keeps beside its bucket's number
// (which holds the top 16 or more).
func parts(k uint64) (hi uint16, lo uint32) { return uint16(k >> 32), uint32(k) }

// slot is the slot kept as bucket b, hi and lo (lo 0 in a narrow table).
func (t *table) slot(b uint64, hi uint16, lo uint32) uint64 {
	return b<<(64-t.bits) | uint64(hi)<<32 | uint64(lo)
}

// val is the value of place i.
func (t *table) val(i int) uint32 {
	at := uint(i) * t.width
	return t.base + uint32(binary.LittleEndian.Uint64(t.vals[at>>3:])>>(at&7)&(1<<t.width-1))
}

// guess returns the bounds of k's bucket and the place between them
// where k's bits put it (lo == hi: an empty bucket, i not a place).
func (t *table) guess(k uint64) (lo, hi, i int) {
	b := k >> (64 - t.bits)
	lo, hi = int(t.start[b]), int(t.start[b+1])
	return lo, hi, lo + int((k<<t.bits>>32)*uint64(hi-lo)>>32)
}

func (t *table) get(k uint64) (uint32, bool) {
	if len(t.hi) == 0 {
		return 0, false
	}
	lo, hi, i := t.guess(k)
	if lo == hi {
		return 0, false
	}
	// From where k's bits put it, step to the first place of its hi.
	h, l := parts(k)
	if t.hi[i] < h {
		for i++; i < hi && t.hi[i] < h; i++ {
		}
	} else {
		for i > lo && t.hi[i-1] >= h {
			i--
		}
	}
	for ; i < hi && t.hi[i] == h; i++ {
		if t.lo == nil || t.lo[i] == l {
			return t.val(i), true
		}
	}
	return 0, false
}

// place adds the places a lookup of k reads first to w (Index.warm):
// the hi and the value of the place its bits guess.
func (t *table) place(k uint64, w *warmth) {
	if len(t.hi) == 0 {
		return
	}
	if lo, hi, i := t.guess(k); lo < hi {
		w.u16 = append(w.u16, &t.hi[i])
		w.u8 = append(w.u8, &t.vals[uint(i)*t.width>>3])
	}
}

// merged calls emit, in slot order, with every slot of add (its values
// numbered from base) and every slot of t that add does not hold and
// whose value keep keeps: the slots of a merge of t with a newer hot
// table's (Index.merge). One loop, not each's call a slot: a merge walks
// every key of the index.
func (t *table) merged(add []pair, base uint64, keep func(v uint32) bool, emit func(k uint64, v uint32)) {
	j := 0
	for b := range max(len(t.start), 1) - 1 {
		for i := int(t.start[b]); i < int(t.start[b+1]); i++ {
			var lo uint32
			if t.lo != nil {
				lo = t.lo[i]
			}
			k := t.slot(uint64(b), t.hi[i], lo)
			for ; j < len(add) && add[j].slot < k; j++ {
				emit(add[j].slot, uint32(base+uint64(add[j].v)))
			}
			if j < len(add) && add[j].slot == k {
				continue // the newer owner wins
			}
			if v := t.val(i); keep(v) {
				emit(k, v)
			}
		}
	}
	for ; j < len(add); j++ {
		emit(add[j].slot, uint32(base+uint64(add[j].v)))
	}
}

// tableBuilder makes a table from slots added in order.
type tableBuilder struct {
	t table
	b uint64 // the next bucket whose start is unset
}

// newTableBuilder returns a builder sized for a table of n slots (it
// grows past them), narrow or exact, whose values lie in base to base+span-1 (mod 2^32).
func newTableBuilder(n int, narrow bool, base uint32, span uint64) *tableBuilder {
	buckets := uint(16)
	for 1<<(buckets+6) < n {
		buckets++
	}
	return newTableBuilderBits(n, narrow, base, span, buckets)
}

// newTableBuilderBits is newTableBuilder with 2^buckets buckets.
func newTableBuilderBits(n int, narrow bool, base uint32, span uint64, buckets uint) *tableBuilder {
	w := uint(max(1, min(32, bits.Len64(span-1))))
	t := table{hi: make([]uint16, 0, n), vals: make([]byte, valBytes(n, w)), base: base, width: w, start: make([]uint32, 1<<buckets+1), bits: buckets}
	if !narrow {
		t.lo = make([]uint32, 0, n)
	}
	return &tableBuilder{t: t}
}

// add appends slot k with value v; k must not be below the last added.
func (tb *tableBuilder) add(k uint64, v uint32) {
	t := &tb.t
	for ; tb.b <= k>>(64-t.bits); tb.b++ {
		t.start[tb.b] = uint32(len(t.hi))
	}
	hi, lo := parts(k)
	at := uint(len(t.hi)) * t.width
	t.hi = append(t.hi, hi)
	if t.lo != nil {
		t.lo = append(t.lo, lo)
	}
	for len(t.vals) < int(at>>3)+8 { // past the n slots sized for
		t.vals = append(t.vals, 0)
	}
	w := t.vals[at>>3:]
	binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)|uint64(v-t.base)&(1<<t.width-1)<<(at&7))
}

// table returns the table built, holding no more room than its slots
// need (a builder sized for more is trimmed; a merge sizes its own
// exactly).
func (tb *tableBuilder) table() table {
	t := tb.t
	if len(t.hi) == 0 {
		return table{}
	}
	for ; tb.b < uint64(len(t.start)); tb.b++ {
		t.start[tb.b] = uint32(len(t.hi))
	}
	if v := valBytes(len(t.hi), t.width); len(t.vals) > v { // sized for more
		t.vals = t.vals[:v]
	}
	if cap(t.hi)-len(t.hi) > len(t.hi)/32 {
		t.hi, t.vals = slices.Clone(t.hi), slices.Clone(t.vals)
		if t.lo != nil {
			t.lo = slices.Clone(t.lo)
		}
	}
	return t
}

// valBytes is the room of n values of w bits and the 8 bytes val reads
// past the last.
func valBytes(n int, w uint) int { return (n*int(w)+7)/8 + 8 }
