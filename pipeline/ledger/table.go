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
// 3/8 to 3/4 full, one cache line read for most lookups. The zero value is
// empty and ready.
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

// sorted returns the slots in order, with their values.
func (h *hot) sorted() ([]uint64, []uint32) {
	type pair struct {
		k uint64
		v uint32
	}
	pairs := make([]pair, 0, h.n)
	for i, v := range h.vals {
		if v != 0 {
			pairs = append(pairs, pair{h.keys[i], v - 1})
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return cmp.Compare(a.k, b.k) })
	keys, vals := make([]uint64, len(pairs)), make([]uint32, len(pairs))
	for j, p := range pairs {
		keys[j], vals[j] = p.k, p.v
	}
	return keys, vals
}

// table is a read-only map of slots (uniform 64-bit hashes) to entry
// numbers (their low 32 bits) in 12 bytes a key: the slots sorted, and for
// each bucket of their top bits the position of its first slot. Buckets
// hold about 64 slots, so the bucket starts are small enough to stay in
// the CPU's cache (4 bytes per 64 keys), and a slot is found where its
// value puts it within its bucket (slots are uniform), usually in the
// first cache line read.
type table struct {
	slots []uint64
	vals  []uint32
	start []uint32 // len 1<<bits + 1
	shift uint
}

// index builds the bucket starts of a table whose slots and vals are set.
func (t *table) index() {
	bits := uint(1)
	for 1<<(bits+6) < len(t.slots) { // about 64 slots a bucket
		bits++
	}
	t.shift = 64 - bits
	t.start = make([]uint32, 1<<bits+1)
	b := uint64(0)
	for i, k := range t.slots {
		for ; b <= k>>t.shift; b++ {
			t.start[b] = uint32(i)
		}
	}
	for ; b < uint64(len(t.start)); b++ {
		t.start[b] = uint32(len(t.slots))
	}
}

func (t *table) get(k uint64) (uint32, bool) {
	if len(t.slots) == 0 {
		return 0, false
	}
	b := k >> t.shift
	lo, hi := int(t.start[b]), int(t.start[b+1])
	if lo == hi {
		return 0, false
	}
	// Where k falls between the bucket's bounds, then step to it.
	at, _ := bits.Mul64(k<<(64-t.shift), uint64(hi-lo))
	i := lo + int(at)
	if t.slots[i] < k {
		for i++; i < hi && t.slots[i] < k; i++ {
		}
	} else {
		for i > lo && t.slots[i-1] >= k {
			i--
		}
	}
	if i < hi && t.slots[i] == k {
		return t.vals[i], true
	}
	return 0, false
}
