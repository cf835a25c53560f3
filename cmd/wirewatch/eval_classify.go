package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/learn"
)

// classifySet is one public benchmark of `wirewatch eval classify`.
type classifySet struct {
	name      string
	title     string
	published string
	// goal returns whether our accuracy meets the goal, given
	// the same-run naive Bayes accuracy, and the goal's wording.
	goal func(ours, nb float64) (bool, string)
	// load returns a fixed train/test split (test non-nil) or the
	// documents for k-fold cross-validation (test nil).
	load func(dir string) (train, test []learn.Example, err error)
}

func classifySets() []classifySet {
	return []classifySet{
		{
			name: "r8", title: "Reuters-21578 R8 (ModApte: 5,485 train / 2,189 test)",
			published: "fastText 96.1%, TF-IDF + logistic regression 93.7%",
			goal:      func(o, _ float64) (bool, string) { return o >= 0.965, ">= 96.5%" },
			load: func(dir string) ([]learn.Example, []learn.Example, error) {
				docs, err := corpus.ReadReuters(filepath.Join(dir, corpus.Reuters21578))
				if err != nil {
					return nil, nil, err
				}
				train, test := corpus.R8(docs)
				return examples(train), examples(test), nil
			},
		},
		{
			name: "bbc", title: "BBC News (2,225 documents, 5 labels)",
			published: "naive Bayes 97.6%",
			goal:      func(o, _ float64) (bool, string) { return o >= 0.98, ">= 98.0%" },
			load: func(dir string) ([]learn.Example, []learn.Example, error) {
				docs, err := corpus.ReadBBC(filepath.Join(dir, corpus.BBCNews))
				return examples(docs), nil, err
			},
		},
		{
			name: "agnews", title: "AG News (the 7,600 test items, 4 labels)",
			published: "none for this protocol (the train split is absent)",
			goal: func(o, nb float64) (bool, string) {
				return o >= nb+0.03, fmt.Sprintf(">= naive Bayes + 3 points (%.2f%%)", 100*(nb+0.03))
			},
			load: func(dir string) ([]learn.Example, []learn.Example, error) {
				docs, err := corpus.ReadAGNews(filepath.Join(dir, corpus.AGNews))
				return examples(docs), nil, err
			},
		},
	}
}

func examples(docs []corpus.Labeled) []learn.Example {
	out := make([]learn.Example, len(docs))
	for i, d := range docs {
		out[i] = learn.Example{Title: d.Title, Text: d.Text, Label: d.Label}
	}
	return out
}

func cmdEvalClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval classify", stderr)
	sets := fs.String("set", "r8,bbc,agnews", "benchmarks to run (r8, bbc, agnews), comma-separated")
	folds := fs.Int("folds", 5, "folds for the sets without a fixed split")
	limit := fs.Int("limit", 0, "use at most this many documents of each split (0: all), for a quick check")
	datasets := fs.String("datasets", "", "the datasets folder (default $"+corpus.DatasetsEnv+", else ../shared/datasets)")
	bits := fs.Uint("bits", 20, "hash buckets 2^bits")
	c := fs.Float64("c", 1, "SVM cost C")
	minDF := fs.Int("min-df", 1, "keep features seen in at least this many training documents")
	unigrams := fs.Bool("unigrams", false, "words only, no bigrams")
	plain := fs.Bool("no-nb-scale", false, "plain TF-IDF SVM, without the naive Bayes log-count ratio scaling")
	beta := fs.Float64("beta", 0, "NB-SVM interpolation of the weights with their mean magnitude, in (0, 1); 0: off")
	chars := fs.Bool("char-grams", false, "add each word's character 3- to 5-grams to the features")
	nbMix := fs.Float64("nb-mix", 0, "experimental: predict from (1-w) z(SVM margins) + w z(naive Bayes log-probabilities), z-scored per document over the labels; 0: off")
	verbose := fs.Bool("v", false, "print each set's per-label report and confusion matrix")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *nbMix < 0 || *nbMix > 1 {
		return fmt.Errorf("eval classify: --nb-mix %g is outside [0, 1]", *nbMix)
	}
	run, err := selectClassifySets(*sets)
	if err != nil {
		return fmt.Errorf("eval classify: %w", err)
	}
	dir, err := datasetsDir(*datasets)
	if err != nil {
		return err
	}
	opt := learn.Options{Bits: uint8(*bits), C: *c, MinDF: *minDF, Unigrams: *unigrams, NoNBScale: *plain, Beta: *beta, CharGrams: *chars}
	fmt.Fprintf(stdout, "wirewatch eval classify: %s, GOMAXPROCS %d; ours = hashed %s, sublinear TF-IDF, %s (dual CD), 2^%d buckets, C %g, min-df %d\n\n",
		runtime.Version(), runtime.GOMAXPROCS(0), map[bool]string{false: "unigrams+bigrams", true: "unigrams"}[*unigrams],
		map[bool]string{false: "NB-scaled linear SVM", true: "linear SVM"}[*plain], *bits, *c, *minDF)
	var failed []string
	for _, s := range run {
		res, err := runClassifySet(ctx, s, dir, *folds, *limit, opt, *nbMix)
		if err != nil {
			return fmt.Errorf("eval classify %s: %w", s.name, err)
		}
		met, goal := s.goal(res.ours.Accuracy(), res.nb.Accuracy())
		verdict := "met"
		if !met {
			verdict = "NOT met"
			failed = append(failed, s.name)
		}
		fmt.Fprintf(stdout, "%s, %s\n", s.title, res.protocol)
		fmt.Fprintf(stdout, "  wirewatch      %6.2f%%  macro F1 %.3f  train %s (mean of %d)  predict %.0f docs/s/core  model %.2f MB (%d features)\n",
			100*res.ours.Accuracy(), res.ours.MacroF1(), res.train.Round(time.Millisecond), res.runs, res.rate, float64(res.modelBytes)/1e6, res.features)
		fmt.Fprintf(stdout, "  naive Bayes    %6.2f%%  macro F1 %.3f  (multinomial, folded unigrams, alpha 1, same run)\n", 100*res.nb.Accuracy(), res.nb.MacroF1())
		fmt.Fprintf(stdout, "  published      %s\n", s.published)
		fmt.Fprintf(stdout, "  goal           %s: %s\n\n", goal, verdict)
		if *verbose {
			res.ours.Format(stdout)
			fmt.Fprintln(stdout)
		}
	}
	if len(failed) > 0 && *limit == 0 {
		return fmt.Errorf("eval classify: goal not met on %s", strings.Join(failed, ", "))
	}
	return nil
}

// selectClassifySets returns the sets named in list (comma-separated,
// spaces allowed around the names), in the order of classifySets.
func selectClassifySets(list string) ([]classifySet, error) {
	var want []string
	for _, w := range strings.Split(list, ",") {
		want = append(want, strings.TrimSpace(w))
	}
	all := classifySets()
	for _, w := range want {
		if !slices.ContainsFunc(all, func(s classifySet) bool { return s.name == w }) {
			return nil, fmt.Errorf("unknown set %q (r8, bbc, agnews)", w)
		}
	}
	var out []classifySet
	for _, s := range all {
		if slices.Contains(want, s.name) {
			out = append(out, s)
		}
	}
	return out, nil
}

type classifyResult struct {
	protocol   string
	ours, nb   learn.Report
	train      time.Duration // mean per model
	runs       int
	rate       float64 // documents per second on one goroutine
	modelBytes int64
	features   int
}

func runClassifySet(ctx context.Context, s classifySet, dir string, folds, limit int, opt learn.Options, nbMix float64) (*classifyResult, error) {
	train, test, err := s.load(dir)
	if err != nil {
		return nil, err
	}
	res := &classifyResult{}
	var labels []string
	for _, e := range slices.Concat(train, test) {
		labels = append(labels, e.Label)
	}
	res.ours, res.nb = learn.EmptyReport(labels), learn.EmptyReport(labels)
	var splits [][2][]learn.Example
	if test != nil {
		train, test = cut(train, limit), cut(test, limit)
		res.protocol = fmt.Sprintf("fixed split, %d train / %d test", len(train), len(test))
		splits = append(splits, [2][]learn.Example{train, test})
	} else {
		train = cut(train, limit)
		fold := learn.Folds(train, folds, 1)
		res.protocol = fmt.Sprintf("stratified %d-fold cross-validation over %d documents, pooled", folds, len(train))
		for f := range folds {
			tr, te := learn.Split(train, fold, f)
			splits = append(splits, [2][]learn.Example{tr, te})
		}
	}
	var predictTime time.Duration
	var predicted int
	for _, sp := range splits {
		start := time.Now()
		m, err := learn.Train(ctx, sp[0], opt)
		if err != nil {
			return nil, err
		}
		res.train += time.Since(start)
		res.runs++
		var cw countWriter
		if _, err := m.WriteTo(&cw); err != nil {
			return nil, err
		}
		res.modelBytes = max(res.modelBytes, cw.n)
		res.features = max(res.features, m.Size())
		truth := make([]string, len(sp[1]))
		ours := make([]string, len(sp[1]))
		runtime.GC() // time prediction, not the training's garbage
		start = time.Now()
		for i, e := range sp[1] {
			ours[i] = m.Predict(e.Title, e.Text).Label
		}
		predictTime += time.Since(start)
		predicted += len(sp[1])
		nb := learn.TrainNaiveBayes(sp[0])
		nbPred := make([]string, len(sp[1]))
		for i, e := range sp[1] {
			truth[i] = e.Label
			nbPred[i] = nb.Predict(e.Title, e.Text)
		}
		if nbMix > 0 {
			for i, e := range sp[1] {
				ours[i] = mixPredict(m, nb, nbMix, e)
			}
		}
		res.ours.Add(truth, ours)
		res.nb.Add(truth, nbPred)
		if err := ctx.Err(); err != nil {
			return nil, err
		}
	}
	res.train /= time.Duration(res.runs)
	if predictTime > 0 {
		res.rate = float64(predicted) / predictTime.Seconds()
	}
	return res, nil
}

// mixPredict is the label with the highest (1-w) z(SVM margins) + w
// z(naive Bayes log-probabilities), each z-scored over the labels.
func mixPredict(m *learn.Model, nb *learn.NaiveBayes, w float64, e learn.Example) string {
	a, b := zscore(m.Predict(e.Title, e.Text).Scores), zscore(nb.Scores(e.Title, e.Text))
	best, bestScore := 0, math.Inf(-1)
	for k := range a {
		if v := (1-w)*a[k] + w*b[k]; v > bestScore {
			best, bestScore = k, v
		}
	}
	return m.Labels[best]
}

func zscore(x []float64) []float64 {
	var mean, v float64
	for _, a := range x {
		mean += a
	}
	mean /= float64(len(x))
	for _, a := range x {
		v += (a - mean) * (a - mean)
	}
	sd := math.Sqrt(v/float64(len(x))) + 1e-12
	out := make([]float64, len(x))
	for i, a := range x {
		out[i] = (a - mean) / sd
	}
	return out
}

// cut keeps at most n examples (all when n <= 0), taken evenly across the
// slice so that every label stays.
func cut(ex []learn.Example, n int) []learn.Example {
	if n <= 0 || n >= len(ex) {
		return ex
	}
	out := make([]learn.Example, 0, n)
	for i := range n {
		out = append(out, ex[i*len(ex)/n])
	}
	return out
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
