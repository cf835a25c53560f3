package dedup

import (
	"encoding/binary"
	"math"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/internal/hash64"
)

// Params are the near-duplicate parameters: MinHash over word shingles
// with LSH banding. BENCHMARKS.md ("Duplicates") records the measurement
// behind the defaults.
type Params struct {
	// Shingle is the number of words per shingle (default 3).
	Shingle int
	// Bands and Rows: the bands cover the first Bands*Rows hashes; two texts
	// become candidates when all Rows hashes of one band agree, which
	// happens with probability 1-(1-J^Rows)^Bands for Jaccard J
	// (defaults 8 and 2: 0.90 at J=0.5, 0.97 at J=0.6, 0.999 at J=0.8).
	Bands, Rows int
	// Hashes is the signature length, which the similarity is estimated
	// from (default 64); the bands are built from its first Bands*Rows
	// hashes, so fewer bands cut the keys an article stores without
	// making the estimate coarser. Never fewer than Bands*Rows.
	Hashes int
	// Threshold is the estimated Jaccard similarity from which a
	// candidate is a duplicate (default 0.5).
	Threshold float64
	// LeadWords is the length of the lead (the first words of the text):
	// two texts of at least LeadWords words that begin with the same
	// LeadWords words are candidates too, which catches a copy cut to a
	// summary (default 24; negative disables it).
	LeadWords int
	// MinContainment is how much of the shorter text's shingles the
	// longer must hold (estimated from the signatures) for a lead
	// candidate to be a duplicate (default 0.5).
	MinContainment float64
	// MinWords is the fewest words a text needs to be indexed at all
	// (default 8): shorter texts say too little to be told apart.
	MinWords int
	// ShortWords: a text shorter than this has the title added to its
	// words, as for a feed item with a one-line description (default 20).
	ShortWords int
	// Bits is how many bits of each minimum hash an in-memory index keeps
	// (Pack): 1 to 8 (default 5: BENCHMARKS.md, "The ledger").
	Bits int
}

// DefaultParams are the measured defaults.
func DefaultParams() Params {
	return Params{Shingle: 3, Bands: 8, Rows: 2, Hashes: 64, Threshold: 0.5, LeadWords: 24, MinContainment: 0.5, MinWords: 8, ShortWords: 20, Bits: 5}
}

func (p Params) withDefaults() Params {
	d := DefaultParams()
	if p.Shingle <= 0 {
		p.Shingle = d.Shingle
	}
	if p.Bands <= 0 {
		p.Bands = d.Bands
	}
	if p.Rows <= 0 {
		p.Rows = d.Rows
	}
	if p.Threshold <= 0 {
		p.Threshold = d.Threshold
	}
	if p.LeadWords == 0 {
		p.LeadWords = d.LeadWords
	}
	if p.MinContainment <= 0 {
		p.MinContainment = d.MinContainment
	}
	if p.MinWords <= 0 {
		p.MinWords = d.MinWords
	}
	if p.ShortWords <= 0 {
		p.ShortWords = d.ShortWords
	}
	if p.Bits < 1 || p.Bits > 8 {
		p.Bits = d.Bits
	}
	if p.Hashes <= 0 {
		p.Hashes = d.Hashes
	}
	if p.Bands*p.Rows > maxHashes {
		p.Bands = maxHashes / p.Rows
	}
	p.Hashes = min(max(p.Hashes, p.Bands*p.Rows), maxHashes)
	return p
}

// Sketch is what near-duplicate detection knows of a text: its MinHash
// signature, its band hashes and its lead hash.
type Sketch struct {
	// Sig holds the Hashes minimum hashes.
	Sig []uint64
	// Shingles is the number of distinct shingles (for containment).
	Shingles int
	// Bands are the band hashes, one per band.
	Bands []uint64
	// Lead is the hash of the first LeadWords words, 0 when the text is
	// shorter or leads are disabled.
	Lead uint64
}

// Words returns the words near-duplicate detection compares: the
// normalised text's, with the title's in front when the text is short.
func (p Params) Words(title, text string) []string {
	p = p.withDefaults()
	words := fold.Words(text)
	if len(words) < p.ShortWords {
		words = append(fold.Words(title), words...)
	}
	return words
}

// SketchWords computes the sketch of words; ok is false when the text is
// too short to index.
func (p Params) SketchWords(words []string) (s Sketch, ok bool) {
	p = p.withDefaults()
	if len(words) < p.MinWords {
		return Sketch{}, false
	}
	hw := make([]uint64, len(words))
	for i, w := range words {
		hw[i] = hashString(w)
	}
	n := p.Hashes
	sig := make([]uint64, n)
	for i := range sig {
		sig[i] = math.MaxUint64
	}
	k := min(p.Shingle, len(hw))
	seen := make(map[uint64]struct{}, len(hw))
	for i := 0; i+k <= len(hw); i++ {
		h := uint64(0x9e3779b97f4a7c15)
		for _, x := range hw[i : i+k] {
			h = hash64.Mix(h ^ x)
		}
		if _, dup := seen[h]; dup {
			continue
		}
		seen[h] = struct{}{}
		for j := range sig {
			if v := hash64.Mix(h ^ seeds[j]); v < sig[j] {
				sig[j] = v
			}
		}
	}
	s = Sketch{Sig: sig, Shingles: len(seen), Bands: make([]uint64, p.Bands)}
	for b := range s.Bands {
		h := uint64(b + 1)
		for _, v := range sig[b*p.Rows : (b+1)*p.Rows] {
			h = hash64.Mix(h ^ v)
		}
		s.Bands[b] = h
	}
	if p.LeadWords > 0 && len(hw) >= p.LeadWords {
		h := uint64(0x6c65616400000000) // "lead"
		for _, x := range hw[:p.LeadWords] {
			h = hash64.Mix(h ^ x)
		}
		s.Lead = h
	}
	return s, true
}

// AppendCompact appends the compact signature to b, as an entry stores
// it: the shingle count, then the low 16 bits of each minimum hash.
func (s Sketch) AppendCompact(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(min(s.Shingles, math.MaxUint32)))
	for _, v := range s.Sig {
		b = binary.LittleEndian.AppendUint16(b, uint16(v))
	}
	return b
}

// hashString is FNV-1a 64 finished with the SplitMix64 finaliser:
// stable across processes and versions, as the shared index needs.
func hashString(s string) uint64 { return hash64.Mix(hash64.String(s)) }

// maxHashes bounds Bands*Rows.
const maxHashes = 512

// seeds are the per-hash seeds, fixed forever (a change would make every
// stored signature incomparable).
var seeds = func() [maxHashes]uint64 {
	var s [maxHashes]uint64
	x := uint64(0x5eed5eed5eed5eed)
	for i := range s {
		x += 0x9e3779b97f4a7c15
		s[i] = hash64.Mix(x)
	}
	return s
}()
