package learn

import (
	"math"
	"slices"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/internal/hash64"
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

// hashBytes is hashWord of string(w), without the string.
func hashBytes(w []byte) uint64 {
	h := uint64(fnvOffset)
	for _, c := range w {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// hashFolded is hashWord(fold.Word(w)) without building the string: ASCII
// words are folded (lower case, apostrophes dropped) as they are hashed,
// others folded into s.word first. ok is false when nothing is left.
//
// With keep, s.word always holds the folded word.
func (s *scratch) hashFolded(w string, keep bool) (h uint64, ok bool) {
	if keep {
		s.word = fold.AppendWord(s.word[:0], w)
		return hashBytes(s.word), len(s.word) > 0
	}
	h = fnvOffset
	n := 0
	for i := 0; i < len(w); i++ {
		c := w[i]
		switch {
		case c >= utf8.RuneSelf:
			s.word = fold.AppendWord(s.word[:0], w)
			return hashBytes(s.word), len(s.word) > 0
		case c == '\'' || c == '`':
			continue
		case 'A' <= c && c <= 'Z':
			c += 'a' - 'A'
		}
		h ^= uint64(c)
		h *= fnvPrime
		n++
	}
	return h, n > 0
}

// hasher turns text into hashed feature buckets.
type hasher struct {
	bits    uint8
	bigrams bool
	chars   bool // character 3- to 5-grams of each word
}

// charGrams calls emit with the bucket of each character 3-, 4- and
// 5-gram of the folded word w padded as <w> (bytes, not runes: a cheap
// proxy that works for any script).
func (h hasher) charGrams(s *scratch, w []byte, emit func(uint32)) {
	s.pad = append(append(append(s.pad[:0], '<'), w...), '>')
	for n := 3; n <= 5; n++ {
		for i := 0; i+n <= len(s.pad); i++ {
			x := uint64(fnvOffset) ^ uint64(n)*0x9e3779b97f4a7c15
			for _, c := range s.pad[i : i+n] {
				x ^= uint64(c)
				x *= fnvPrime
			}
			emit(h.bucket(x))
		}
	}
}

func (h hasher) bucket(x uint64) uint32 { return uint32(hash64.Mix(x) >> (64 - uint(h.bits))) }

func (h hasher) bigram(a, b uint64) uint64 { return a*0x9e3779b97f4a7c15 ^ b ^ 0x5bd1e995 }

// scratch holds the buffers of one featurisation, reused between calls.
type scratch struct {
	toks    []fold.Token
	hashes  []uint64
	buckets []uint32
	feats   []feat
	// Inference (Model.scores): a table counting the document's buckets,
	// its slots in use, and a word's folded bytes.
	tab  []tabSlot
	rows []int32
	word []byte
	pad  []byte // a word padded for its character n-grams
}

// tabSlot counts one bucket of a document; key is the bucket + 1, 0 when
// the slot is free.
type tabSlot struct {
	key, n uint32
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
			if h.chars {
				s.word = append(s.word[:0], s.toks[i].Word...)
				h.charGrams(s, s.word, func(b uint32) { s.buckets = append(s.buckets, b) })
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

// occurrence is where a word or bigram first occurs: what an explanation
// shows.
type occurrence struct {
	term       string
	field      string // "title" or "text"
	start, end int    // byte offsets in the field
}

// terms returns, for each bucket of title and text, the first word or
// bigram that fell into it and where it is.
func (h hasher) terms(title, text string) map[uint32]occurrence {
	out := make(map[uint32]occurrence)
	for fi, part := range [2]string{title, text} {
		field := [2]string{"title", "text"}[fi]
		toks := fold.Tokens(part)
		var prev uint64
		for i, t := range toks {
			x := hashWord(t.Word)
			if b := h.bucket(x); out[b].term == "" {
				out[b] = occurrence{t.Word, field, t.Start, t.End}
			}
			if h.bigrams && i > 0 {
				if b := h.bucket(h.bigram(prev, x)); out[b].term == "" {
					out[b] = occurrence{toks[i-1].Word + " " + t.Word, field, toks[i-1].Start, t.End}
				}
			}
			if h.chars {
				var s scratch
				h.charGrams(&s, []byte(t.Word), func(b uint32) {
					if out[b].term == "" {
						out[b] = occurrence{t.Word, field, t.Start, t.End}
					}
				})
			}
			prev = x
		}
	}
	return out
}

// sublinear is the term-frequency weight 1 + ln(tf).
func sublinear(n float32) float32 {
	if i := int(n); float32(i) == n && i >= 1 && i < len(sublinearTable) {
		return sublinearTable[i]
	}
	return 1 + float32(math.Log(float64(n)))
}

// sublinearTable holds sublinear(n) for small counts.
var sublinearTable = func() (t [64]float32) {
	for i := 1; i < len(t); i++ {
		t[i] = 1 + float32(math.Log(float64(i)))
	}
	return t
}()

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
