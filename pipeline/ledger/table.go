package ledger

import (
	"cmp"
	"math/bits"
	"slices"
)

// The index's two key tables: hot, the newest segment's keys, written as
// records arrive; table, every older segment's live keys merged, read-only
// until the next merge. Both map slots (uniform 64-bit hashes) to numbers.

// hot is an open-addressing hash table of slots to entry indexes (linear
// probing on the slot's top bits, which are uniform): 12 bytes a place,
// 3/8 to 3/4 full. The values are apart from the slots: a lookup of an
// absent slot (most are) reads only values until it meets an empty place,
// 16 to a cache line. The zero value is empty and ready.
type hot struct {
	keys  []uint64
	vals  []uint32 // index + 1; 0: an empty place
	n     int
	shift uint // 64 - log2(len(keys))
}

// get returns the value of slot k.
func (h *hot) get(k uint64) (uint32, bool) {
	if h.n == 0 {
		return 0, false
	}
	mask := len(h.keys) - 1
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		switch {
		case h.vals[i] == 0:
			return 0, false
		case h.keys[i] == k:
			return h.vals[i] - 1, true
		}
	}
}

// first reads the place a lookup of k reads first (Index.warm).
func (h *hot) first(k uint64) uint32 {
	if h.n == 0 {
		return 0
	}
	i := k >> h.shift
	return h.vals[i] + uint32(h.keys[i])
}

// set makes v the value of slot k.
func (h *hot) set(k uint64, v uint32) {
	if 4*(h.n+1) > 3*len(h.keys) {
		h.grow()
	}
	mask := len(h.keys) - 1
	for i := int(k >> h.shift); ; i = (i + 1) & mask {
		switch {
		case h.vals[i] == 0:
			h.keys[i], h.vals[i] = k, v+1
			h.n++
			return
		case h.keys[i] == k:
			h.vals[i] = v + 1
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
	return hot{keys: make([]uint64, size), vals: make([]uint32, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
}

// grow doubles the places and puts every slot back.
func (h *hot) grow() {
	old := *h
	*h = newHot(2 * len(old.keys) * 3 / 4)
	for i, v := range old.vals {
		if v != 0 {
			h.set(old.keys[i], v-1)
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
	for i, v := range h.vals {
		if v != 0 {
			pairs = append(pairs, pair{h.keys[i], v - 1})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(a.slot, b.slot) })
	return pairs
}

// table is a read-only map of slots (uniform 64-bit hashes) to entry
// numbers (their low 32 bits) in 10 bytes a key. A slot's top bits choose
// its bucket: 16 bits (256 KiB of bucket starts) up to 4M keys, more
// above, so that a bucket holds 32-64 keys and start holds where each
// bucket begins in 4 bytes per 32 keys or more, small enough to stay in
// the CPU's cache; in the bucket, the slot's low 48 bits are kept beside its
// value, sorted, and a slot is found where its bits put it within its
// bucket (slots are uniform), usually in the first cache line read.
type table struct {
	words []word
	start []uint32 // 1<<bits + 1 (nil while empty)
	bits  uint
}

// word is a slot's low 48 bits and its value, in five 16-bit halves (no
// padding). The bucket holds the slot's top 16 bits or more.
type word [5]uint16

const lowBits = 1<<48 - 1

func makeWord(k uint64, v uint32) word {
	return word{uint16(k >> 32), uint16(k >> 16), uint16(k), uint16(v >> 16), uint16(v)}
}
func (w *word) low() uint64   { return uint64(w[0])<<32 | uint64(w[1])<<16 | uint64(w[2]) }
func (w *word) value() uint32 { return uint32(w[3])<<16 | uint32(w[4]) }

// guess returns the bounds of k's bucket and the place between them
// where k's bits put it (lo == hi: an empty bucket, i not a place).
func (t *table) guess(k uint64) (lo, hi, i int) {
	b := k >> (64 - t.bits)
	lo, hi = int(t.start[b]), int(t.start[b+1])
	return lo, hi, lo + int((k<<t.bits>>32)*uint64(hi-lo)>>32)
}

func (t *table) get(k uint64) (uint32, bool) {
	if len(t.words) == 0 {
		return 0, false
	}
	lo, hi, i := t.guess(k)
	if lo == hi {
		return 0, false
	}
	// From where k's bits put it, step to it.
	low := k & lowBits
	if t.words[i].low() < low {
		for i++; i < hi && t.words[i].low() < low; i++ {
		}
	} else {
		for i > lo && t.words[i-1].low() >= low {
			i--
		}
	}
	if i < hi && t.words[i].low() == low {
		return t.words[i].value(), true
	}
	return 0, false
}

// first reads the word a lookup of k reads first (Index.warm).
func (t *table) first(k uint64) uint32 {
	if len(t.words) == 0 {
		return 0
	}
	if lo, hi, i := t.guess(k); lo < hi {
		return uint32(t.words[i][0])
	}
	return 0
}

// each calls fn with every slot and its value, in slot order.
func (t *table) each(fn func(k uint64, v uint32)) {
	for b := range len(t.start) - 1 {
		for i := t.start[b]; i < t.start[b+1]; i++ {
			fn(uint64(b)<<(64-t.bits)|t.words[i].low(), t.words[i].value())
		}
	}
}

// tableBuilder makes a table from slots added in order.
type tableBuilder struct {
	t table
	b uint64 // the next bucket whose start is unset
}

// newTableBuilder returns a builder for a table of up to n slots.
func newTableBuilder(n int) *tableBuilder {
	bits := uint(16)
	for 1<<(bits+6) < n {
		bits++
	}
	return &tableBuilder{t: table{words: make([]word, 0, n), start: make([]uint32, 1<<bits+1), bits: bits}}
}

// add appends slot k with value v; k must be above the last added.
func (tb *tableBuilder) add(k uint64, v uint32) {
	for ; tb.b <= k>>(64-tb.t.bits); tb.b++ {
		tb.t.start[tb.b] = uint32(len(tb.t.words))
	}
	tb.t.words = append(tb.t.words, makeWord(k, v))
}

// table returns the table built, holding no more room than its slots
// need: a merge is sized for every slot it may keep, and the slots of
// expired segments and the ones taken over (about an eighth) are not.
func (tb *tableBuilder) table() table {
	if len(tb.t.words) == 0 {
		return table{}
	}
	for ; tb.b < uint64(len(tb.t.start)); tb.b++ {
		tb.t.start[tb.b] = uint32(len(tb.t.words))
	}
	if cap(tb.t.words)-len(tb.t.words) > len(tb.t.words)/32 {
		tb.t.words = slices.Clone(tb.t.words)
	}
	return tb.t
}
