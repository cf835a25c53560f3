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
// probing from a place the slot's top bits, which are uniform, scale to),
// at most 3/4 full, of any size (a power of two would hold up to twice
// the room a segment's keys need: 17 bytes an article at a million). A
// place holds a slot's top 32 bits beside its value, so a probe reads one
// cache line, and in an exact table its low 32 bits apart (read only when
// the top ones match): 12 bytes a place; a narrow one (band slots, whose
// low 32 bits are 0: bandSlot) keeps no low bits, 8 bytes a place.
type hot struct {
	places []uint64 // top 32 bits << 32 | index + 1; 0: an empty place
	lo     []uint32 // nil: narrow
	n      int
}

// narrow reports whether h keeps no low bits (band slots).
func (h *hot) narrow() bool { return h.lo == nil }

// home is the place where slot k's probe starts: its top 32 bits scaled
// to the places, so that slots in order have homes in order (sorted).
func (h *hot) home(k uint64) int { return int(k >> 32 * uint64(len(h.places)) >> 32) }

// next is the place probed after i.
func (h *hot) next(i int) int {
	if i++; i == len(h.places) {
		return 0
	}
	return i
}

// holds reports whether place i, holding p, holds slot k.
func (h *hot) holds(i int, p, k uint64) bool {
	return p>>32 == k>>32 && (h.narrow() || h.lo[i] == uint32(k))
}

// get returns the value of slot k.
func (h *hot) get(k uint64) (uint32, bool) {
	if h.n == 0 {
		return 0, false
	}
	for i := h.home(k); ; i = h.next(i) {
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
		w.u64 = append(w.u64, &h.places[h.home(k)])
	}
}

// set makes v the value of slot k.
func (h *hot) set(k uint64, v uint32) {
	if 4*(h.n+1) > 3*len(h.places) {
		h.grow()
	}
	place := k>>32<<32 | uint64(v+1)
	for i := h.home(k); ; i = h.next(i) {
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
// before it grows: a new segment's table is sized for an eighth more keys
// than the last one had, so it seldom stops to grow (and rehash millions
// of slots) while records wait.
func newHot(n int, narrow bool) hot {
	size := max(1024, (4*n+2)/3)
	h := hot{places: make([]uint64, size)}
	if !narrow {
		h.lo = make([]uint32, size)
	}
	return h
}

// grow doubles the places and puts every slot back.
func (h *hot) grow() { h.resize(len(h.places) * 3 / 2) }

// resize gives h room for n slots (newHot) and puts every slot back.
func (h *hot) resize(n int) {
	old := *h
	*h = newHot(n, old.narrow())
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
			if h.home(p.slot) > i {
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
// per 32 keys or more, stays in the CPU's cache. In its bucket the slots
// are sorted, and a value is kept less the smallest a table may hold
// (base), in as few bits as the span of the index's live entries needs
// (width: 20 at a million). A slot is found where its bits put it in its
// bucket (slots are uniform), stepping on the bits kept of it: a lookup
// of an absent slot (most are) reads one cache line or two.
//
// An exact table knows every slot by all its 64 bits: the top 16 or more
// in its bucket's number, bits 32-47 (hi, 32 to a cache line) and the low
// 32 bits (lo) in arrays of their own, the values back to back in a
// third: about 8.5 bytes a key at a million entries.
//
// A narrow table knows only a slot's top 32 bits, whatever its number of
// buckets: the index gives it only slots whose low 32 bits are 0 (band
// keys, bandSlot), so it is exact for them too, and tables of any size
// merge into one another without loss. It keeps a slot's bits below its
// bucket's number and above bit 32 (32 - bits of them) and its value side
// by side, in fields of width + 32 - bits bits back to back: a probe reads
// one cache line for both, and a key takes 34 bits at 13M band keys (18
// bucket bits, 20-bit values).
type table struct {
	hi    []uint16 // exact: bits 32-47 of each slot
	lo    []uint32 // exact: the low 32 bits of each slot; nil: a narrow table
	vals  []byte   // exact: value - base, width bits each; narrow: fields; then 8 bytes of slack
	n     int      // slots
	base  uint32
	width uint     // of a value: 1 to 32
	field uint     // of a narrow table's field: width + rest
	rest  uint     // of a narrow table's slot bits kept: 32 - bits
	start []uint32 // 1<<bits + 1 (nil while empty)
	bits  uint
}

// narrow reports whether t keeps only its slots' top 32 bits.
func (t *table) narrow() bool { return t.lo == nil }

// key is the part of slot k a lookup steps on in its bucket: bits 32-47
// in an exact table, bits 32 to 63-bits in a narrow one.
func (t *table) key(k uint64) uint32 {
	if t.narrow() {
		return uint32(k>>32) & (1<<t.rest - 1)
	}
	return uint32(uint16(k >> 32))
}

// keyAt is the key (above) of place i.
func (t *table) keyAt(i int) uint32 {
	if t.narrow() {
		return uint32(t.bitsAt(i*int(t.field)+int(t.width), t.rest))
	}
	return uint32(t.hi[i])
}

// val is the value of place i.
func (t *table) val(i int) uint32 {
	at := i * int(t.width)
	if t.narrow() {
		at = i * int(t.field)
	}
	return t.base + uint32(t.bitsAt(at, t.width))
}

// bitsAt is the n bits of vals from bit at on (n + at%8 <= 64).
func (t *table) bitsAt(at int, n uint) uint64 {
	return binary.LittleEndian.Uint64(t.vals[at>>3:]) >> (at & 7) & (1<<n - 1)
}

// slot is the slot kept in bucket b as key and lo (lo 0 in a narrow
// table).
func (t *table) slot(b uint64, key, lo uint32) uint64 {
	return b<<(64-t.bits) | uint64(key)<<32 | uint64(lo)
}

// guess returns the bounds of k's bucket and the place between them
// where k's bits put it (lo == hi: an empty bucket, i not a place).
func (t *table) guess(k uint64) (lo, hi, i int) {
	b := k >> (64 - t.bits)
	lo, hi = int(t.start[b]), int(t.start[b+1])
	return lo, hi, lo + int((k<<t.bits>>32)*uint64(hi-lo)>>32)
}

func (t *table) get(k uint64) (uint32, bool) {
	if t.n == 0 {
		return 0, false
	}
	lo, hi, i := t.guess(k)
	if lo == hi {
		return 0, false
	}
	// From where k's bits put it, step to the first place of its key.
	h := t.key(k)
	if t.keyAt(i) < h {
		for i++; i < hi && t.keyAt(i) < h; i++ {
		}
	} else {
		for i > lo && t.keyAt(i-1) >= h {
			i--
		}
	}
	for ; i < hi && t.keyAt(i) == h; i++ {
		if t.narrow() || t.lo[i] == uint32(k) {
			return t.val(i), true
		}
	}
	return 0, false
}

// place adds the places a lookup of k reads first to w (Index.warm):
// the key and the value of the place its bits guess.
func (t *table) place(k uint64, w *warmth) {
	if t.n == 0 {
		return
	}
	lo, hi, i := t.guess(k)
	switch {
	case lo == hi:
	case t.narrow():
		w.u8 = append(w.u8, &t.vals[i*int(t.field)>>3])
	default:
		w.u16 = append(w.u16, &t.hi[i])
		w.u8 = append(w.u8, &t.vals[i*int(t.width)>>3])
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
			if !t.narrow() {
				lo = t.lo[i]
			}
			k := t.slot(uint64(b), t.keyAt(i), lo)
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
// grows past them), narrow or exact, whose values lie in base to
// base+span-1 (mod 2^32).
func newTableBuilder(n int, narrow bool, base uint32, span uint64) *tableBuilder {
	buckets := uint(16)
	for 1<<(buckets+6) < n {
		buckets++
	}
	return newTableBuilderBits(n, narrow, base, span, buckets)
}

// newTableBuilderBits is newTableBuilder with 2^buckets buckets (16 to
// 32).
func newTableBuilderBits(n int, narrow bool, base uint32, span uint64, buckets uint) *tableBuilder {
	w := uint(max(1, min(32, bits.Len64(span-1))))
	t := table{base: base, width: w, start: make([]uint32, 1<<buckets+1), bits: buckets}
	if narrow {
		t.rest = 32 - buckets
		t.field = w + t.rest
		t.vals = make([]byte, valBytes(n, t.field))
	} else {
		t.hi, t.lo, t.vals = make([]uint16, 0, n), make([]uint32, 0, n), make([]byte, valBytes(n, w))
	}
	return &tableBuilder{t: t}
}

// add appends slot k with value v; k must not be below the last added.
func (tb *tableBuilder) add(k uint64, v uint32) {
	t := &tb.t
	for ; tb.b <= k>>(64-t.bits); tb.b++ {
		t.start[tb.b] = uint32(t.n)
	}
	f, n, at := uint64(v-t.base)&(1<<t.width-1), t.width, t.n*int(t.width)
	if t.narrow() {
		f, n, at = f|uint64(t.key(k))<<t.width, t.field, t.n*int(t.field)
	} else {
		t.hi, t.lo = append(t.hi, uint16(k>>32)), append(t.lo, uint32(k))
	}
	for len(t.vals) < valBytes(t.n+1, n) { // past the n slots sized for
		t.vals = append(t.vals, 0)
	}
	w := t.vals[at>>3:]
	binary.LittleEndian.PutUint64(w, binary.LittleEndian.Uint64(w)|f&(1<<n-1)<<(at&7))
	t.n++
}

// table returns the table built, holding no more room than its slots
// need (a builder sized for more is trimmed; a merge sizes its own
// exactly).
func (tb *tableBuilder) table() table {
	t := tb.t
	if t.n == 0 {
		return table{}
	}
	for ; tb.b < uint64(len(t.start)); tb.b++ {
		t.start[tb.b] = uint32(t.n)
	}
	w := t.width
	if t.narrow() {
		w = t.field
	}
	if v := valBytes(t.n, w); len(t.vals) > v { // sized for more
		t.vals = t.vals[:v]
	}
	if cap(t.vals)-len(t.vals) > len(t.vals)/32 {
		t.vals = slices.Clone(t.vals)
	}
	if cap(t.hi)-len(t.hi) > len(t.hi)/32 {
		t.hi, t.lo = slices.Clone(t.hi), slices.Clone(t.lo)
	}
	return t
}

// valBytes is the room of n values of w bits and the 8 bytes a read
// reads past the last.
func valBytes(n int, w uint) int { return (n*int(w)+7)/8 + 8 }
