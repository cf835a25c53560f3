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
// instead of the whole ledger (at a million records, about 9 s of replay
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
// is cut short, damaged or does not hold together is an error saying
// what. Its checksum is verified before anything else is read, so that
// a damaged length never makes it allocate past the snapshot's size.
func ReadSnapshot(r io.ReaderAt, size int64, rules Rules, tag string) (*Index, error) {
	if size < int64(len(snapshotMagic))+4 {
		return nil, errors.New("dedup index snapshot: cut short")
	}
	sum := crc32.New(castagnoli)
	if _, err := io.Copy(sum, io.NewSectionReader(r, 0, size-4)); err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", err)
	}
	var end [4]byte
	if _, err := r.ReadAt(end[:], size-4); err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", err)
	}
	if binary.LittleEndian.Uint32(end[:]) != sum.Sum32() {
		return nil, errors.New("dedup index snapshot: checksum mismatch (damaged or cut short)")
	}
	x := NewIndex(rules)
	body := io.NewSectionReader(r, 0, size-4)
	sr := &snapReader{r: bufio.NewReaderSize(body, int(max(16, min(size, 1<<20)))), left: size - 4}
	if string(sr.raw(len(snapshotMagic))) != snapshotMagic {
		return nil, errors.New("not a dedup index snapshot")
	}
	if v, h := sr.u64(), sr.u64(); sr.err == nil && (v != snapshotVersion || h != rulesHash(x.rules)) {
		return nil, ErrSnapshotStale
	}
	if t := sr.str(); sr.err == nil && t != tag {
		return nil, ErrSnapshotStale
	}
	x.next, x.applied, x.entries = sr.u64(), sr.u64(), sr.int(math.MaxInt32)
	if n, _ := sr.len(segmentMin); n > 0 {
		x.segs = make([]*segment, 0, n)
		for i := 0; i < n && sr.err == nil; i++ {
			x.segs = append(x.segs, sr.segment(i == n-1))
		}
	}
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		kt.cur = sr.hot()
		kt.old = sr.table()
	}
	if n, isNil := sr.len(8); !isNil {
		x.stories = make([]*storyState, 0, n)
		feeds := map[string]*string{} // one string a feed, as a segment's
		for i := 0; i < n && sr.err == nil; i++ {
			x.stories = append(x.stories, sr.story(feeds))
		}
	}
	x.freed = sr.u32s()
	if sr.err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", sr.err)
	}
	if sr.left != 0 {
		return nil, fmt.Errorf("dedup index snapshot: %d bytes past its end", sr.left)
	}
	if err := x.check(); err != nil {
		return nil, fmt.Errorf("dedup index snapshot: %w", err)
	}
	return x, nil
}

// check reports a loaded index whose parts do not fit together (a
// snapshot with a sound checksum that WriteSnapshot did not write: a
// hand-made one, or one of a writer with a bug), so that no lookup,
// apply or verdict later reads out of bounds or loops.
func (x *Index) check() error {
	if x.exact.cur.narrow() || !x.bands.cur.narrow() || (x.exact.old.n > 0 && x.exact.old.narrow()) || (x.bands.old.n > 0 && !x.bands.old.narrow()) {
		return errors.New("key tables of the wrong kind")
	}
	if len(x.stories) > 0 && x.stories[0] != nil {
		return errors.New("story 0 is not none")
	}
	for _, n := range x.freed {
		if int(n) >= len(x.stories) || n == 0 || x.stories[n] != nil {
			return fmt.Errorf("freed story %d is not free", n)
		}
	}
	count, next := 0, uint64(0)
	for i, s := range x.segs {
		if i > 0 && s.base != next {
			return fmt.Errorf("segment %d starts at entry %d, not %d", i, s.base, next)
		}
		count, next = count+s.entries.len(), s.base+uint64(s.entries.len())
		for j := range s.entries.len() {
			if err := x.checkEntry(s.ref(j)); err != nil {
				return fmt.Errorf("segment %d entry %d: %w", i, j, err)
			}
		}
	}
	if count != x.entries {
		return fmt.Errorf("%d entries in the segments, %d counted", count, x.entries)
	}
	if len(x.segs) > 0 && next != x.next {
		return fmt.Errorf("the segments' entries end at number %d, the next is %d", next, x.next)
	}
	newest := 0
	if len(x.segs) > 0 {
		newest = x.segs[len(x.segs)-1].entries.len()
	} else if x.exact.cur.n > 0 || x.bands.cur.n > 0 {
		return errors.New("keys without entries")
	}
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		if err := kt.cur.check(newest); err != nil {
			return err
		}
		if err := kt.old.check(); err != nil {
			return err
		}
	}
	return nil
}

// checkEntry reports an entry whose fields, feed or story are not there.
func (x *Index) checkEntry(e ref) error {
	s := e.seg
	c, at := int(e.off>>dataChunkBits), int(e.off&(1<<dataChunkBits-1))
	if c >= len(s.data.chunks) || at >= len(s.data.chunks[c]) {
		return errors.New("fields out of its data")
	}
	// What the entry's fields span (idSpan, sigs, dup), bounded.
	data := s.data.chunks[c][at:]
	from, n, ok := idAt(data, e.is(hexID))
	end := from + n + int(e.nearLen) + int(e.storyLen)
	if ok && e.is(duplicate) && end <= len(data) {
		from, n, ok = idAt(data[end:], e.is(hexDup))
		end += from + n + 3
	}
	if !ok || end > len(data) {
		return errors.New("fields out of its data")
	}
	if int(e.feed) >= len(s.feeds) {
		return errors.New("feed out of range")
	}
	if e.story != 0 && (int(e.story) >= len(x.stories) || x.stories[e.story] == nil) {
		return errors.New("story out of range")
	}
	return nil
}

// check reports a hot table that lookups would read out of bounds or
// loop in: its values must be entries of the newest segment (of entries
// entries), its count its slots, at most 3/4 of its places.
func (h *hot) check(entries int) error {
	if len(h.places) == 0 || (h.lo != nil && len(h.lo) != len(h.places)) || 4*h.n > 3*len(h.places) {
		return errors.New("hot key table out of shape")
	}
	n := 0
	for _, p := range h.places {
		if p != 0 {
			if n++; int(uint32(p)-1) >= entries {
				return errors.New("hot key table: a value past the newest segment's entries")
			}
		}
	}
	if n != h.n {
		return fmt.Errorf("hot key table: %d slots, %d counted", n, h.n)
	}
	return nil
}

// check reports a sealed table that lookups would read out of bounds.
func (t *table) check() error {
	if t.n == 0 {
		if t.start != nil || t.hi != nil || t.lo != nil || t.vals != nil {
			return errors.New("an empty sealed key table with contents")
		}
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
// length read by the least room its elements take.
type snapReader struct {
	r    *bufio.Reader
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

// segmentMin is the least room a segment takes in a snapshot: its 5
// numbers, its count of entries and the lengths of its 3 lists.
const segmentMin = 9 * 8

// segment reads a segment; the newest keeps a map of its feeds, as it
// may take more entries.
func (r *snapReader) segment(newest bool) *segment {
	s := &segment{first: int64(r.u64()), last: int64(r.u64()), firstMs: int64(r.u64()), base: r.u64(), seq0: r.u64()}
	s.entries.n = r.int(math.MaxInt32)
	n, _ := r.len(8)
	s.entries.chunks = make([][]entry, n)
	total := 0
	for i := 0; i < n && r.err == nil; i++ {
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
	for i := 0; i < n && r.err == nil; i++ {
		if s.data.chunks[i] = r.bytes(); len(s.data.chunks[i]) > 1<<dataChunkBits {
			r.fail(errors.New("a data chunk over its room"))
			return s
		}
	}
	if n > 0 && r.err == nil {
		last := &s.data.chunks[n-1]
		if room := r.int(1<<dataChunkBits + 1); room < len(*last) || (!newest && room != len(*last)) {
			r.fail(errors.New("a data chunk's room out of range"))
		} else if room > len(*last) {
			*last = append(make([]byte, 0, room), *last...)
		}
	}
	n, _ = r.len(8)
	s.feeds = make([]string, n)
	for i := 0; i < n && r.err == nil; i++ {
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

// story reads a story's state; its sources' feeds are kept once each in
// feeds.
func (r *snapReader) story(feeds map[string]*string) *storyState {
	if r.u64() == 0 {
		return nil
	}
	st := &storyState{id: r.str(), hexID: r.u64() == 1, first: int64(r.u64())}
	cr := r.u64()
	st.count, st.refs = int32(uint32(cr>>32)), int32(uint32(cr))
	n, _ := r.len(16)
	st.sources = make([]storySource, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		name := r.str()
		feed, ok := feeds[name]
		if !ok {
			feed = &name
			feeds[name] = feed
		}
		st.sources = append(st.sources, storySource{feed: feed, joined: int64(r.u64())})
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
	x.next, x.entries = y.next, y.entries
	x.advance(y.applied)
}
