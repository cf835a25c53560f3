package ledger

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"math"
	"unsafe"

	"github.com/wirewatch/wirewatch/internal/hash64"
)

// A snapshot is the whole index as of a ledger position, so that a
// restarted process loads it and replays only the records after it
// instead of the whole ledger (at a million records, 11 s of replay
// before a daemon can decide a new article; BENCHMARKS.md). Every
// process reaches the same index from the same records, so a snapshot is
// the index any process would have there; one that is loaded and then
// applies more records holds exactly what an index that applied them all
// holds (TestSnapshotAgrees compares the two snapshots byte for byte).
//
// The layout: snapshotMagic, the version, a hash of the rules, the
// caller's tag (the Stream's: which ledger stream), then the index's
// fields, little-endian, every slice after its length (0 for nil, else
// length + 1), and last a CRC-32C of everything before it. Any change
// to what the index keeps changes snapshotVersion, and a snapshot of
// another version, other rules or another tag is refused, never misread.
const (
	snapshotMagic   = "WWIX"
	snapshotVersion = 1
)

// ErrSnapshotStale is the reason a snapshot of other rules or another
// ledger (tag), or of another version, is refused.
var ErrSnapshotStale = errors.New("snapshot of other rules, another ledger or another version")

// rulesHash identifies the rules a snapshot's verdicts were decided by.
func rulesHash(r Rules) uint64 { return hash64.String(fmt.Sprintf("%#v", r.withDefaults())) }

// WriteSnapshot writes the index to w, with tag (what the caller needs
// to match when loading: its ledger's identity). It holds the index while
// it writes.
func (x *Index) WriteSnapshot(w io.Writer, tag string) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	sw := &snapWriter{w: bufio.NewWriterSize(w, 1<<20), crc: crc32.New(castagnoli)}
	sw.raw([]byte(snapshotMagic))
	sw.u64(snapshotVersion)
	sw.u64(rulesHash(x.rules))
	sw.str(tag)
	sw.u64(x.next)
	sw.u64(x.applied)
	sw.u64(uint64(x.entries))
	sw.len(len(x.segs), false)
	for _, s := range x.segs {
		sw.segment(s)
	}
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		sw.hot(&kt.cur)
		sw.table(&kt.old)
	}
	sw.len(len(x.stories), x.stories == nil)
	for _, st := range x.stories {
		sw.story(st)
	}
	sw.u32s(x.freed)
	if sw.err != nil {
		return fmt.Errorf("write dedup index snapshot: %w", sw.err)
	}
	sum := sw.crc.Sum32()
	if err := binary.Write(sw.w, binary.LittleEndian, sum); err != nil {
		return fmt.Errorf("write dedup index snapshot: %w", err)
	}
	if err := sw.w.Flush(); err != nil {
		return fmt.Errorf("write dedup index snapshot: %w", err)
	}
	return nil
}

// ReadSnapshot reads a snapshot of size bytes that WriteSnapshot wrote
// with tag under the same rules, and returns the index it holds. A
// snapshot of other rules, tag or version is ErrSnapshotStale; one that
// is cut short or damaged an error saying where.
func ReadSnapshot(r io.Reader, size int64, rules Rules, tag string) (*Index, error) {
	x := NewIndex(rules)
	sr := &snapReader{r: bufio.NewReaderSize(r, int(max(16, min(size, 1<<20)))), left: size - 4, crc: crc32.New(castagnoli)}
	if string(sr.raw(len(snapshotMagic))) != snapshotMagic {
		return nil, errors.New("not a dedup index snapshot")
	}
	if v, h := sr.u64(), sr.u64(); sr.err == nil && (v != snapshotVersion || h != rulesHash(x.rules)) {
		return nil, ErrSnapshotStale
	}
	if t := sr.str(); sr.err == nil && t != tag {
		return nil, ErrSnapshotStale
	}
	x.next, x.applied, x.entries = sr.u64(), sr.u64(), int(sr.u64())
	if n, _ := sr.len(8); n > 0 {
		x.segs = make([]*segment, n)
		for i := range x.segs {
			x.segs[i] = sr.segment(i == n-1)
		}
	}
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		kt.cur = sr.hot()
		kt.old = sr.table()
	}
	if n, isNil := sr.len(1); !isNil {
		x.stories = make([]*storyState, n)
		for i := range x.stories {
			x.stories[i] = sr.story()
		}
	}
	x.freed = sr.u32s()
	if sr.err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", sr.err)
	}
	want := sr.crc.Sum32()
	var got uint32
	if err := binary.Read(sr.r, binary.LittleEndian, &got); err != nil {
		return nil, fmt.Errorf("dedup index snapshot: checksum: %w", err)
	}
	if got != want || sr.left != 0 {
		return nil, errors.New("dedup index snapshot: checksum mismatch (damaged)")
	}
	if err := x.check(); err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", err)
	}
	return x, nil
}

// check reports a loaded index whose parts do not fit together (a
// snapshot that passed its checksum but was not written by
// WriteSnapshot), so that no later lookup reads out of bounds.
func (x *Index) check() error {
	count := 0
	for i, s := range x.segs {
		count += s.entries.len()
		for j := range s.entries.len() {
			e := s.entries.at(j)
			if int(e.off>>dataChunkBits) >= len(s.data.chunks) || int(e.off&(1<<dataChunkBits-1)) > len(s.data.chunks[e.off>>dataChunkBits]) {
				return fmt.Errorf("segment %d entry %d: fields out of its data", i, j)
			}
			if int(e.feed) >= len(s.feeds) || int(e.story) >= max(len(x.stories), 1) {
				return fmt.Errorf("segment %d entry %d: feed or story out of range", i, j)
			}
		}
	}
	if x.exact.cur.narrow() || !x.bands.cur.narrow() || (x.exact.old.n > 0 && x.exact.old.narrow()) || (x.bands.old.n > 0 && !x.bands.old.narrow()) {
		return errors.New("key tables of the wrong kind")
	}
	if count != x.entries {
		return fmt.Errorf("%d entries in the segments, %d counted", count, x.entries)
	}
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		if err := kt.cur.check(); err != nil {
			return err
		}
		if err := kt.old.check(); err != nil {
			return err
		}
	}
	return nil
}

// check reports a hot table that lookups would read out of bounds.
func (h *hot) check() error {
	if len(h.places) == 0 || (h.lo != nil && len(h.lo) != len(h.places)) || h.n < 0 || h.n >= len(h.places) {
		return errors.New("hot key table out of shape")
	}
	return nil
}

// check reports a sealed table that lookups would read out of bounds.
func (t *table) check() error {
	if t.n == 0 {
		return nil
	}
	w := t.width
	if t.narrow() {
		w = t.field
	}
	ok := t.width >= 1 && t.width <= 32 && t.bits >= 1 && t.bits <= 32 && len(t.start) == 1<<t.bits+1 &&
		len(t.vals) >= valBytes(t.n, w) && (t.narrow() || (len(t.hi) == t.n && len(t.lo) == t.n)) &&
		(!t.narrow() || (t.rest == 32-t.bits && t.field == t.width+t.rest && t.field <= 56))
	if !ok {
		return errors.New("sealed key table out of shape")
	}
	for b := range len(t.start) - 1 {
		if t.start[b] > t.start[b+1] || int(t.start[b+1]) > t.n {
			return errors.New("sealed key table: bucket starts out of order")
		}
	}
	return nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// snapWriter writes a snapshot's fields, keeping the first error.
type snapWriter struct {
	w   *bufio.Writer
	crc hash.Hash32
	buf [8]byte
	err error
}

func (w *snapWriter) raw(b []byte) {
	if w.err == nil {
		_, _ = w.crc.Write(b)
		_, w.err = w.w.Write(b)
	}
}

func (w *snapWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(w.buf[:], v)
	w.raw(w.buf[:])
}

// len writes a slice's length, 0 for a nil one.
func (w *snapWriter) len(n int, isNil bool) {
	if isNil {
		w.u64(0)
	} else {
		w.u64(uint64(n) + 1)
	}
}

func (w *snapWriter) str(s string) { w.bytes([]byte(s)) }

func (w *snapWriter) bytes(b []byte) {
	w.len(len(b), b == nil)
	w.raw(b)
}

// fixed writes v's elements of size bytes each through put, in pieces.
func fixed[T any](w *snapWriter, v []T, size int, put func([]byte, T)) {
	w.len(len(v), v == nil)
	var buf [4096]byte
	for len(v) > 0 {
		n := min(len(v), len(buf)/size)
		for i, e := range v[:n] {
			put(buf[i*size:], e)
		}
		w.raw(buf[:n*size])
		v = v[n:]
	}
}

func (w *snapWriter) u64s(v []uint64) { fixed(w, v, 8, binary.LittleEndian.PutUint64) }
func (w *snapWriter) u32s(v []uint32) { fixed(w, v, 4, binary.LittleEndian.PutUint32) }
func (w *snapWriter) u16s(v []uint16) { fixed(w, v, 2, binary.LittleEndian.PutUint16) }

func (w *snapWriter) segment(s *segment) {
	for _, v := range []int64{s.first, s.last, s.firstMs} {
		w.u64(uint64(v))
	}
	w.u64(s.base)
	w.u64(s.seq0)
	w.u64(uint64(s.entries.n))
	w.len(len(s.entries.chunks), false)
	for _, c := range s.entries.chunks {
		fixed(w, c, entrySize, putEntry)
	}
	w.len(len(s.data.chunks), false)
	for _, c := range s.data.chunks {
		w.bytes(c)
	}
	// The room the last data chunk keeps decides where the next entries'
	// fields go (room): the newest segment's, unless sealed (clip).
	if n := len(s.data.chunks); n > 0 {
		w.u64(uint64(cap(s.data.chunks[n-1])))
	}
	w.len(len(s.feeds), false)
	for _, f := range s.feeds {
		w.str(f)
	}
}

func (w *snapWriter) hot(h *hot) {
	w.u64s(h.places)
	w.u32s(h.lo)
	w.u64(uint64(h.n))
}

func (w *snapWriter) table(t *table) {
	w.u16s(t.hi)
	w.u32s(t.lo)
	w.bytes(t.vals)
	w.u64(uint64(t.n))
	w.u64(uint64(t.base))
	for _, v := range []uint{t.width, t.field, t.rest, t.bits} {
		w.u64(uint64(v))
	}
	w.u32s(t.start)
}

func (w *snapWriter) story(st *storyState) {
	if st == nil {
		w.u64(0)
		return
	}
	w.u64(1)
	w.str(st.id)
	if st.hexID {
		w.u64(1)
	} else {
		w.u64(0)
	}
	w.u64(uint64(st.first))
	w.u64(uint64(uint32(st.count))<<32 | uint64(uint32(st.refs)))
	w.len(len(st.sources), false)
	for _, s := range st.sources {
		w.str(*s.feed)
		w.u64(uint64(s.joined))
	}
}

// entrySize is an entry's size in a snapshot.
const entrySize = 4 + 4 + 4 + 4 + 2 + 2 + 2 + 1 + 1

func putEntry(b []byte, e entry) {
	le := binary.LittleEndian
	le.PutUint32(b, e.story)
	le.PutUint32(b[4:], e.pos)
	le.PutUint32(b[8:], e.off)
	le.PutUint32(b[12:], uint32(e.ms))
	le.PutUint16(b[16:], e.sources)
	le.PutUint16(b[18:], e.feed)
	le.PutUint16(b[20:], e.nearLen)
	b[22], b[23] = e.storyLen, byte(e.flags)
}

func getEntry(b []byte) entry {
	le := binary.LittleEndian
	return entry{story: le.Uint32(b), pos: le.Uint32(b[4:]), off: le.Uint32(b[8:]), ms: int32(le.Uint32(b[12:])),
		sources: le.Uint16(b[16:]), feed: le.Uint16(b[18:]), nearLen: le.Uint16(b[20:]), storyLen: b[22], flags: flags(b[23])}
}

// snapReader reads a snapshot's fields, keeping the first error; left
// is what remains of the snapshot before its checksum, which bounds every
// length read (a damaged length never allocates more than the file).
type snapReader struct {
	r    *bufio.Reader
	crc  hash.Hash32
	left int64
	buf  [4096]byte
	err  error
}

func (r *snapReader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// raw reads n bytes (at most len(r.buf)) into r.buf and returns them.
func (r *snapReader) raw(n int) []byte {
	if n > len(r.buf) {
		panic("snapReader.raw: read past its buffer")
	}
	if !r.fill(r.buf[:n]) {
		return nil
	}
	return r.buf[:n]
}

// fill reads len(dst) bytes into dst.
func (r *snapReader) fill(dst []byte) bool {
	if r.err != nil || int64(len(dst)) > r.left {
		r.fail(io.ErrUnexpectedEOF)
		return false
	}
	if _, err := io.ReadFull(r.r, dst); err != nil {
		r.fail(fmt.Errorf("cut short: %w", err))
		return false
	}
	_, _ = r.crc.Write(dst)
	r.left -= int64(len(dst))
	return true
}

func (r *snapReader) u64() uint64 {
	if b := r.raw(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// int reads a count that must fit in an int below limit.
func (r *snapReader) int(limit uint64) int {
	v := r.u64()
	if v >= limit {
		r.fail(fmt.Errorf("a count of %d is out of range", v))
		return 0
	}
	return int(v)
}

// len reads a slice's length (len); size, the bytes each element takes
// at least, bounds it by what is left.
func (r *snapReader) len(size int64) (n int, isNil bool) {
	v := r.u64()
	if r.err != nil || v == 0 {
		return 0, true
	}
	if v-1 > uint64(r.left/size) {
		r.fail(fmt.Errorf("a length of %d is past the end", v-1))
		return 0, true
	}
	return int(v - 1), false
}

func (r *snapReader) str() string { return string(r.bytes()) }

func (r *snapReader) bytes() []byte {
	n, isNil := r.len(1)
	if isNil {
		return nil
	}
	b := make([]byte, n)
	r.fill(b)
	return b
}

// fixedRead reads a slice fixed wrote.
func fixedRead[T any](r *snapReader, size int, get func([]byte) T, capacity int) []T {
	n, isNil := r.len(int64(size))
	if isNil {
		return nil
	}
	v := make([]T, n, max(n, capacity))
	for i := 0; i < n && r.err == nil; {
		k := min(n-i, len(r.buf)/size)
		b := r.raw(k * size)
		for j := range k {
			if b != nil {
				v[i+j] = get(b[j*size:])
			}
		}
		i += k
	}
	return v
}

func (r *snapReader) u64s() []uint64 { return words[uint64](r) }
func (r *snapReader) u32s() []uint32 { return words[uint32](r) }
func (r *snapReader) u16s() []uint16 { return words[uint16](r) }

// words reads a slice of T that fixed wrote, decoding in a loop of its
// own rather than through a call an element (fixedRead): the tables'
// arrays are most of a snapshot, and load a quarter faster so.
func words[T uint16 | uint32 | uint64](r *snapReader) []T {
	size := int(unsafe.Sizeof(T(0)))
	n, isNil := r.len(int64(size))
	if isNil {
		return nil
	}
	v := make([]T, n)
	le := binary.LittleEndian
	for i := 0; i < n && r.err == nil; {
		b := r.raw(min(n-i, len(r.buf)/size) * size)
		for j := 0; j+size <= len(b); j += size {
			switch size {
			case 8:
				v[i] = T(le.Uint64(b[j:]))
			case 4:
				v[i] = T(le.Uint32(b[j:]))
			default:
				v[i] = T(le.Uint16(b[j:]))
			}
			i++
		}
	}
	return v
}

// segment reads a segment; the newest keeps a map of its feeds, as it
// may take more entries.
func (r *snapReader) segment(newest bool) *segment {
	s := &segment{first: int64(r.u64()), last: int64(r.u64()), firstMs: int64(r.u64()), base: r.u64(), seq0: r.u64()}
	s.entries.n = r.int(math.MaxInt32)
	n, _ := r.len(8)
	s.entries.chunks = make([][]entry, n)
	total := 0
	for i := range s.entries.chunks {
		capacity := 0
		if newest && i == n-1 {
			capacity = 1 << entryChunkBits // (add fills a chunk to this)
		}
		s.entries.chunks[i] = fixedRead(r, entrySize, getEntry, capacity)
		total += len(s.entries.chunks[i])
		if i < n-1 && len(s.entries.chunks[i]) != 1<<entryChunkBits {
			r.fail(errors.New("an entry chunk short of full before the last"))
		}
	}
	if total != s.entries.n {
		r.fail(fmt.Errorf("%d entries in chunks, %d said", total, s.entries.n))
	}
	n, _ = r.len(8)
	s.data.chunks = make([][]byte, n)
	for i := range s.data.chunks {
		if s.data.chunks[i] = r.bytes(); len(s.data.chunks[i]) > 1<<dataChunkBits {
			r.fail(errors.New("a data chunk over its room"))
			return s
		}
	}
	if n > 0 {
		last := &s.data.chunks[n-1]
		if room := r.int(1<<dataChunkBits + 1); room < len(*last) || (!newest && room != len(*last)) {
			r.fail(errors.New("a data chunk's room out of range"))
		} else if room > len(*last) {
			*last = append(make([]byte, 0, room), *last...)
		}
	}
	n, _ = r.len(8)
	s.feeds = make([]string, n)
	for i := range s.feeds {
		s.feeds[i] = r.str()
	}
	if newest {
		s.feedOf = make(map[string]uint16, len(s.feeds))
		for i, f := range s.feeds {
			s.feedOf[f] = uint16(i)
		}
	}
	return s
}

func (r *snapReader) hot() hot {
	return hot{places: r.u64s(), lo: r.u32s(), n: r.int(math.MaxInt32)}
}

func (r *snapReader) table() table {
	t := table{hi: r.u16s(), lo: r.u32s(), vals: r.bytes(), n: r.int(math.MaxInt32), base: uint32(r.int(math.MaxUint32 + 1))}
	t.width, t.field, t.rest, t.bits = uint(r.int(65)), uint(r.int(65)), uint(r.int(65)), uint(r.int(65))
	t.start = r.u32s()
	return t
}

func (r *snapReader) story() *storyState {
	if r.u64() == 0 {
		return nil
	}
	st := &storyState{id: r.str(), hexID: r.u64() == 1, first: int64(r.u64())}
	cr := r.u64()
	st.count, st.refs = int32(uint32(cr>>32)), int32(uint32(cr))
	n, _ := r.len(16)
	st.sources = make([]storySource, n)
	for i := range st.sources {
		feed := r.str()
		st.sources[i] = storySource{feed: &feed, joined: int64(r.u64())}
	}
	return st
}

// adopt makes x hold what y holds (a loaded snapshot under the same
// rules), and wakes whoever waits on a position y has applied.
func (x *Index) adopt(y *Index) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.segs, x.exact, x.bands = y.segs, y.exact, y.bands
	x.stories, x.freed = y.stories, y.freed
	x.next, x.applied, x.entries = y.next, y.applied, y.entries
	close(x.wake)
	x.wake = make(chan struct{})
}
