package learn

import (
	"math"
	"slices"

	"github.com/wirewatch/wirewatch/internal/fold"
)

// Example is one labelled document.
type Example struct {
	Title, Text string
	Label       string
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashWord(w string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(w); i++ {
		h ^= uint64(w[i])
		h *= fnvPrime
	}
	return h
}

// mix is the splitmix64 finaliser: it spreads a hash over all 64 bits.
func mix(h uint64) uint64 {
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

// hasher turns text into hashed feature buckets.
type hasher struct {
	bits    uint8
	bigrams bool
}

func (h hasher) bucket(x uint64) uint32 { return uint32(mix(x) >> (64 - uint(h.bits))) }

func (h hasher) bigram(a, b uint64) uint64 { return a*0x9e3779b97f4a7c15 ^ b ^ 0x5bd1e995 }

// scratch holds the buffers of one featurisation, reused between calls.
type scratch struct {
	toks    []fold.Token
	hashes  []uint64
	buckets []uint32
	feats   []feat
}

// feat is one distinct bucket of a document and its count.
type feat struct {
	b uint32
	n float32
}

// featurize returns the distinct buckets of title and text with their
// counts, sorted by bucket, in s.feats. The title and the text are one
// stream of words, with no bigram across the boundary.
func (h hasher) featurize(s *scratch, title, text string) []feat {
	s.buckets = s.buckets[:0]
	for _, part := range [2]string{title, text} {
		s.toks = fold.AppendTokens(s.toks[:0], part)
		s.hashes = s.hashes[:0]
		for _, t := range s.toks {
			s.hashes = append(s.hashes, hashWord(t.Word))
		}
		for i, x := range s.hashes {
			s.buckets = append(s.buckets, h.bucket(x))
			if h.bigrams && i > 0 {
				s.buckets = append(s.buckets, h.bucket(h.bigram(s.hashes[i-1], x)))
			}
		}
	}
	slices.Sort(s.buckets)
	s.feats = s.feats[:0]
	for i := 0; i < len(s.buckets); {
		j := i + 1
		for j < len(s.buckets) && s.buckets[j] == s.buckets[i] {
			j++
		}
		s.feats = append(s.feats, feat{b: s.buckets[i], n: float32(j - i)})
		i = j
	}
	return s.feats
}

// terms returns, for each bucket of title and text, the first word or
// bigram that fell into it: what an explanation shows.
func (h hasher) terms(title, text string) map[uint32]string {
	out := make(map[uint32]string)
	for _, part := range [2]string{title, text} {
		toks := fold.Tokens(part)
		var prev uint64
		for i, t := range toks {
			x := hashWord(t.Word)
			if b := h.bucket(x); out[b] == "" {
				out[b] = t.Word
			}
			if h.bigrams && i > 0 {
				if b := h.bucket(h.bigram(prev, x)); out[b] == "" {
					out[b] = toks[i-1].Word + " " + t.Word
				}
			}
			prev = x
		}
	}
	return out
}

// sublinear is the term-frequency weight 1 + ln(tf).
func sublinear(n float32) float32 { return 1 + float32(math.Log(float64(n))) }

// index maps the buckets a model kept to their rows: open addressing with
// linear probing, keys stored +1 so that 0 means empty, key and row side
// by side (one cache line per probe).
type index struct {
	slots []slot
	mask  uint32
}

type slot struct {
	key uint32
	row int32
}

func newIndex(buckets []uint32) index {
	size := 16
	for size < 2*len(buckets) {
		size *= 2
	}
	ix := index{slots: make([]slot, size), mask: uint32(size - 1)}
	for r, b := range buckets {
		i := uint32(b*0x9e3779b1) & ix.mask
		for ix.slots[i].key != 0 {
			i = (i + 1) & ix.mask
		}
		ix.slots[i] = slot{key: b + 1, row: int32(r)}
	}
	return ix
}

func (ix *index) get(b uint32) int32 {
	i := uint32(b*0x9e3779b1) & ix.mask
	for {
		s := ix.slots[i]
		if s.key == b+1 {
			return s.row
		}
		if s.key == 0 {
			return -1
		}
		i = (i + 1) & ix.mask
	}
}
