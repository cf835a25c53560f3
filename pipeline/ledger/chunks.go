package ledger

import (
	"encoding/binary"
	"slices"
)

// A segment's entries and data grow by adding chunks, never by copying
// what they hold: growing one array by half again would, at half a
// million entries in the newest segment, allocate and copy 80 MB while
// every worker waits on the index (stalls of 0.1-0.35 s in the latency
// run, BENCHMARKS.md), and an *entry stays valid while its segment is
// the newest (sealing clips the last chunks: clip).
const (
	entryChunkBits = 10       // 1,024 entries (32 KB) a chunk
	dataChunkBits  = 20       // at most 1 MB a chunk
	firstDataChunk = 32 << 10 // a segment's first data chunk; each next doubles, to 1 MB

	// maxDup bounds what a duplicate keeps of its original (dup): an id
	// (packed, or after its length), the kind and the similarity.
	maxDup = binary.MaxVarintLen16 + maxString + 3
)

// entryChunks are a segment's entries, numbered from 0 in order.
type entryChunks struct {
	chunks [][]entry // each full (1<<entryChunkBits) but the last
	n      int
}

func (c *entryChunks) len() int { return c.n }

// at is entry j (j < len).
func (c *entryChunks) at(j int) *entry {
	return &c.chunks[j>>entryChunkBits][j&(1<<entryChunkBits-1)]
}

// add appends e and returns where it is kept.
func (c *entryChunks) add(e entry) *entry {
	if c.n&(1<<entryChunkBits-1) == 0 {
		c.chunks = append(c.chunks, make([]entry, 0, 1<<entryChunkBits))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, e)
	c.n++
	return &(*last)[len(*last)-1]
}

// clip frees the room the last chunk kept for entries to come (a sealed
// segment takes no more).
func (c *entryChunks) clip() {
	if n := len(c.chunks); n > 0 {
		c.chunks[n-1] = slices.Clip(slices.Clone(c.chunks[n-1]))
	}
}

// dataChunks hold the entries' fields back to back; an offset is the
// chunk's number in the high bits and the place in it in the low
// dataChunkBits (a chunk smaller than that leaves offsets unused, not
// memory).
type dataChunks struct {
	chunks [][]byte
}

// size is the offset the next byte would have.
func (d *dataChunks) size() int {
	n := len(d.chunks)
	if n == 0 {
		return 0
	}
	return (n-1)<<dataChunkBits + len(d.chunks[n-1])
}

// entryRoom is the room r's entry may take: its id with its length, both
// signatures packed (a header byte and at most a byte a value) and a
// duplicate's original.
func entryRoom(r *Record) int {
	return binary.MaxVarintLen16 + len(r.Article) + 2 + len(r.NearSig) + len(r.StorySig) + maxDup
}

// room makes sure the last chunk has need bytes free, starting a new one
// if not, and returns the offset where an entry's fields start and the
// chunk to append them to. The fields of an entry lie in one chunk.
func (d *dataChunks) room(need int) (off uint32, data *[]byte) {
	n := len(d.chunks)
	if n == 0 {
		d.chunks = append(d.chunks, make([]byte, 0, max(firstDataChunk, need)))
	} else if last := d.chunks[n-1]; cap(last)-len(last) < need || len(last)+need > 1<<dataChunkBits {
		// (The second: an entry's fields past the room it asked for
		// must not push the next entry's offset into the next chunk's.)
		d.chunks = append(d.chunks, make([]byte, 0, max(min(2*cap(last), 1<<dataChunkBits), need)))
	}
	return uint32(d.size()), &d.chunks[len(d.chunks)-1]
}

// last is the last chunk, where the entry being applied has its fields.
func (d *dataChunks) last() *[]byte { return &d.chunks[len(d.chunks)-1] }

// from is the data from offset off to the end of its chunk.
func (d *dataChunks) from(off uint32) []byte {
	return d.chunks[off>>dataChunkBits][off&(1<<dataChunkBits-1):]
}

// clip frees the room the last chunk kept for fields to come.
func (d *dataChunks) clip() {
	if n := len(d.chunks); n > 0 {
		d.chunks[n-1] = slices.Clip(slices.Clone(d.chunks[n-1]))
	}
}
