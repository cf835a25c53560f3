package learn

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Options tune training; the zero value gives the defaults.
type Options struct {
	Bits     uint8 // hash buckets 2^Bits; default 20, 12..24
	Unigrams bool  // words only, no bigrams
	// CharGrams adds each word's character 3- to 5-grams to the features.
	CharGrams bool
	// Beta, in (0, 1), interpolates each label's weights with their mean
	// magnitude, w' = (1-Beta) mean|w| + Beta w (Wang and Manning's
	// NB-SVM interpolation); 0 or 1 leaves the weights as trained.
	Beta    float64
	MinDF   int     // keep buckets in at least MinDF training documents; default 1
	C       float64 // SVM cost (inverse regularisation); default 1
	MaxIter int     // coordinate-descent passes per label; default 100
	Eps     float64 // stopping tolerance on the projected gradient; default 0.1
	Workers int     // goroutines; default GOMAXPROCS
	Seed    uint64  // shuffling; 0 is a fixed default
	// NoNBScale turns off the default scaling of each feature by its
	// naive Bayes log-count ratio for the label against the rest (NB-SVM,
	// Wang and Manning 2012), leaving a plain TF-IDF linear SVM.
	NoNBScale bool
	Note      string // stored in the model's Meta
	// Progress, when set, is called as work completes: stage "features"
	// then "train", done of total. It is called from several goroutines,
	// one call at a time.
	Progress func(stage string, done, total int)
}

func (o Options) withDefaults() Options {
	if o.Bits == 0 {
		o.Bits = 20
	}
	if o.MinDF <= 0 {
		o.MinDF = 1
	}
	if o.C <= 0 {
		o.C = 1
	}
	if o.MaxIter <= 0 {
		o.MaxIter = 100
	}
	if o.Eps <= 0 {
		o.Eps = 0.1
	}
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.Seed == 0 {
		o.Seed = 0x5eed
	}
	return o
}

// ErrNoData means there was nothing to learn from: no examples, or a
// single label.
var ErrNoData = errors.New("need examples of at least two labels")

// csr is a sparse matrix, rows = documents, columns = model rows.
type csr struct {
	ptr  []int
	col  []int32
	val  []float32
	sqn  []float32 // squared norm of each row (1 after normalising, 0 if empty)
	cols int
}

// Train learns a model from examples.
func Train(ctx context.Context, examples []Example, opt Options) (*Model, error) {
	opt = opt.withDefaults()
	if opt.Bits < 12 || opt.Bits > 24 {
		return nil, fmt.Errorf("training: bits %d is outside 12..24", opt.Bits)
	}
	labels := labelsOf(examples)
	if len(labels) < 2 {
		return nil, fmt.Errorf("training on %d examples with labels %v: %w", len(examples), labels, ErrNoData)
	}
	h := hasher{bits: opt.Bits, bigrams: !opt.Unigrams, chars: opt.CharGrams}
	progress := syncProgress(opt.Progress)

	// Featurise every document in parallel.
	docs := make([][]feat, len(examples))
	if err := parallel(ctx, len(examples), opt.Workers, func(s *scratch, i int) {
		docs[i] = slices.Clone(h.featurize(s, examples[i].Title, examples[i].Text))
		progress("features", 1, len(examples))
	}); err != nil {
		return nil, err
	}

	// Document frequencies; keep buckets with df >= MinDF.
	df := make(map[uint32]int32)
	for _, d := range docs {
		for _, f := range d {
			df[f.b]++
		}
	}
	buckets := make([]uint32, 0, len(df))
	for b, n := range df {
		if int(n) >= opt.MinDF {
			buckets = append(buckets, b)
		}
	}
	slices.Sort(buckets)
	N := float64(len(examples))
	idf := make([]float32, len(buckets))
	for r, b := range buckets {
		idf[r] = float32(math.Log((1+N)/(1+float64(df[b]))) + 1)
	}
	m := &Model{Labels: labels, Bits: opt.Bits, Bigrams: h.bigrams, CharGrams: h.chars, buckets: buckets, idf: idf}
	m.ix = newIndex(buckets)

	X := m.matrix(docs)
	y := make([]int, len(examples))
	for i, e := range examples {
		y[i], _ = slices.BinarySearch(labels, e.Label)
	}

	K := len(labels)
	m.w = make([]float32, len(buckets)*K)
	m.bias = make([]float32, K)
	if err := parallel(ctx, K, opt.Workers, func(_ *scratch, k int) {
		var r []float64
		if !opt.NoNBScale {
			r = nbRatio(X, y, k)
		}
		w, b := trainSVM(X, y, k, r, opt)
		for r, v := range w {
			m.w[r*K+k] = float32(v)
		}
		m.bias[k] = float32(b)
		progress("train", 1, K)
	}); err != nil {
		return nil, err
	}
	m.init()
	m.Meta = Meta{Created: time.Now().UTC().Format(time.RFC3339), Docs: len(examples), C: opt.C, MinDF: opt.MinDF, NBScale: !opt.NoNBScale, Features: len(buckets), Note: opt.Note}
	return m, nil
}

// matrix turns featurised documents into normalised TF-IDF rows.
func (m *Model) matrix(docs [][]feat) csr {
	X := csr{ptr: make([]int, 1, len(docs)+1), sqn: make([]float32, len(docs)), cols: len(m.buckets)}
	for i, d := range docs {
		start := len(X.val)
		var norm float64
		for _, f := range d {
			r := m.ix.get(f.b)
			if r < 0 {
				continue
			}
			v := sublinear(f.n) * m.idf[r]
			norm += float64(v) * float64(v)
			X.col = append(X.col, r)
			X.val = append(X.val, v)
		}
		if norm > 0 {
			inv := float32(1 / math.Sqrt(norm))
			for j := start; j < len(X.val); j++ {
				X.val[j] *= inv
			}
			X.sqn[i] = 1
		}
		X.ptr = append(X.ptr, len(X.val))
	}
	return X
}

// trainSVM solves the dual of the L2-regularised L2-loss SVM for label k
// against the rest by coordinate descent (LIBLINEAR's solver 1, with a
// bias feature of value 1 and no shrinking). It returns the weights per
// column and the bias.
func trainSVM(X csr, y []int, k int, r []float64, opt Options) ([]float64, float64) {
	n := len(y)
	if r != nil {
		// Train on x∘r: scale a copy of the values, and fold r into the
		// weights at the end.
		vals := make([]float32, len(X.val))
		sqn := make([]float32, len(X.sqn))
		for i := range sqn {
			for j := X.ptr[i]; j < X.ptr[i+1]; j++ {
				vals[j] = X.val[j] * float32(r[X.col[j]])
				sqn[i] += vals[j] * vals[j]
			}
		}
		X.val, X.sqn = vals, sqn
	}
	w := make([]float64, X.cols)
	var b float64
	alpha := make([]float64, n)
	diag := 0.5 / opt.C
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(opt.Seed, uint64(k)))
	sign := func(i int) float64 {
		if y[i] == k {
			return 1
		}
		return -1
	}
	for iter := 0; iter < opt.MaxIter; iter++ {
		rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
		pgMax, pgMin := math.Inf(-1), math.Inf(1)
		for _, i := range order {
			yi := sign(i)
			lo, hi := X.ptr[i], X.ptr[i+1]
			dot := b
			for j := lo; j < hi; j++ {
				dot += w[X.col[j]] * float64(X.val[j])
			}
			G := yi*dot - 1 + diag*alpha[i]
			pg := G
			if alpha[i] == 0 && G > 0 {
				pg = 0
			}
			pgMax, pgMin = max(pgMax, pg), min(pgMin, pg)
			if pg == 0 {
				continue
			}
			q := float64(X.sqn[i]) + 1 + diag // + 1 for the bias feature
			old := alpha[i]
			alpha[i] = max(old-G/q, 0)
			d := (alpha[i] - old) * yi
			if d == 0 {
				continue
			}
			for j := lo; j < hi; j++ {
				w[X.col[j]] += d * float64(X.val[j])
			}
			b += d
		}
		if pgMax-pgMin < opt.Eps {
			break
		}
	}
	if opt.Beta > 0 && opt.Beta < 1 {
		var mean float64
		for _, v := range w {
			mean += math.Abs(v)
		}
		mean /= float64(max(len(w), 1))
		for j := range w {
			w[j] = (1-opt.Beta)*mean + opt.Beta*w[j]
		}
	}
	for j := range r {
		w[j] *= r[j]
	}
	return w, b
}

// nbRatio is the naive Bayes log-count ratio of each column for label k
// against the rest, over binarised features with smoothing 1.
func nbRatio(X csr, y []int, k int) []float64 {
	p := make([]float64, X.cols)
	q := make([]float64, X.cols)
	for i := range y {
		c := q
		if y[i] == k {
			c = p
		}
		for j := X.ptr[i]; j < X.ptr[i+1]; j++ {
			c[X.col[j]]++
		}
	}
	var sp, sq float64
	for j := range p {
		p[j]++
		q[j]++
		sp += p[j]
		sq += q[j]
	}
	for j := range p {
		p[j] = math.Log((p[j] / sp) / (q[j] / sq))
	}
	return p
}

func labelsOf(examples []Example) []string {
	var labels []string
	seen := make(map[string]bool)
	for _, e := range examples {
		if !seen[e.Label] {
			seen[e.Label] = true
			labels = append(labels, e.Label)
		}
	}
	slices.Sort(labels)
	return labels
}

// syncProgress serialises calls to p and turns increments into totals.
func syncProgress(p func(string, int, int)) func(stage string, inc, total int) {
	if p == nil {
		return func(string, int, int) {}
	}
	var mu sync.Mutex
	done := make(map[string]int)
	return func(stage string, inc, total int) {
		mu.Lock()
		defer mu.Unlock()
		done[stage] += inc
		p(stage, done[stage], total)
	}
}

// parallel runs f(i) for i in [0, n) on workers goroutines, each with its
// own scratch, and stops early when ctx is done.
func parallel(ctx context.Context, n, workers int, f func(s *scratch, i int)) error {
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := new(scratch)
			for ctx.Err() == nil {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				f(s, i)
			}
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("training stopped: %w", err)
	}
	return nil
}
