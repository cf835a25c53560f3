package ledger

import (
	"cmp"
	"math/bits"
	"slices"
)

// The index's two key tables: hot, the newest segment's keys, written as
// records arrive; table, every older segment's live keys merged, read-only
// until the next merge. Both map slots (uniform 64-bit hashes) to numbers,
// and keep a key and its number side by side, so that finding a key costs
// one cache miss, not two.

// hot is an open-addressing hash table of slots to entry indexes (linear
// probing on the slot's top bits, which are uniform): 12 bytes a place,
// 3/8 to 3/4 full, one cache line read for most lookups. The zero value is
// empty and ready.
type hot struct {
	places []place
	n      int
	shift  uint // 64 - log2(len(places))
}

// place is a slot (its high and low halves) and a value (in hot, the
// value + 1, 0 marking an empty place): three words, not a uint64 and a
// uint32, which would pad to 16 bytes.
type place struct{ hi, lo, v uint32 }

func (p *place) slot() uint64 { return uint64(p.hi)<<32 | uint64(p.lo) }

// get returns the value of slot k.
func (h *hot) get(k uint64) (uint32, bool) {
	if h.n == 0 {
		return 0, false
	}
	mask := len(h.places) - 1
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		p := &h.places[i]
		switch {
		case p.v == 0:
			return 0, false
		case p.slot() == k:
			return p.v - 1, true
		}
	}
}

// set makes v the value of slot k.
func (h *hot) set(k uint64, v uint32) {
	if 4*(h.n+1) > 3*len(h.places) {
		h.grow()
	}
	mask := len(h.places) - 1
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		p := &h.places[i]
		switch {
		case p.v == 0:
			*p = place{hi: uint32(k >> 32), lo: uint32(k), v: v + 1}
			h.n++
			return
		case p.slot() == k:
			p.v = v + 1
			return
		}
	}
}

// newHot is an empty hot table with room for n slots before it grows: a
// new segment's table is sized for as many keys as the last one had, so
// it does not stop to grow (and rehash millions of slots) while records
// wait.
func newHot(n int) hot {
	size := 1024
	for 3*size < 4*n {
		size *= 2
	}
	return hot{places: make([]place, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

// grow doubles the places and puts every slot back.
func (h *hot) grow() {
	old := *h
	*h = newHot(2 * len(old.places) * 3 / 4)
	for i := range old.places {
		if p := &old.places[i]; p.v != 0 {
			h.set(p.slot(), p.v-1)
		}
	}
}

// pair is a slot and its value.
type pair struct {
	slot uint64
	v    uint32
}

// sorted returns the slots and their values in slot order.
func (h *hot) sorted() []pair {
	pairs := make([]pair, 0, h.n)
	for i := range h.places {
		if p := &h.places[i]; p.v != 0 {
			pairs = append(pairs, pair{p.slot(), p.v - 1})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(a.slot, b.slot) })
	return pairs
}

// table is a read-only map of slots (uniform 64-bit hashes) to entry
// numbers (their low 32 bits) in 12 bytes a key, each slot beside its
// value, sorted. A slot's top 16 bits choose its bucket and start holds
// where each bucket begins (256 KiB, small enough to stay in the CPU's
// cache); a slot is found where its next 32 bits put it within its bucket
// (slots are uniform), usually in the first cache line read.
type table struct {
	places []place  // in slot order
	start  []uint32 // 1<<tableBits + 1 (nil while empty)
}

const tableBits = 16

func (t *table) get(k uint64) (uint32, bool) {
	if len(t.places) == 0 {
		return 0, false
	}
	b := k >> (64 - tableBits)
	lo, hi := int(t.start[b]), int(t.start[b+1])
	if lo == hi {
		return 0, false
	}
	// Where k falls between the bucket's bounds, then step to it.
	i := lo + int((k<<tableBits>>32)*uint64(hi-lo)>>32)
	if t.places[i].slot() < k {
		for i++; i < hi && t.places[i].slot() < k; i++ {
		}
	} else {
		for i > lo && t.places[i-1].slot() >= k {
			i--
		}
	}
	if i < hi && t.places[i].slot() == k {
		return t.places[i].v, true
	}
	return 0, false
}

// tableBuilder makes a table from slots added in order.
type tableBuilder struct {
	t table
	b uint64 // the next bucket whose start is unset
}

func newTableBuilder(n int) *tableBuilder {
	return &tableBuilder{t: table{places: make([]place, 0, n), start: make([]uint32, 1<<tableBits+1)}}
}

// add appends slot k with value v; k must be above the last added.
func (tb *tableBuilder) add(k uint64, v uint32) {
	for ; tb.b <= k>>(64-tableBits); tb.b++ {
		tb.t.start[tb.b] = uint32(len(tb.t.places))
	}
	tb.t.places = append(tb.t.places, place{hi: uint32(k >> 32), lo: uint32(k), v: v})
}

// table returns the table built.
func (tb *tableBuilder) table() table {
	if len(tb.t.places) == 0 {
		return table{}
	}
	for ; tb.b < uint64(len(tb.t.start)); tb.b++ {
		tb.t.start[tb.b] = uint32(len(tb.t.places))
	}
	return tb.t
}
