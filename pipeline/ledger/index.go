package ledger

import (
	"context"
	"fmt"
	"slices"
	"sort"
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
	// Near verifies near-duplicate candidates (dedup.Params.Verdict).
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
// Entries live in segments of Horizon/8 of ledger time; a key whose owner
// is older than the horizon is expired (a later article claims it afresh),
// and a segment is dropped once all of it is. The keys of the newest
// segment are in a map; when a newer segment opens they are merged into
// one sealed table with the keys of every older segment still live, so a
// key is looked up in two places whatever the size of the index.
type Index struct {
	rules Rules
	span  int64 // nanoseconds of ledger time per segment

	mu      sync.Mutex
	segs    []*segment // oldest first
	cur     hot        // slot -> index in the newest segment's entries
	old     table      // slot -> entry number, older segments
	next    uint64     // the entry number of the next entry
	applied uint64     // the last ledger position applied (Pos)
	wake    chan struct{}
	entries int
}

// segment holds the entries of a stretch of ledger time.
type segment struct {
	first, last int64  // ledger times of the first and last entry
	base        uint64 // the entry number of entries[0]
	entries     []entry
	// data holds the entries' ids, feeds and signatures back to back
	// (entry.off): one allocation a segment, not four an entry.
	data []byte
}

// entry is one applied record: what later records compare with, and the
// verdict it got. Its id, feed and signatures are in its segment's data.
type entry struct {
	seq  uint64
	time int64
	seg  *segment
	off  uint32 // where id, feed, near then story signature start in seg.data
	// The lengths of id, feed, near and story signature.
	idLen, feedLen, nearLen, storyLen uint16
	// Verdict.
	dupOf string
	// story is the entry's story, nil while it is a story of this entry
	// alone (most are: its state is then the entry's own fields, and is
	// made when a second article joins, by storyOf).
	story     *storyState
	sources   int32 // the story's sources when this entry was applied
	dupSim    float32
	dupKind   Kind
	breaking  bool
	newStory  bool
	added     bool
	repeat    bool
	hasStory  bool
	duplicate bool
}

// The entry's id, feed and signatures, views of its segment's data.
func (e *entry) field(from, n int) []byte {
	at := int(e.off) + from
	return e.seg.data[at : at+n : at+n]
}
func (e *entry) id() []byte   { return e.field(0, int(e.idLen)) }
func (e *entry) feed() []byte { return e.field(int(e.idLen), int(e.feedLen)) }
func (e *entry) nearSig() []byte {
	return e.field(int(e.idLen)+int(e.feedLen), int(e.nearLen))
}
func (e *entry) storySig() []byte {
	return e.field(int(e.idLen)+int(e.feedLen)+int(e.nearLen), int(e.storyLen))
}

// storyState is a story: its id, when it was first seen, its sources.
type storyState struct {
	id      string
	first   int64
	count   int
	sources []storySource // up to MaxSources, in join order
}

type storySource struct {
	feed   string
	joined int64
}

// Key slots: a key's hash mixed with its kind, so equal hashes of
// different kinds never meet.
const (
	slotStory Kind = 5 // story bands
	slotID    Kind = 6 // the article id
)

func slot(k Kind, h uint64) uint64 { return h ^ uint64(k)*0x9e3779b97f4a7c15 }

// NewIndex returns an empty index.
func NewIndex(r Rules) *Index {
	r = r.withDefaults()
	return &Index{rules: r, span: int64(r.Horizon / 8), wake: make(chan struct{})}
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
// ignored (its verdict is returned).
func (x *Index) Apply(seq uint64, t time.Time, r *Record) Result {
	x.mu.Lock()
	defer x.mu.Unlock()
	if seq <= x.applied {
		if e := x.at(seq); e != nil {
			return e.result()
		}
		return Result{}
	}
	e := x.apply(seq, t.UnixNano(), r)
	x.advance(seq)
	return e.result()
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
			if e != nil {
				r = e.result()
			}
			x.mu.Unlock()
			if e == nil {
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
func (x *Index) at(seq uint64) *entry {
	for i := len(x.segs) - 1; i >= 0; i-- {
		s := x.segs[i]
		if len(s.entries) == 0 || s.entries[0].seq > seq {
			continue
		}
		j := sort.Search(len(s.entries), func(j int) bool { return s.entries[j].seq >= seq })
		if j < len(s.entries) && s.entries[j].seq == seq {
			return &s.entries[j]
		}
		return nil
	}
	return nil
}

// owner returns the live entry owning key slot k, if any (x.mu held): the
// newest segment's, else the older segments' latest.
func (x *Index) owner(k uint64, now int64) *entry {
	var e *entry
	if j, ok := x.cur.get(k); ok {
		e = &x.segs[len(x.segs)-1].entries[j]
	} else if v, ok := x.old.get(k); ok {
		e = x.resolve(v)
	}
	if e == nil || e.time < now-int64(x.rules.Horizon) {
		return nil // none, or expired
	}
	return e
}

// resolve returns the entry whose number has low 32 bits v, nil when it
// was dropped (x.mu held). Live entries span less than 2^32 numbers.
func (x *Index) resolve(v uint32) *entry {
	if len(x.segs) == 0 {
		return nil
	}
	lo := x.segs[0].base
	g := lo + uint64(v-uint32(lo))
	if g >= x.next {
		return nil
	}
	for i := len(x.segs) - 1; i >= 0; i-- {
		if s := x.segs[i]; g >= s.base {
			if j := g - s.base; j < uint64(len(s.entries)) {
				return &s.entries[j]
			}
			return nil
		}
	}
	return nil
}

// apply decides the verdict of r and indexes it (x.mu held).
func (x *Index) apply(seq uint64, now int64, r *Record) *entry {
	seg := x.segment(now)
	self := uint32(len(seg.entries))
	seg.entries = append(seg.entries, entry{seq: seq, time: now, seg: seg, off: uint32(len(seg.data)), idLen: uint16(len(r.Article))})
	seg.data = append(seg.data, r.Article...)
	e := &seg.entries[self]
	x.entries++
	x.next++

	// A record of an article already in the ledger (a redelivery after
	// the stream's duplicate window) gets the verdict it got then.
	idSlot := slot(slotID, hash64.String(r.Article))
	if prev := x.owner(idSlot, now); prev != nil && string(prev.id()) == r.Article {
		e.copyVerdict(prev)
		return e
	}
	x.cur.set(idSlot, self)
	// Record limits (maxString, maxSig) keep every length in 16 bits.
	e.feedLen, e.nearLen, e.storyLen = uint16(len(r.Feed)), uint16(len(r.NearSig)), uint16(len(r.StorySig))
	seg.data = append(append(append(seg.data, r.Feed...), r.NearSig...), r.StorySig...)

	// Duplicates: the first exact key owned by an earlier article decides;
	// a near key's owner must have a similar signature.
	var checked []*entry // candidates compared already (a handful)
	owners := make([]*entry, len(r.Keys), max(len(r.Keys), len(r.StoryKeys)))
	for i, k := range r.Keys {
		s := slot(k.Kind, k.Hash)
		o := x.owner(s, now)
		owners[i] = o
		if o == nil {
			x.cur.set(s, self)
			continue
		}
		if e.duplicate || o == e || slices.Contains(checked, o) {
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
		if sim, dup := x.rules.Near.Verdict(e.nearSig(), o.nearSig()); dup {
			kind := KindNear
			if c := dedup.EntryContent(e.nearSig()); c != 0 && c == dedup.EntryContent(o.nearSig()) {
				kind, sim = KindContent, 1
			}
			e.markDuplicate(o, kind, float32(sim))
		}
	}
	// A duplicate takes over the keys its original's chain owns, so a copy
	// keeps the story's keys alive for another horizon.
	if e.duplicate {
		for i, o := range owners {
			if o != nil && o != e && o.root() == e.dupOf {
				x.cur.set(slot(r.Keys[i].Kind, r.Keys[i].Hash), self)
			}
		}
	}

	// Stories: join the story of the first band owner telling the same
	// story, else start one; a member takes over the story's keys.
	if len(r.StoryKeys) == 0 || e.storyLen == 0 {
		return e
	}
	e.hasStory = true
	checked = checked[:0]
	owners = owners[:0]
	for _, h := range r.StoryKeys {
		s := slot(slotStory, h)
		o := x.owner(s, now)
		owners = append(owners, o)
		if o == nil {
			x.cur.set(s, self)
			continue
		}
		if e.story != nil || o == e || !o.hasStory || slices.Contains(checked, o) {
			continue
		}
		checked = append(checked, o)
		if x.rules.Story.Same(e.storySig(), o.storySig()) {
			e.story = o.storyOf()
		}
	}
	if e.story == nil {
		// A story of its own: its state is made when a second joins.
		e.newStory, e.added, e.sources = true, true, 1
		e.breaking = 1 >= x.rules.Story.BreakingSources
		return e
	}
	for i, o := range owners {
		if o != nil && o != e && o.story == e.story {
			x.cur.set(slot(slotStory, r.StoryKeys[i]), self)
		}
	}
	x.join(e, r.Feed, now)
	return e
}

// storyOf is the state of the story e started or joined, made now if e
// started it and no other article joined it yet.
func (e *entry) storyOf() *storyState {
	if e.story == nil {
		feed := string(e.feed())
		e.story = &storyState{id: natsutil.Token(string(e.id())), first: e.time, count: 1,
			sources: []storySource{{feed: feed, joined: e.time}}}
	}
	return e.story
}

// join adds feed to e's story unless it carried the story already, and
// records the story's state as of e.
func (x *Index) join(e *entry, feed string, now int64) {
	st, cfg := e.story, x.rules.Story
	known := false
	for _, s := range st.sources {
		if s.feed == feed {
			known = true
			break
		}
	}
	if !known {
		// Past MaxSources listed, the count still grows.
		st.count++
		e.added = true
		if len(st.sources) < cfg.MaxSources {
			st.sources = append(st.sources, storySource{feed: feed, joined: now})
		}
	}
	e.sources = int32(st.count)
	recent := 0
	for i := len(st.sources) - 1; i >= 0 && st.sources[i].joined >= now-int64(cfg.BreakingWindow); i-- {
		recent++
	}
	e.breaking = recent >= cfg.BreakingSources
}

// maxSegmentData bounds a segment's data, so entry offsets fit in 32 bits:
// a burst that fills it (millions of records in horizon/8) opens a new
// segment early.
const maxSegmentData = 1 << 31

// segment returns the segment a record stamped now goes to, opening one
// and dropping expired ones as ledger time passes (x.mu held).
func (x *Index) segment(now int64) *segment {
	for len(x.segs) > 0 && x.segs[0].last < now-int64(x.rules.Horizon) {
		x.entries -= len(x.segs[0].entries)
		x.segs[0] = nil
		x.segs = x.segs[1:]
		if len(x.segs) == 0 { // the newest went too: its keys with it
			x.cur, x.old = hot{}, table{}
		}
	}
	if n := len(x.segs); n > 0 && x.segs[n-1].first >= now-x.span && len(x.segs[n-1].data) < maxSegmentData {
		s := x.segs[n-1]
		s.last = max(s.last, now)
		return s
	}
	if len(x.segs) > 0 {
		x.seal()
	}
	s := &segment{first: now, last: now, base: x.next}
	x.segs = append(x.segs, s)
	return s
}

// seal merges the newest segment's keys into the table of older ones (the
// newer owner of a key wins; keys of dropped segments go) and trims the
// segment's entries (x.mu held). It runs once per Horizon/8 of ledger
// time and costs a pass over the table.
func (x *Index) seal() {
	newest := x.segs[len(x.segs)-1]
	add, vals := x.cur.sorted()
	old := x.old
	t := table{slots: make([]uint64, 0, len(old.slots)+len(add)), vals: make([]uint32, 0, len(old.slots)+len(add))}
	i := 0
	for j, k := range add {
		for ; i < len(old.slots) && old.slots[i] < k; i++ {
			if x.resolve(old.vals[i]) != nil {
				t.slots, t.vals = append(t.slots, old.slots[i]), append(t.vals, old.vals[i])
			}
		}
		if i < len(old.slots) && old.slots[i] == k {
			i++ // the newer owner wins
		}
		t.slots, t.vals = append(t.slots, k), append(t.vals, uint32(newest.base+uint64(vals[j])))
	}
	for ; i < len(old.slots); i++ {
		if x.resolve(old.vals[i]) != nil {
			t.slots, t.vals = append(t.slots, old.slots[i]), append(t.vals, old.vals[i])
		}
	}
	t.index()
	x.old, x.cur = t, newHot(x.cur.n)
	newest.entries = slices.Clip(slices.Clone(newest.entries))
	newest.data = slices.Clip(slices.Clone(newest.data))
}

func (e *entry) markDuplicate(o *entry, kind Kind, sim float32) {
	e.duplicate, e.dupKind, e.dupSim = true, kind, sim
	e.dupOf = o.root()
}

// root is the id of the original e belongs to (its own when it is one).
func (e *entry) root() string {
	if e.duplicate {
		return e.dupOf
	}
	return string(e.id())
}

// copyVerdict gives e, a repeat of prev's article, prev's verdict. A
// repeat owns no keys, so no later article meets it.
func (e *entry) copyVerdict(prev *entry) {
	if prev.hasStory {
		prev.storyOf() // its first-seen time is prev's, not e's
	}
	seq, t, seg, off, idLen := e.seq, e.time, e.seg, e.off, e.idLen
	*e = *prev
	e.seq, e.time, e.seg, e.off, e.idLen = seq, t, seg, off, idLen
	e.feedLen, e.nearLen, e.storyLen = 0, 0, 0
	e.repeat = true
}

func (e *entry) result() Result {
	var r Result
	if e.duplicate {
		r.Duplicate = &pipeline.Duplicate{Of: e.dupOf, Kind: e.dupKind.String(), Similarity: round3(float64(e.dupSim))}
	}
	if e.hasStory {
		id, first := "", e.time
		if e.story != nil {
			id, first = e.story.id, e.story.first
		} else {
			id = natsutil.Token(string(e.id()))
		}
		r.Story = &pipeline.StoryRef{ID: id, FirstSeen: time.Unix(0, first).UTC(), Sources: int(e.sources), Breaking: e.breaking}
	}
	r.NewStory, r.Added, r.Repeat = e.newStory, e.added, e.repeat
	return r
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }
