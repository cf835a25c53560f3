package learn

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
)

// Report measures predictions against the truth.
type Report struct {
	Labels    []string
	Confusion [][]int // Confusion[true][predicted]
	N         int
	Correct   int
}

// ClassStats are one label's figures.
type ClassStats struct {
	Label                 string
	Precision, Recall, F1 float64
	Support               int // true documents of the label
}

// NewReport counts pairs of true and predicted labels; labels is the
// union of both, sorted.
func NewReport(truth, predicted []string) Report {
	r := EmptyReport(slices.Concat(truth, predicted))
	r.Add(truth, predicted)
	return r
}

// EmptyReport is a report over labels (in any order, repeats allowed)
// with nothing counted yet.
func EmptyReport(labels []string) Report {
	labels = slices.Clone(labels)
	slices.Sort(labels)
	labels = slices.Compact(labels)
	r := Report{Labels: labels, Confusion: make([][]int, len(labels))}
	for i := range r.Confusion {
		r.Confusion[i] = make([]int, len(labels))
	}
	return r
}

// Add counts more pairs; their labels must be in r.Labels.
func (r *Report) Add(truth, predicted []string) {
	for i := range truth {
		t, _ := slices.BinarySearch(r.Labels, truth[i])
		p, _ := slices.BinarySearch(r.Labels, predicted[i])
		r.Confusion[t][p]++
		r.N++
		if t == p {
			r.Correct++
		}
	}
}

// Accuracy is the share of correct predictions.
func (r Report) Accuracy() float64 {
	if r.N == 0 {
		return 0
	}
	return float64(r.Correct) / float64(r.N)
}

// Classes returns precision, recall and F1 per label.
func (r Report) Classes() []ClassStats {
	out := make([]ClassStats, len(r.Labels))
	for k, l := range r.Labels {
		var tp, pred, sup int
		for j := range r.Labels {
			pred += r.Confusion[j][k]
			sup += r.Confusion[k][j]
		}
		tp = r.Confusion[k][k]
		c := ClassStats{Label: l, Support: sup}
		if pred > 0 {
			c.Precision = float64(tp) / float64(pred)
		}
		if sup > 0 {
			c.Recall = float64(tp) / float64(sup)
		}
		if c.Precision+c.Recall > 0 {
			c.F1 = 2 * c.Precision * c.Recall / (c.Precision + c.Recall)
		}
		out[k] = c
	}
	return out
}

// MacroF1 is the mean F1 over labels.
func (r Report) MacroF1() float64 {
	var s float64
	cs := r.Classes()
	for _, c := range cs {
		s += c.F1
	}
	if len(cs) == 0 {
		return 0
	}
	return s / float64(len(cs))
}

// Format writes the per-label table and the confusion matrix.
func (r Report) Format(w io.Writer) {
	width := 9
	for _, l := range r.Labels {
		width = max(width, len(l))
	}
	fmt.Fprintf(w, "%-*s  %9s  %6s  %6s  %7s\n", width, "label", "precision", "recall", "F1", "support")
	for _, c := range r.Classes() {
		fmt.Fprintf(w, "%-*s  %9.3f  %6.3f  %6.3f  %7d\n", width, c.Label, c.Precision, c.Recall, c.F1, c.Support)
	}
	fmt.Fprintf(w, "accuracy %.2f%% (%d/%d), macro F1 %.3f\n\n", 100*r.Accuracy(), r.Correct, r.N, r.MacroF1())
	fmt.Fprintf(w, "confusion (rows: true, columns: predicted)\n%-*s", width, "")
	for k := range r.Labels {
		fmt.Fprintf(w, " %6s", abbrev(r.Labels[k], 6))
	}
	fmt.Fprintln(w)
	for t, row := range r.Confusion {
		fmt.Fprintf(w, "%-*s", width, r.Labels[t])
		for _, n := range row {
			fmt.Fprintf(w, " %6d", n)
		}
		fmt.Fprintln(w)
	}
}

func abbrev(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.TrimSpace(s[:n])
}

// Folds assigns each of the examples to one of k folds, stratified by
// label (each label spread evenly over the folds) and shuffled with seed:
// fold[i] is the fold of examples[i].
func Folds(examples []Example, k int, seed uint64) []int {
	rng := rand.New(rand.NewPCG(seed, 0xf01d))
	byLabel := make(map[string][]int)
	for i, e := range examples {
		byLabel[e.Label] = append(byLabel[e.Label], i)
	}
	labels := labelsOf(examples)
	fold := make([]int, len(examples))
	next := 0
	for _, l := range labels {
		idx := byLabel[l]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			fold[i] = next % k
			next++
		}
	}
	return fold
}

// Split returns the examples outside fold f (train) and inside it (test).
func Split(examples []Example, folds []int, f int) (train, test []Example) {
	for i, e := range examples {
		if folds[i] == f {
			test = append(test, e)
		} else {
			train = append(train, e)
		}
	}
	return train, test
}
