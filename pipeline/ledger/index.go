package ledger

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/wirewatch/wirewatch/internal/hash64"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/story"
)

// Rules are what the index decides by.
type Rules struct {
	// Near verifies near-duplicate candidates (dedup.Params.PackedVerdict).
	Near dedup.Params
	// Story decides which story an article joins and when it is breaking.
	Story story.Config
	// Horizon is how long an article's keys are remembered (default 7
	// days). Time is the ledger's: each record's timestamp in the log.
	Horizon time.Duration
}

func (r Rules) withDefaults() Rules {
	if r.Horizon <= 0 {
		r.Horizon = 7 * 24 * time.Hour
	}
	r.Story = r.Story.WithDefaults()
	return r
}

// Result is the index's verdict on one record.
type Result struct {
	// Duplicate is set when an earlier article owns one of the record's
	// exact keys, or a near key with a similar enough signature; Of is the
	// first article of the chain.
	Duplicate *pipeline.Duplicate
	// Story is the story the article belongs to (nil without a story
	// sketch).
	Story *pipeline.StoryRef
	// NewStory: the article started its story; Added: its feed was new
	// to the story. Repeat: the article was in the ledger already (a
	// redelivery) and the result is the one it got then.
	NewStory, Added, Repeat bool
}

// Index is the in-memory index built from the ledger, in ledger order:
// every process applies the same records in the same order with the same
// timestamps, so every process reaches the same verdicts, and of several
// copies of a story the one earliest in the ledger is the original.
//
// Entries live in segments of Horizon/16 of ledger time; a key whose owner
// is older than the horizon is expired (a later article claims it afresh),
// and a segment is dropped once all of it is. The keys of the newest
// segment are in a hash table (hot); when a newer segment opens they are
// merged into one sealed table with the keys of every older segment still
// live, so a key is looked up in two places whatever the size of the index
// (table.go). Exact keys (ids, urls, guids, contents) and band keys (near
// and story bands, leads) have tables of their own: a band key's owner is
// only a candidate whose signature decides, so its sealed table can be
// narrow.
type Index struct {
	rules Rules
	same  story.Judge // rules.Story's
	span  int64       // nanoseconds of ledger time per segment

	mu      sync.Mutex
	slots   []uint64     // the slots of the record being applied (slotsOf)
	sink    uint32       // what warm read
	warmth  warmth       // where warm reads
	segs    []*segment   // oldest first
	exact   keyTables    // ids, urls, guids, contents
	bands   keyTables    // near and story bands, leads (narrow)
	tabs    []*keyTables // the tables of x.slots (slotsOf)
	checked []ref        // room for apply's candidates
	owners  []ref        // room for apply's owners
	// stories are the states of the stories of two or more articles
	// (entry.story numbers them from 1), freed is the numbers of the
	// ones freed since (release).
	stories []*storyState
	freed   []uint32
	// storyCands counts the story candidates judged by their signatures
	// (BenchmarkIndexed reports them an article).
	storyCands uint64
	next       uint64 // the entry number of the next entry
	applied    uint64 // the last ledger position applied (Pos)
	wake       chan struct{}
	entries    int
}

// segment holds the entries of a stretch of ledger time.
type segment struct {
	first, last int64  // ledger times of the first and last entry
	firstMs     int64  // first in milliseconds, rounded down (entry.time)
	base        uint64 // the entry number of entries.at(0)
	seq0        uint64 // the ledger position of entries.at(0)
	entries     entryChunks
	// data holds the entries' fields (entry.field) back to back
	// (entry.off): a chunk of many entries, not four allocations an entry.
	data dataChunks
	// feeds are the feeds of its entries (entry.feed), each once; feedOf
	// numbers them while the segment is the newest.
	feeds  []string
	feedOf map[string]uint16
}

// entry is one applied record: what later records compare with, and the
// verdict it got, in 24 bytes and no pointer (the garbage collector does
// not read a million of them). Its id, signatures and the id of its
// original are in its segment's data, its feed in the segment's feeds;
// it does not keep its segment (8 bytes an article), which whoever finds
// it knows (ref).
type entry struct {
	// story is the number of the entry's story in Index.stories, 0 while
	// it is a story of this entry alone (most are: its state is then the
	// entry's own fields, and is made when a second article joins, by
	// storyOf).
	story uint32
	pos   uint32 // its ledger position, less its segment's first (seq)
	off   uint32 // where the entry's fields start in seg.data: chunk<<20 | place (dataChunks)
	ms    int32  // its ledger time in milliseconds from its segment's first (time)
	// sources are the story's sources when this entry was applied (at
	// most 65,535 said).
	sources uint16
	feed    uint16 // the number of its feed in seg.feeds
	// The lengths of the near and story signatures (a story signature
	// packs into 21 bytes; of one over 255, which is not a story
	// sketch's, apply keeps the first byte, which matches none).
	nearLen  uint16
	storyLen uint8
	flags    flags
}

// ref is an entry and the segment that holds it; the zero ref is none.
type ref struct {
	*entry
	seg *segment
}

// ref is the j-th entry of s.
func (s *segment) ref(j int) ref { return ref{s.entries.at(j), s} }

// time is the entry's ledger time rounded down to the millisecond: the
// same whatever segment holds it, so every process agrees on it.
func (e ref) time() int64 { return (e.seg.firstMs + int64(e.ms)) * int64(time.Millisecond) }

// floorMs is ledger time t in whole milliseconds, rounded down.
func floorMs(t int64) int64 {
	ms := t / int64(time.Millisecond)
	if t%int64(time.Millisecond) < 0 {
		ms--
	}
	return ms
}

// seq is the entry's ledger position (Pos).
func (e ref) seq() uint64 { return e.seg.seq0 + uint64(e.pos) }

// flags are an entry's verdict flags.
type flags uint8

const (
	duplicate flags = 1 << iota // a duplicate of its original (entry.original)
	hasStory                    // in a story (the article had a story sketch)
	newStory                    // started its story
	added                       // its feed was new to the story
	repeat                      // a redelivery: the verdict is its first record's
	breaking                    // the story was breaking when it joined
	hexID                       // the id is packed (packID)
	hexDup                      // the original's id is packed
)

func (e *entry) is(f flags) bool { return e.flags&f != 0 }

// The entry's fields, views of its segment's data, where they lie in this
// order: the id (packID), the near and story signature entries
// (dedup.Params.Pack), and a duplicate's original (dup).
func (e ref) field(from, n int) []byte {
	return e.seg.data.from(e.off)[from : from+n : from+n]
}

// idAt is where an id that packID appended at the start of data lies:
// 16 bytes when packed, else after its length. ok is false when the
// length is unreadable or runs past data (a snapshot's check: the index
// itself only reads what it wrote).
func idAt(data []byte, packed bool) (from, n int, ok bool) {
	if packed {
		return 0, 16, len(data) >= 16
	}
	l, k := binary.Uvarint(data)
	return k, int(l), k > 0 && l <= uint64(len(data)-k)
}

// idSpan is where the id lies in the entry's fields.
func (e ref) idSpan() (from, n int) {
	from, n, _ = idAt(e.seg.data.from(e.off), e.is(hexID))
	return from, n
}

func (e ref) id() []byte { return e.field(e.idSpan()) }

// sigs is where the signatures start in the entry's fields.
func (e ref) sigs() int {
	from, n := e.idSpan()
	return from + n
}
func (e ref) nearSig() []byte { return e.field(e.sigs(), int(e.nearLen)) }
func (e ref) storySig() []byte {
	return e.field(e.sigs()+int(e.nearLen), int(e.storyLen))
}

// dup is what a duplicate keeps of its original, after its signatures
// (empty for an original): the original's id (packID: 16 bytes, or its
// length and itself), the kind, the similarity in thousandths (2 bytes).
func (e ref) dup() []byte {
	if !e.is(duplicate) {
		return nil
	}
	from := e.sigs() + int(e.nearLen) + int(e.storyLen)
	at, n, _ := idAt(e.seg.data.from(e.off)[from:], e.is(hexDup))
	return e.field(from, at+n+3)
}

// original is what dup holds, taken apart (a duplicate's).
func (e ref) original() (id []byte, kind Kind, similarity uint16) {
	d := e.dup()
	n := len(d) - 3
	at, _, _ := idAt(d, e.is(hexDup))
	return d[at:n], Kind(d[n]), binary.LittleEndian.Uint16(d[n+1:])
}

// storyState is a story: its id, when it was first seen, its sources.
// Real feeds make many (a tenth of rss-2026-01's articles start one that
// others join), so it is kept small.
type storyState struct {
	id      string // its first article's id as its entry keeps it (packID)
	hexID   bool   // id is packed
	first   int64
	count   int32
	refs    int32         // the entries of the index in it (release)
	sources []storySource // up to MaxSources, in join order
}

// storySource is a feed of a story and when it joined; the feed is a
// segment's (segment.feeds), not a copy of its name.
type storySource struct {
	feed   *string
	joined int64
}

// keyTables are the key tables of one class of keys.
type keyTables struct {
	cur hot   // slot -> index in the newest segment's entries (narrow: band slots, bandSlot)
	old table // slot -> entry number, older segments, as narrow as cur
}

// newKeyTables are empty key tables, narrow (for band slots) or exact.
func newKeyTables(narrow bool) keyTables {
	return keyTables{cur: newHot(0, narrow)}
}

// Key slots: a key's hash mixed with its kind, so equal hashes of
// different kinds never meet, and mixed again, so the slots are uniform
// whatever the hashes (the tables rely on it).
const (
	slotStory Kind = 5 // story bands
	slotID    Kind = 6 // the article id
)

func slot(k Kind, h uint64) uint64 { return hash64.Mix(h ^ uint64(k)*0x9e3779b97f4a7c15) }

// bandSlot is the slot of a band key (a near band or lead, a story band):
// its top 32 bits, which is all a narrow table keeps, so that a band key
// is the same key in every table, hot or sealed, and whatever the
// segments. Two bands alike in those bits are one key (a lookup among 10M
// band keys meets another's about one time in 430): the owner found is a
// candidate its signature then judges, as for any band, and the article
// does not take that band over, so a later copy linked to it by that band
// alone is missed (LSH misses one pair in ten at Jaccard 0.5 anyway).
func bandSlot(k Kind, h uint64) uint64 { return slot(k, h) &^ (1<<32 - 1) }

// segmentsPerHorizon: the newest segment's keys are in a hash table that
// takes about twice the room of the sealed table a key; more segments
// make it smaller (16: 7 bytes an article less than 8 at 1M), and cost a
// merge of the sealed table each (Index.merge: 0.24 s at half a million
// articles, once per Horizon/16: 10.5 hours by default).
const segmentsPerHorizon = 16

// NewIndex returns an empty index.
func NewIndex(r Rules) *Index {
	r = r.withDefaults()
	return &Index{rules: r, same: r.Story.Judge(), span: int64(r.Horizon / segmentsPerHorizon), wake: make(chan struct{}), exact: newKeyTables(false), bands: newKeyTables(true)}
}

// Len is the number of records indexed.
func (x *Index) Len() int {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.entries
}

// Applied is the last ledger position applied (Pos).
func (x *Index) Applied() uint64 {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.applied
}

// Apply adds the record at ledger position seq (Pos), stamped t, and
// returns its verdict. Positions must increase; one applied already is
// ignored (its verdict is returned). r must be within the Record limits
// (Decode and Memory.Append check them): the segment's data keeps room
// for a record by them.
func (x *Index) Apply(seq uint64, t time.Time, r *Record) Result {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq <= x.applied {
		if e := x.at(seq); e.entry != nil {
			return x.result(e)
		}
		return Result{}
	}
	e := x.apply(seq, t.UnixNano(), r)
	x.advance(seq)
	return x.result(e)
}

// ApplyBatch applies the records of one ledger message, the i-th at
// position Pos(seq, i), stamped t, as one step: a snapshot (which holds
// the index while it writes) never falls between two of them, so it
// resumes at a message's end. Records applied already are ignored.
func (x *Index) ApplyBatch(seq uint64, t time.Time, recs []*Record) {
	x.mu.Lock()
	defer x.mu.Unlock()
	last := x.applied
	for i, r := range recs {
		if pos := Pos(seq, i); pos > x.applied {
			x.apply(pos, t.UnixNano(), r)
			last = pos
		}
	}
	if last > x.applied {
		x.advance(last)
	}
}

// Skip marks position seq as applied without a record (a message that
// could not be decoded), so waiters on later positions are not held up.
func (x *Index) Skip(seq uint64) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq > x.applied {
		x.advance(seq)
	}
}

func (x *Index) advance(seq uint64) {
	x.applied = seq
	close(x.wake)
	x.wake = make(chan struct{})
}

// Wait returns the verdict of the record at position seq once it is
// applied.
func (x *Index) Wait(ctx context.Context, seq uint64) (Result, error) {
	for {
		x.mu.Lock()
		if x.applied >= seq {
			e := x.at(seq)
			var r Result
			if e.entry != nil {
				r = x.result(e)
			}
			x.mu.Unlock()
			if e.entry == nil {
				return Result{}, fmt.Errorf("ledger record %d is not in the index (undecodable or expired)", seq)
			}
			return r, nil
		}
		wake := x.wake
		x.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return Result{}, fmt.Errorf("wait for ledger record %d: %w", seq, ctx.Err())
		}
	}
}

// at finds the entry of seq (x.mu held).
func (x *Index) at(seq uint64) ref {
	for i := len(x.segs) - 1; i >= 0; i-- {
		s := x.segs[i]
		if s.entries.len() == 0 || s.seq0 > seq {
			continue
		}
		j := sort.Search(s.entries.len(), func(j int) bool { return s.ref(j).seq() >= seq })
		if j < s.entries.len() && s.ref(j).seq() == seq {
			return s.ref(j)
		}
		return ref{}
	}
	return ref{}
}

// owner returns the live entry owning key slot k in kt, if any (x.mu
// held).
func (x *Index) owner(kt *keyTables, k uint64, now int64) ref {
	return x.live(x.find(kt, k), now)
}

// find returns the entry owning key slot k in kt, live or expired, without
// reading it (x.mu held): the newest segment's, else the older segments'
// latest.
func (x *Index) find(kt *keyTables, k uint64) ref {
	if j, ok := kt.cur.get(k); ok {
		return x.segs[len(x.segs)-1].ref(int(j))
	} else if v, ok := kt.old.get(k); ok {
		return x.resolve(v)
	}
	return ref{}
}

// live returns e unless it is none or older than the horizon.
func (x *Index) live(e ref, now int64) ref {
	if e.entry == nil || e.time() < now-int64(x.rules.Horizon) {
		return ref{} // none, or expired
	}
	return e
}

// resolve returns the entry whose number has low 32 bits v, none when it
// was dropped (x.mu held). Live entries span less than 2^32 numbers.
func (x *Index) resolve(v uint32) ref {
	if len(x.segs) == 0 {
		return ref{}
	}
	lo := x.segs[0].base
	g := lo + uint64(v-uint32(lo))
	if g >= x.next {
		return ref{}
	}
	for i := len(x.segs) - 1; i >= 0; i-- {
		if s := x.segs[i]; g >= s.base {
			if j := g - s.base; j < uint64(s.entries.len()) {
				return s.ref(int(j))
			}
			return ref{}
		}
	}
	return ref{}
}

// apply decides the verdict of r and indexes it (x.mu held).
func (x *Index) apply(seq uint64, now int64, r *Record) ref {
	seg := x.segment(now, seq)
	self := uint32(seg.entries.len())
	off, data := seg.data.room(entryRoom(r))
	e := ref{seg.entries.add(entry{pos: uint32(seq - seg.seq0), ms: seg.ms(now), off: off, feed: seg.intern(r.Feed)}), seg}
	var packed bool
	if *data, packed = packID(*data, r.Article); packed {
		e.flags |= hexID
	}
	x.entries++
	x.next++

	// A record of an article already in the ledger (a redelivery after
	// the stream's duplicate window) gets the verdict it got then.
	x.slotsOf(r)
	idSlot, keySlots, storySlots := x.slots[0], x.slots[1:1+len(r.Keys)], x.slots[1+len(r.Keys):]
	x.warm()
	if prev := x.owner(&x.exact, idSlot, now); prev.entry != nil && prev.is(hexID) == e.is(hexID) && bytes.Equal(prev.id(), e.id()) {
		x.copyVerdict(e, prev)
		return e
	}
	x.exact.cur.set(idSlot, self)
	// Record limits (maxString, maxSig) keep a near signature's length in
	// 16 bits; a story signature's is cut to 8 below.
	at := len(*data)
	*data = x.rules.Near.Pack(*data, r.NearSig)
	e.nearLen, at = uint16(len(*data)-at), len(*data)
	*data = x.rules.Story.Pack(*data, r.StorySig)
	if len(*data)-at > math.MaxUint8 { // not a story signature (Pack keeps it as it is)
		*data = (*data)[:at+1]
	}
	e.storyLen = uint8(len(*data) - at)

	// Duplicates: the first exact key owned by an earlier article decides;
	// a near key's owner must have a similar signature.
	// The candidates compared already (a handful) and the keys' owners,
	// in room the index keeps from one record to the next.
	checked := x.checked[:0]
	owners := slices.Grow(x.owners[:0], max(len(r.Keys), len(r.StoryKeys)))[:len(r.Keys)]
	defer func() {
		clear(checked[:cap(checked)]) // (the near pass may have held more)
		clear(owners[:cap(owners)])
		x.checked, x.owners = checked[:0], owners[:0]
	}()
	keyTabs := x.tabs[1 : 1+len(r.Keys)]
	for i, k := range r.Keys {
		s, kt := keySlots[i], keyTabs[i]
		o := x.owner(kt, s, now)
		owners[i] = o
		if o.entry == nil {
			kt.cur.set(s, self)
			continue
		}
		if e.is(duplicate) || o == e || slices.Contains(checked, o) {
			continue
		}
		if k.Kind != KindNear {
			e.markDuplicate(o, k.Kind, 1)
			continue
		}
		checked = append(checked, o)
		if o.nearLen == 0 || e.nearLen == 0 {
			continue
		}
		if sim, dup, same := x.rules.Near.PackedVerdict(e.nearSig(), o.nearSig()); dup {
			kind := KindNear
			if same {
				kind, sim = KindContent, 1
			}
			e.markDuplicate(o, kind, sim)
		}
	}
	// A duplicate takes over the keys its original's chain owns, so a copy
	// keeps the story's keys alive for another horizon.
	if e.is(duplicate) {
		for i, o := range owners {
			if o.entry != nil && o != e && o.sameRoot(e) {
				keyTabs[i].cur.set(keySlots[i], self)
			}
		}
	}

	// Stories: join the story of the first band owner telling the same
	// story, else start one; a member takes over the story's keys.
	if len(r.StoryKeys) == 0 || e.storyLen == 0 {
		return e
	}
	e.flags |= hasStory
	checked = checked[:0]
	owners = owners[:0]
	// The owners are found, then read, then their signatures read, each
	// pass without waiting on the reads of the one before: at a million
	// articles each is a cache miss, and the misses of a pass are under
	// way together (see warm).
	for _, s := range storySlots {
		owners = append(owners, x.find(&x.bands, s))
	}
	for i, o := range owners {
		owners[i] = x.live(o, now)
	}
	x.warmSigs(owners)
	for i, o := range owners {
		if o.entry == nil {
			x.bands.cur.set(storySlots[i], self)
			continue
		}
		if e.story != 0 || o == e || !o.is(hasStory) || slices.Contains(checked, o) {
			continue
		}
		checked = append(checked, o)
		x.storyCands++
		if x.same.Same(e.storySig(), o.storySig()) {
			e.story = x.storyOf(o)
			x.stories[e.story].refs++
		}
	}
	if e.story == 0 {
		// A story of its own: its state is made when a second joins.
		e.flags |= newStory | added
		e.sources = 1
		if 1 >= x.rules.Story.BreakingSources {
			e.flags |= breaking
		}
		return e
	}
	for i, o := range owners {
		if o.entry != nil && o != e && o.story == e.story {
			x.bands.cur.set(storySlots[i], self)
		}
	}
	x.join(e, now)
	return e
}

// slotsOf sets x.slots to the slots of r: its id's, its keys', its story
// keys' (x.mu held).
func (x *Index) slotsOf(r *Record) {
	x.slots = append(x.slots[:0], slot(slotID, hash64.String(r.Article)))
	x.tabs = append(x.tabs[:0], &x.exact)
	for _, k := range r.Keys {
		if k.Kind == KindNear {
			x.slots, x.tabs = append(x.slots, bandSlot(k.Kind, k.Hash)), append(x.tabs, &x.bands)
		} else {
			x.slots, x.tabs = append(x.slots, slot(k.Kind, k.Hash)), append(x.tabs, &x.exact)
		}
	}
	for _, h := range r.StoryKeys {
		x.slots, x.tabs = append(x.slots, bandSlot(slotStory, h)), append(x.tabs, &x.bands)
	}
}

// warm reads, one after the other without waiting, the places where the
// lookups of x.slots will look first: at a million articles most of them
// miss the CPU's caches, and misses that are all under way at once cost
// little more than one, while the lookups themselves, one after another,
// each wait for theirs. The places are found first and read after, in a
// loop of a few instructions a read, so that the CPU has them all under
// way at once (a loop that found and read each in turn held only a few
// slots' reads in flight). It changes nothing but speed (x.mu held).
func (x *Index) warm() {
	w := &x.warmth
	w.u64, w.u16, w.u8 = w.u64[:0], w.u16[:0], w.u8[:0]
	for i, k := range x.slots {
		x.tabs[i].cur.place(k, w)
		x.tabs[i].old.place(k, w)
	}
	var sum uint64
	for _, p := range w.u64 {
		sum += *p
	}
	for _, p := range w.u16 {
		sum += uint64(*p)
	}
	for _, p := range w.u8 {
		sum += uint64(*p)
	}
	x.sink += uint32(sum)
	clear(w.u64) // (so that no table replaced since is kept)
	clear(w.u16)
	clear(w.u8)
}

// warmth is where warm reads: places of 64, 16 and 8 bits.
type warmth struct {
	u64 []*uint64
	u16 []*uint16
	u8  []*byte
}

// warmSigs reads the first byte of each owner's story signature, one
// after the other without waiting, before they are compared one by one
// (see warm; x.mu held).
func (x *Index) warmSigs(owners []ref) {
	var sum byte
	for _, o := range owners {
		if o.entry != nil && o.storyLen > 0 {
			sum += o.storySig()[0]
		}
	}
	x.sink += uint32(sum)
}

// storyOf is the number of the story e started or joined, its state made
// now if e started it and no other article joined it yet (x.mu held).
func (x *Index) storyOf(e ref) uint32 {
	if e.story == 0 {
		st := &storyState{id: string(e.id()), hexID: e.is(hexID), first: e.time(), count: 1,
			sources: []storySource{{feed: &e.seg.feeds[e.feed], joined: e.time()}}, refs: 1}
		if n := len(x.freed); n > 0 {
			e.story, x.freed = x.freed[n-1], x.freed[:n-1]
			x.stories[e.story] = st
		} else {
			if len(x.stories) == 0 {
				x.stories = append(x.stories, nil) // 0: none
			}
			e.story = uint32(len(x.stories))
			x.stories = append(x.stories, st)
		}
	}
	return e.story
}

// release frees the states of the stories whose last entries were in s,
// a dropped segment (x.mu held).
func (x *Index) release(s *segment) {
	for j := range s.entries.len() {
		if n := s.entries.at(j).story; n != 0 {
			st := x.stories[n]
			if st.refs--; st.refs == 0 {
				x.stories[n] = nil
				x.freed = append(x.freed, n)
			}
		}
	}
}

// join adds e's feed to e's story unless it carried the story already,
// and records the story's state as of e.
func (x *Index) join(e ref, now int64) {
	st, cfg, feed := x.stories[e.story], x.rules.Story, &e.seg.feeds[e.feed]
	known := false
	for _, s := range st.sources {
		if *s.feed == *feed {
			known = true
			break
		}
	}
	if !known {
		// Past MaxSources listed, the count still grows.
		st.count++
		e.flags |= added
		if len(st.sources) < cfg.MaxSources {
			st.sources = append(st.sources, storySource{feed: feed, joined: now})
		}
	}
	e.sources = uint16(min(st.count, math.MaxUint16))
	recent := 0
	for i := len(st.sources) - 1; i >= 0 && st.sources[i].joined >= now-int64(cfg.BreakingWindow); i-- {
		recent++
	}
	if recent >= cfg.BreakingSources {
		e.flags |= breaking
	}
}

// maxSegmentData bounds a segment's data offsets (dataChunks.size: a chunk
// under 1 MB uses its offsets' room, not memory), so they fit in 32 bits,
// maxSegmentFeeds its feeds, so their numbers fit in 16, and
// maxSegmentPositions the ledger positions it spans, so theirs fit in 32:
// a segment that fills any (millions of records, 65,536 feeds, or 4
// billion positions, in horizon/16), or whose times would not fit in an
// entry (takes), is sealed early and a new one opens.
const (
	maxSegmentData      = 1 << 31
	maxSegmentFeeds     = 1 << 16
	maxSegmentPositions = 1 << 32
)

// intern returns the number of feed in s.feeds, adding it if new.
func (s *segment) intern(feed string) uint16 {
	if i, ok := s.feedOf[feed]; ok {
		return i
	}
	if s.feedOf == nil {
		s.feedOf = map[string]uint16{}
	}
	i := uint16(len(s.feeds))
	s.feeds = append(s.feeds, feed)
	s.feedOf[feed] = i
	return i
}

// takes reports whether the record at position seq stamped now goes to s,
// the newest segment: s began within span of now and is not full (the
// limits above), and the record's time in milliseconds from s's first
// fits in 32 bits (entry.ms: within 24 days either side; ledger time may
// step back a little).
func (s *segment) takes(now int64, seq uint64, span int64) bool {
	d := floorMs(now) - s.firstMs
	return s.first >= now-span && s.data.size() < maxSegmentData && len(s.feeds) < maxSegmentFeeds &&
		seq-s.seq0 < maxSegmentPositions && d >= math.MinInt32 && d <= math.MaxInt32
}

// ms is the time of an entry stamped now (takes) in milliseconds
// from s's first, both rounded down (entry.time).
func (s *segment) ms(now int64) int32 { return int32(floorMs(now) - s.firstMs) }

// segment returns the segment the record at position seq stamped now goes
// to, opening one and dropping expired ones as ledger time passes (x.mu
// held).
func (x *Index) segment(now int64, seq uint64) *segment {
	for len(x.segs) > 0 && x.segs[0].last < now-int64(x.rules.Horizon) {
		x.entries -= x.segs[0].entries.len()
		x.release(x.segs[0])
		x.segs[0] = nil
		x.segs = x.segs[1:]
		if len(x.segs) == 0 { // the newest went too: its keys with it
			x.exact, x.bands = newKeyTables(false), newKeyTables(true)
		}
	}
	if n := len(x.segs); n > 0 && x.segs[n-1].takes(now, seq, x.span) {
		s := x.segs[n-1]
		s.last = max(s.last, now)
		return s
	}
	s := &segment{first: now, firstMs: floorMs(now), last: now, base: x.next, seq0: seq}
	if len(x.segs) > 0 {
		x.seal()
	}
	x.segs = append(x.segs, s)
	return s
}

// seal merges the newest segment's keys into the tables of older ones
// (the newer owner of a key wins; keys of dropped segments go) and trims
// the segment's entries (x.mu held). It runs once per Horizon/16 of
// ledger time and costs a pass over the tables.
func (x *Index) seal() {
	newest := x.segs[len(x.segs)-1]
	for _, kt := range []*keyTables{&x.exact, &x.bands} {
		x.merge(kt, newest.base)
	}
	newest.entries.clip()
	newest.data.clip()
	newest.feeds, newest.feedOf = slices.Clip(newest.feeds), nil
}

// merge makes kt's sealed table of its old one and its hot one, whose
// entries are numbered from base (x.mu held). It runs while records wait
// (0.24 s at half a million articles, 6M keys), so it sizes the table it
// builds by a first pass instead of building it large and copying it.
func (x *Index) merge(kt *keyTables, base uint64) {
	add := kt.cur.sorted()
	// Every value kept is the number of a live entry: from the oldest
	// segment's first to the last (resolve). Entries are numbered without
	// a gap across segments (a segment's base is the number after the
	// last one's last: segment; apply counts x.next with each entry
	// added), and segments are dropped oldest first.
	lo, next := x.segs[0].base, x.next
	isLive := func(v uint32) bool { return lo+uint64(v-uint32(lo)) < next }
	n := 0
	kt.old.merged(add, base, isLive, func(uint64, uint32) { n++ })
	var sealed table
	if n > 0 {
		tb := newTableBuilder(n, kt.cur.narrow(), uint32(lo), next-lo)
		kt.old.merged(add, base, isLive, tb.add)
		sealed = tb.table()
	}
	kt.old, kt.cur = sealed, newHot(kt.cur.n+kt.cur.n/8, kt.cur.narrow())
}

// markDuplicate makes e, the entry being applied (its fields last in its
// segment's data), a duplicate of o's original.
func (e ref) markDuplicate(o ref, kind Kind, sim float64) {
	e.flags |= duplicate
	root, packed := o.root()
	data := e.seg.data.last() // e's fields are last in it
	if packed {
		e.flags |= hexDup
	} else {
		*data = binary.AppendUvarint(*data, uint64(len(root)))
	}
	*data = binary.LittleEndian.AppendUint16(append(append(*data, root...), byte(kind)), uint16(sim*1000+0.5))
}

// root is the id of the original e belongs to (its own when it is one),
// and whether it is packed.
func (e ref) root() ([]byte, bool) {
	if e.is(duplicate) {
		id, _, _ := e.original()
		return id, e.is(hexDup)
	}
	return e.id(), e.is(hexID)
}

// sameRoot reports whether e and o belong to the same original.
func (e ref) sameRoot(o ref) bool {
	a, ap := e.root()
	b, bp := o.root()
	return ap == bp && bytes.Equal(a, b)
}

// packID appends id to dst: an id of 32 lowercase hex digits (as
// sources.ArticleKey makes them) as the 16 bytes they spell, packed true;
// any other after its length (a uvarint).
func packID(dst []byte, id string) (_ []byte, packed bool) {
	if len(id) == 32 && strings.IndexFunc(id, func(c rune) bool { return (c < '0' || c > '9') && (c < 'a' || c > 'f') }) < 0 {
		if out, err := hex.AppendDecode(dst, []byte(id)); err == nil {
			return out, true
		}
	}
	return append(binary.AppendUvarint(dst, uint64(len(id))), id...), false
}

// unpackID is the id packID appended as b, from an entry's fields or a
// story state's copy of them.
func unpackID[T string | []byte](b T, packed bool) string {
	if packed {
		return hex.EncodeToString([]byte(b))
	}
	return string(b)
}

// copyVerdict gives e, a repeat of prev's article, prev's verdict (x.mu
// held). A repeat owns no keys, so no later article meets it.
func (x *Index) copyVerdict(e, prev ref) {
	if prev.is(hasStory) {
		x.storyOf(prev) // its first-seen time is prev's, not e's
	}
	pos, ms, off, feed := e.pos, e.ms, e.off, e.feed
	*e.entry = *prev.entry // the same id, packed alike (hexID)
	e.pos, e.ms, e.off, e.feed = pos, ms, off, feed
	if e.story != 0 {
		x.stories[e.story].refs++
	}
	e.flags |= repeat
	e.nearLen, e.storyLen = 0, 0
	data := e.seg.data.last() // e's fields are last in it
	*data = append(*data, prev.dup()...)
}

// result is e's verdict (x.mu held).
func (x *Index) result(e ref) Result {
	var r Result
	if e.is(duplicate) {
		of, kind, sim := e.original()
		r.Duplicate = &pipeline.Duplicate{Of: unpackID(of, e.is(hexDup)), Kind: kind.String(), Similarity: float64(sim) / 1000}
	}
	if e.is(hasStory) {
		var id string
		first := e.time()
		if e.story != 0 {
			st := x.stories[e.story]
			id, first = unpackID(st.id, st.hexID), st.first
		} else {
			id = unpackID(e.id(), e.is(hexID))
		}
		r.Story = &pipeline.StoryRef{ID: natsutil.Token(id), FirstSeen: time.Unix(0, first).UTC(), Sources: int(e.sources), Breaking: e.is(breaking)}
	}
	r.NewStory, r.Added, r.Repeat = e.is(newStory), e.is(added), e.is(repeat)
	return r
}
