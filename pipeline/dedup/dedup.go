// Package dedup says what makes two articles the same: an article whose
// canonical URL, globally unique GUID or normalised text an earlier one
// had is a duplicate of it (kinds url, guid, content); one whose text is
// nearly the same as an earlier one's is a near duplicate (kind near):
// MinHash over word shingles with LSH banding, plus a lead fingerprint for
// copies cut to a summary (Identify, Verdict).
//
// The ledger (pipeline/ledger) applies these identities in one order
// shared by every worker of every daemon, so of several copies exactly one
// survives. Store is a small shared key-value index (JetStream KV) the
// sink uses to alert once per story.
package dedup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"math/bits"
	"slices"
	"strings"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Identity is what duplicate detection knows of an article: its exact
// fingerprints in claim order and, for a text long enough, its MinHash
// sketch as lead and band hashes and a signature entry.
type Identity struct {
	Exact []Fingerprint
	// Lead then Bands are the near-duplicate candidate keys (Lead 0:
	// none); Entry is the signature entry candidates are verified
	// against (empty when the text is too short to sketch).
	Lead  uint64
	Bands []uint64
	Entry []byte
}

// Words are an article's folded words, computed once for every
// fingerprint and sketch.
type Words struct{ Title, Text []string }

// WordsOf folds a's title and text into words.
func WordsOf(a *pipeline.Article) Words {
	return Words{Title: fold.Words(a.Title), Text: fold.Words(a.Text)}
}

// Identify computes a's identity from its words w; near false leaves out
// the sketch.
func (p Params) Identify(a *pipeline.Article, w Words, near bool) Identity {
	p = p.withDefaults()
	var id Identity
	var sk Sketch
	sketched, plain := false, false
	if near {
		words := w.Text
		plain = len(words) >= max(p.ShortWords, minContentWords)
		if len(words) < p.ShortWords {
			words = slices.Concat(w.Title, words)
		}
		sk, sketched = p.SketchWords(words)
	}
	content := uint64(0)
	for _, fp := range fingerprints(a, w) {
		// A text long enough to be sketched on its own words carries its
		// content hash in its signature entry instead of a key of its
		// own: an exact copy has the same sketch, so it meets the
		// original on the lead or the first band and is told apart by
		// the hash.
		if fp.Kind == "content" && sketched && plain {
			content = fp.Hash
			continue
		}
		id.Exact = append(id.Exact, fp)
	}
	if sketched {
		id.Lead, id.Bands, id.Entry = sk.Lead, sk.Bands, encodeEntryContent(sk, content)
	}
	return id
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }

// entryVersion starts every stored signature entry; an entry of another
// layout (an older release's) is never taken for a duplicate.
const entryVersion = 2

// encodeEntry is the stored value of an article's signature: a version
// byte, the lead hash (8 bytes), the content hash (8 bytes, 0 when the
// content has a key of its own) then the compact signature.
func encodeEntry(sk Sketch) []byte { return encodeEntryContent(sk, 0) }

func encodeEntryContent(sk Sketch, content uint64) []byte {
	b := make([]byte, 0, 17+4+2*len(sk.Sig))
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, sk.Lead)
	b = binary.LittleEndian.AppendUint64(b, content)
	return sk.AppendCompact(b)
}

// Pack appends to dst the form of entry v an in-memory index keeps (the
// ledger's keeps one or two for every article), which PackedVerdict
// compares: a header byte; the low 16 bits of the lead and content hashes
// when they are set (the header says which; 16 bits take two hashes for
// one one time in 65,536: then a candidate met on a band counts as
// sharing its lead, and is a duplicate if the shorter text is mostly in
// the longer by its estimated Jaccard and shingle counts, or an
// identical text's kind is given to a near duplicate); with a lead, the
// shingle count in 16 bits (at most 65,535: only a shared lead reads
// it); then the lowest p.Bits bits of each
// minimum hash (b-bit MinHash, Li and König 2010), back to back from the
// first byte's lowest bit. It estimates the similarity about as well as
// whole values once corrected for the values that agree by chance
// (PackedVerdict). An empty entry stays empty; one of another layout is
// kept as it is, and is never a duplicate.
func (p Params) Pack(dst, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	if len(v) < 17+6 || v[0] != entryVersion || (len(v)-21)%2 != 0 {
		return append(append(dst, packRaw), v...)
	}
	nb := p.withDefaults().Bits
	lead, content := binary.LittleEndian.Uint64(v[1:9]), binary.LittleEndian.Uint64(v[9:17])
	n := (len(v) - 21) / 2 // values
	h := byte(nb-1)<<packBitsShift | byte((8-n*nb%8)%8)<<packPadShift
	if lead != 0 {
		h |= packLead
	}
	if content != 0 {
		h |= packContent
	}
	dst = append(dst, h)
	if lead != 0 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(lead))
	}
	if content != 0 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(content))
	}
	if lead != 0 {
		dst = binary.LittleEndian.AppendUint16(dst, uint16(min(binary.LittleEndian.Uint32(v[17:21]), math.MaxUint16)))
	}
	var acc uint32 // bits not yet appended, lowest first
	have := 0
	for i := range n {
		acc |= uint32(v[21+2*i]&byte(1<<nb-1)) << have // the value's low byte
		for have += nb; have >= 8; have -= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
		}
	}
	if have > 0 {
		dst = append(dst, byte(acc))
	}
	return dst
}

// The header byte of a packed entry.
const (
	packLead      = 1 << 0 // the lead hash follows
	packContent   = 1 << 1 // the content hash follows
	packPadShift  = 2      // bits 2-4: the bits unused in the last byte
	packBitsShift = 5      // bits 5-7: the bits kept of a value, less 1
	packRaw       = 0xff   // an entry of another layout follows as it is (never a header: 8 bits a value leave none unused)
)

// packed is a packed entry taken apart.
type packed struct {
	lead, content uint32 // 1<<16 | the low 16 bits; 0: none
	shingles      int
	bits, n       int // bits a value; n values
	values        []byte
}

func unpacked(p []byte) (e packed, ok bool) {
	if len(p) < 1 || p[0] == packRaw {
		return packed{}, false
	}
	h, p := p[0], p[1:]
	if h&packLead != 0 {
		if len(p) < 2 {
			return packed{}, false
		}
		e.lead, p = 1<<16|uint32(binary.LittleEndian.Uint16(p)), p[2:]
	}
	if h&packContent != 0 {
		if len(p) < 2 {
			return packed{}, false
		}
		e.content, p = 1<<16|uint32(binary.LittleEndian.Uint16(p)), p[2:]
	}
	if h&packLead != 0 {
		if len(p) < 2 {
			return packed{}, false
		}
		e.shingles, p = int(binary.LittleEndian.Uint16(p)), p[2:]
	}
	if len(p) < 1 {
		return packed{}, false
	}
	e.bits = int(h>>packBitsShift) + 1
	e.values = p
	used := len(e.values)*8 - int(h>>packPadShift&7)
	e.n = used / e.bits
	return e, e.n > 0 && used%e.bits == 0
}

// PackedVerdict decides from two packed entries (Pack) whether the texts
// are near duplicates, and how similar they are: the estimated Jaccard
// similarity reaches Threshold, or the texts share their lead and the
// shorter is mostly contained in the longer (then the similarity is the
// containment). It is symmetric, so whichever of two racing copies checks
// the other reaches the same verdict. The share of minimum hashes whose
// kept bits agree overstates the similarity by the values that agree by
// chance, one in 2^bits of the others; the estimate takes them out (the
// b-bit estimator), so its mean is the similarity again, and rounds it to
// the signature's resolution (1/n for n values), where the estimate from
// whole values lies. content is true when the texts are the same: both
// entries carry a content hash, the same one.
func (p Params) PackedVerdict(mine, theirs []byte) (similarity float64, dup, content bool) {
	d := DefaultParams() // the two defaults it needs (withDefaults: all, and dearer)
	if p.Threshold <= 0 {
		p.Threshold = d.Threshold
	}
	if p.MinContainment <= 0 {
		p.MinContainment = d.MinContainment
	}
	a, b, ok := unpackedPair(mine, theirs)
	if !ok {
		return 0, false, false
	}
	j := estimate(agreeing(a.values, b.values, a.bits, a.n), a.n, a.bits)
	content = a.content != 0 && a.content == b.content
	if j >= p.Threshold {
		return round3(j), true, content
	}
	if a.lead != 0 && a.lead == b.lead {
		if small := float64(min(a.shingles, b.shingles)); small > 0 {
			inter := j * float64(a.shingles+b.shingles) / (1 + j)
			if c := min(1, inter/small); c >= p.MinContainment {
				return round3(c), true, content
			}
		}
	}
	return round3(j), false, false
}

// unpackedPair takes two packed entries apart; ok is false unless both
// are entries of the same shape (values, bits).
func unpackedPair(mine, theirs []byte) (a, b packed, ok bool) {
	a, okA := unpacked(mine)
	b, okB := unpacked(theirs)
	return a, b, okA && okB && a.n == b.n && a.bits == b.bits && len(a.values) == len(b.values)
}

// estimate is the similarity of two signatures of n values, nb bits each,
// eq of which agree: the share of agreeing values less the chance ones,
// rounded to 1/n (PackedVerdict).
func estimate(eq, n, nb int) float64 {
	chance := 1 / float64(int(1)<<nb)
	j := math.Round((float64(eq)/float64(n)-chance)/(1-chance)*float64(n)) / float64(n)
	return min(max(j, 0), 1)
}

// Agreement compares two packed entries (Pack) of the same shape: eq of
// their n values, nb bits each, agree; lead is whether both have a lead
// (then PackedVerdict may find a duplicate by containment as well). ok is
// false when they are not alike in shape, and PackedVerdict finds no
// duplicate.
func Agreement(mine, theirs []byte) (eq, n, nb int, lead, ok bool) {
	// The common case, two story signatures: the same header, neither a
	// lead nor a content hash, the values after it.
	// (packRaw has the lead and content bits set.)
	if len(mine) > 1 && len(mine) == len(theirs) && mine[0] == theirs[0] && mine[0]&(packLead|packContent) == 0 {
		nb = int(mine[0]>>packBitsShift) + 1
		used := (len(mine)-1)*8 - int(mine[0]>>packPadShift&7)
		if n = used / nb; n > 0 && used%nb == 0 {
			return agreeing(mine[1:], theirs[1:], nb, n), n, nb, false, true
		}
		return 0, 0, 0, false, false
	}
	a, b, ok := unpackedPair(mine, theirs)
	if !ok {
		return 0, 0, 0, false, false
	}
	return agreeing(a.values, b.values, a.bits, a.n), a.n, a.bits, a.lead != 0 && b.lead != 0, true
}

// MinAgreeing is the fewest of n values, nb bits each, that must agree
// for PackedVerdict's estimate to reach p.Threshold (n+1: none is
// enough), so that a caller comparing many pairs of one shape, and
// wanting only whether they reach it, counts and compares (story.Judge).
func (p Params) MinAgreeing(n, nb int) int {
	if p.Threshold <= 0 {
		p.Threshold = DefaultParams().Threshold
	}
	for eq := range n + 1 {
		if estimate(eq, n, nb) >= p.Threshold {
			return eq
		}
	}
	return n + 1
}

// agreeing counts the first n values, nb bits each packed back to back,
// that agree in x and y (of the same length). It reads as many values a
// word as 56 bits hold and finds the ones whose bits all agree at once
// (a value is 0 in x^y when adding its lower bits to all ones below its
// top bit carries nothing into it and its top bit is 0), instead of a
// value at a time: every story candidate is one such comparison, and an
// article meets more of them the more articles are indexed
// (story-cands/article in the ledger's BenchmarkIndexed).
func agreeing(x, y []byte, nb, n int) int {
	g := 56 / nb                                   // values a word
	ones := (uint64(1)<<(g*nb) - 1) / (1<<nb - 1)  // each value's lowest bit
	below, top := ones*(1<<(nb-1)-1), ones<<(nb-1) // each value's bits under its top one; its top one
	eq := 0
	for k := 0; k < n; k += g {
		at := k * nb
		d := (word(x, at>>3) ^ word(y, at>>3)) >> (at & 7)
		in := top & (uint64(1)<<(min(g, n-k)*nb) - 1) // the values still to count
		eq += bits.OnesCount64(^((d&below + below) | d | below) & in)
	}
	return eq
}

// word is the 8 bytes of b from i on, little-endian, 0 past its end.
func word(b []byte, i int) uint64 {
	if i+8 <= len(b) {
		return binary.LittleEndian.Uint64(b[i:])
	}
	var w [8]byte
	copy(w[:], b[i:])
	return binary.LittleEndian.Uint64(w[:])
}

// EncodeEntry exposes the stored form of a sketch (for the evaluation).
func EncodeEntry(sk Sketch) []byte { return encodeEntry(sk) }

// Fingerprint is one identity of an article.
type Fingerprint struct {
	Kind string // url, guid, content
	Key  string // store key: <kind>.<hex>
	Hash uint64 // the first 8 bytes of the digest, never 0
}

// minContentWords is how many words a text needs before its hash is
// trusted as an identity; shorter texts add the title.
const minContentWords = 15

// Fingerprints lists the identities of a, in claim order.
func Fingerprints(a *pipeline.Article) []Fingerprint { return fingerprints(a, WordsOf(a)) }

func fingerprints(a *pipeline.Article, w Words) []Fingerprint {
	var out []Fingerprint
	add := func(kind, v string) {
		sum := sha256.Sum256([]byte(v))
		out = append(out, Fingerprint{Kind: kind, Key: kind + "." + hex.EncodeToString(sum[:16]), Hash: binary.LittleEndian.Uint64(sum[:8]) | 1})
	}
	if a.CanonicalURL != "" {
		add("url", a.CanonicalURL)
	}
	if globalGUID(a.GUID) {
		add("guid", a.GUID)
	}
	words := w.Text
	if len(words) < minContentWords {
		words = slices.Concat(w.Title, words)
	}
	if len(words) >= 5 {
		add("content", strings.Join(words, " "))
	}
	return out
}

// globalGUID reports whether a GUID identifies an item across feeds (a URL,
// URN or other long structured id) rather than only within its feed (a
// number, a short slug).
func globalGUID(g string) bool {
	return len(g) >= 16 && strings.ContainsAny(g, ":/")
}
