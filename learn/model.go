package learn

import (
	"cmp"
	"math"
	"slices"
	"sync"

	"github.com/wirewatch/wirewatch/internal/fold"
)

// Model is a trained linear classifier over hashed TF-IDF features. It is
// safe for concurrent use.
type Model struct {
	Labels  []string // the classes, sorted
	Bits    uint8    // 2^Bits hash buckets
	Bigrams bool     // word bigrams besides unigrams
	// CharGrams adds the character 3-, 4- and 5-grams of each word
	// (padded with < and >) to the features.
	CharGrams bool
	Meta      Meta // how it was trained

	buckets []uint32  // the buckets kept, sorted; row r is buckets[r]
	idf     []float32 // per row
	w       []float32 // row-major: w[r*K+k] is the weight of row r for label k
	bias    []float32 // per label
	ix      index
	dense   []int32   // bucket -> row, the zero row if not kept (Bits <= denseBits), else nil
	packed  []float32 // per row: idf, then the K weights (one cache line); then a zero row

	pool sync.Pool // *scratch
}

// Meta records how a model was trained; it travels in the model file.
type Meta struct {
	Created  string  `json:"created,omitempty"` // RFC 3339
	Docs     int     `json:"docs"`
	C        float64 `json:"c"`
	MinDF    int     `json:"min_df"`
	NBScale  bool    `json:"nb_scale"`
	Features int     `json:"features"`
	Note     string  `json:"note,omitempty"`
}

func (m *Model) hasher() hasher {
	return hasher{bits: m.Bits, bigrams: m.Bigrams, chars: m.CharGrams}
}

// init builds what inference needs once buckets, idf, w and bias are set.
func (m *Model) init() {
	m.ix = newIndex(m.buckets)
	m.dense = nil
	if m.Bits <= denseBits {
		m.dense = make([]int32, 1<<m.Bits)
		for i := range m.dense {
			m.dense[i] = int32(len(m.buckets)) // the zero row
		}
		for r, b := range m.buckets {
			m.dense[b] = int32(r)
		}
	}
	K := len(m.Labels)
	m.packed = make([]float32, (len(m.buckets)+1)*(K+1)) // + a zero row
	for r := range m.buckets {
		m.packed[r*(K+1)] = m.idf[r]
		copy(m.packed[r*(K+1)+1:], m.w[r*K:r*K+K])
	}
	m.pool.New = func() any { return new(scratch) }
}

// Prediction is a model's answer for one document.
type Prediction struct {
	Label  string    // the label with the highest score
	Margin float64   // its decision value (> 0: on the label's side)
	Scores []float64 // decision value per label, in the order of Labels
}

// Prob maps a decision value to (0, 1) with a logistic curve: 0.5 at the
// boundary, about 0.88 at a margin of 1.
func Prob(margin float64) float64 { return 1 / (1 + math.Exp(-2*margin)) }

// Predict classifies a document. It allocates only the returned scores.
func (m *Model) Predict(title, text string) Prediction {
	scores := make([]float64, len(m.Labels))
	m.scores(scores, title, text)
	best := 0
	for k := range scores {
		if scores[k] > scores[best] {
			best = k
		}
	}
	return Prediction{Label: m.Labels[best], Margin: scores[best], Scores: scores}
}

// Score is the decision value of one label for a document (> 0: the
// document is on the label's side), and false when the model has no such
// label.
func (m *Model) Score(label, title, text string) (float64, bool) {
	k, ok := slices.BinarySearch(m.Labels, label)
	if !ok {
		return 0, false
	}
	scores := make([]float64, len(m.Labels))
	m.scores(scores, title, text)
	return scores[k], true
}

// Label returns the index of label in Labels, and false when the model
// has no such label.
func (m *Model) Label(label string) (int, bool) { return slices.BinarySearch(m.Labels, label) }

// ScoresInto sets out[k] to the decision value of Labels[k] for the
// document; out must have len(Labels) elements. It does not allocate.
func (m *Model) ScoresInto(out []float64, title, text string) { m.scores(out, title, text) }

// denseBits is the largest hash size for which a model maps buckets to
// rows with a flat table (4 bytes per bucket: 4 MiB at 20 bits) instead
// of the hash index.
const denseBits = 22

// packedRow returns the row of bucket b in packed: the zero row (idf 0,
// weights 0) when the model does not keep b, so that the caller need not
// branch (a mispredicted branch per feature would stop the CPU from
// overlapping the cache misses of several features).
func (m *Model) packedRow(b uint32) int32 {
	if m.dense != nil {
		return m.dense[b]
	}
	if r := m.ix.get(b); r >= 0 {
		return r
	}
	return int32(len(m.buckets))
}

// scores fills out (len K) with the decision values. It computes what
// featurize and the TF-IDF weighting of training compute, but in one pass
// without sorting: each word's folded bytes are hashed in place, each kept
// row counted in a per-scratch array, and only the rows seen are visited.
func (m *Model) scores(out []float64, title, text string) {
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	// Count the document's buckets in a small open-addressing table
	// (keys stored +1; it stays in the L1 cache), touching no model
	// memory yet.
	// The table starts at a size that usually holds the document and
	// doubles when half full, so that no input can fill it (a full table
	// would make the probe loop forever).
	need := 2 * (len(title) + len(text)) / 3 // >= 2 per word and bigram
	h := m.hasher()
	if h.chars {
		// Up to three character n-grams start at each byte of a word.
		need = 4 * (len(title) + len(text))
	}
	size := 1024
	for size < need {
		size *= 2
	}
	if len(s.tab) < size {
		s.tab = make([]tabSlot, size)
	}
	tab := s.tab[:size]
	mask := uint32(size - 1)
	s.rows = s.rows[:0] // here: the slots in use
	count := func(b uint32) {
		if 2*len(s.rows) >= len(tab) {
			tab = s.grow(tab)
			mask = uint32(len(tab) - 1)
		}
		i := (b * 0x9e3779b1) & mask
		for {
			t := &tab[i]
			if t.key == b+1 {
				t.n++
				return
			}
			if t.key == 0 {
				t.key, t.n = b+1, 1
				s.rows = append(s.rows, int32(i))
				return
			}
			i = (i + 1) & mask
		}
	}
	for _, part := range [2]string{title, text} {
		var prev uint64
		first := true
		for start, end := range fold.Spans(part) {
			x, ok := s.hashFolded(part[start:end], h.chars)
			if !ok {
				continue // nothing but marks: no token
			}
			if h.chars {
				h.charGrams(s, s.word, count)
			}
			count(h.bucket(x))
			if h.bigrams && !first {
				count(h.bucket(h.bigram(prev, x)))
			}
			prev, first = x, false
		}
	}
	K := len(m.Labels)
	clear(out)
	var norm float64
	for _, i := range s.rows {
		t := tab[i]
		tab[i] = tabSlot{}
		r := m.packedRow(t.key - 1)
		row := m.packed[int(r)*(K+1) : int(r)*(K+1)+K+1]
		v := float64(sublinear(float32(t.n)) * row[0])
		norm += v * v
		for k, w := range row[1:] {
			out[k] += v * float64(w)
		}
	}
	inv := 0.0
	if norm > 0 {
		inv = 1 / math.Sqrt(norm)
	}
	for k := range out {
		out[k] = out[k]*inv + float64(m.bias[k])
	}
}

// grow moves the counts of tab (its slots in use listed in s.rows) into a
// table twice as large, which it returns and keeps in s.tab, and leaves
// tab cleared.
func (s *scratch) grow(tab []tabSlot) []tabSlot {
	bigger := make([]tabSlot, 2*len(tab))
	mask := uint32(len(bigger) - 1)
	for j, i := range s.rows {
		t := tab[i]
		tab[i] = tabSlot{}
		k := ((t.key - 1) * 0x9e3779b1) & mask
		for bigger[k].key != 0 {
			k = (k + 1) & mask
		}
		bigger[k] = t
		s.rows[j] = int32(k)
	}
	s.tab = bigger
	return bigger
}

// Contribution is how much one word or bigram of a document moved a
// label's score.
type Contribution struct {
	Term   string  `json:"term"`   // the folded word or bigram
	Weight float64 `json:"weight"` // its share of the decision value
	// Field ("title" or "text") and Start, End (byte offsets into it) say
	// where the term first occurs.
	Field string `json:"field"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Explain returns the n words and bigrams of the document that weighed
// most for label (largest positive contributions first), and false when
// the model has no such label.
func (m *Model) Explain(label, title, text string, n int) ([]Contribution, bool) {
	k, ok := slices.BinarySearch(m.Labels, label)
	if !ok {
		return nil, false
	}
	K := len(m.Labels)
	terms := m.hasher().terms(title, text)
	s := new(scratch)
	feats := m.hasher().featurize(s, title, text)
	var norm float64
	type c struct {
		b uint32
		v float64
	}
	var cs []c
	for _, f := range feats {
		r := m.ix.get(f.b)
		if r < 0 {
			continue
		}
		v := float64(sublinear(f.n) * m.idf[r])
		norm += v * v
		cs = append(cs, c{f.b, v * float64(m.w[int(r)*K+k])})
	}
	if norm == 0 {
		return nil, true
	}
	inv := 1 / math.Sqrt(norm)
	slices.SortFunc(cs, func(a, b c) int { return cmp.Compare(b.v, a.v) })
	var out []Contribution
	for _, x := range cs {
		if len(out) == n || x.v <= 0 {
			break
		}
		o := terms[x.b]
		out = append(out, Contribution{Term: o.term, Weight: x.v * inv, Field: o.field, Start: o.start, End: o.end})
	}
	return out, true
}

// Size is the number of hash buckets the model keeps.
func (m *Model) Size() int { return len(m.buckets) }
