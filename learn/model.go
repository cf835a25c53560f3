package learn

import (
	"cmp"
	"math"
	"slices"
	"sync"
)

// Model is a trained linear classifier over hashed TF-IDF features. It is
// safe for concurrent use.
type Model struct {
	Labels  []string // the classes, sorted
	Bits    uint8    // 2^Bits hash buckets
	Bigrams bool     // word bigrams besides unigrams
	Meta    Meta     // how it was trained

	buckets []uint32  // the buckets kept, sorted; row r is buckets[r]
	idf     []float32 // per row
	w       []float32 // row-major: w[r*K+k] is the weight of row r for label k
	bias    []float32 // per label
	ix      index
	packed  []float32 // per row: idf, then the K weights (one cache line)

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

func (m *Model) hasher() hasher { return hasher{bits: m.Bits, bigrams: m.Bigrams} }

// init builds what inference needs once buckets, idf, w and bias are set.
func (m *Model) init() {
	m.ix = newIndex(m.buckets)
	K := len(m.Labels)
	m.packed = make([]float32, len(m.buckets)*(K+1))
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

// scores fills out (len K) with the decision values.
func (m *Model) scores(out []float64, title, text string) {
	s := m.pool.Get().(*scratch)
	defer m.pool.Put(s)
	K := len(m.Labels)
	for k := range out {
		out[k] = 0
	}
	var norm float64
	for _, f := range m.hasher().featurize(s, title, text) {
		r := m.ix.get(f.b)
		if r < 0 {
			continue
		}
		row := m.packed[int(r)*(K+1) : int(r)*(K+1)+K+1]
		v := float64(sublinear(f.n) * row[0])
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

// Contribution is how much one word or bigram of a document moved a
// label's score.
type Contribution struct {
	Term   string  `json:"term"`
	Weight float64 `json:"weight"`
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
		out = append(out, Contribution{Term: terms[x.b], Weight: x.v * inv})
	}
	return out, true
}

// Size is the number of hash buckets the model keeps.
func (m *Model) Size() int { return len(m.buckets) }
