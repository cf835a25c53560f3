package learn

import (
	"math"
	"slices"

	"github.com/wirewatch/wirewatch/internal/fold"
)

// NaiveBayes is the baseline: multinomial naive Bayes over the folded
// words (unigrams, raw counts, no hashing) with Laplace smoothing
// (alpha = 1), as in the published baselines.
type NaiveBayes struct {
	Labels []string
	prior  []float64            // log P(label)
	logp   map[string][]float64 // log P(word | label)
	unseen []float64            // log P(unseen word | label)
}

// TrainNaiveBayes fits the baseline.
func TrainNaiveBayes(examples []Example) *NaiveBayes {
	labels := labelsOf(examples)
	K := len(labels)
	counts := make(map[string][]float64)
	total := make([]float64, K)
	docs := make([]float64, K)
	for _, e := range examples {
		k, _ := slices.BinarySearch(labels, e.Label)
		docs[k]++
		for _, part := range [2]string{e.Title, e.Text} {
			for _, t := range fold.Tokens(part) {
				c := counts[t.Word]
				if c == nil {
					c = make([]float64, K)
					counts[t.Word] = c
				}
				c[k]++
				total[k]++
			}
		}
	}
	V := float64(len(counts))
	nb := &NaiveBayes{Labels: labels, prior: make([]float64, K), logp: make(map[string][]float64, len(counts)), unseen: make([]float64, K)}
	for k := range K {
		nb.prior[k] = math.Log(docs[k] / float64(len(examples)))
		nb.unseen[k] = math.Log(1 / (total[k] + V))
	}
	for w, c := range counts {
		lp := make([]float64, K)
		for k := range K {
			lp[k] = math.Log((c[k] + 1) / (total[k] + V))
		}
		nb.logp[w] = lp
	}
	return nb
}

// Predict returns the most probable label. Words never seen in training
// are ignored.
func (nb *NaiveBayes) Predict(title, text string) string {
	score := nb.Scores(title, text)
	best := 0
	for k := range score {
		if score[k] > score[best] {
			best = k
		}
	}
	return nb.Labels[best]
}

// Scores returns log P(label) + the sum of log P(word | label) over the
// document's words seen in training, per label in the order of Labels.
func (nb *NaiveBayes) Scores(title, text string) []float64 {
	score := slices.Clone(nb.prior)
	for _, part := range [2]string{title, text} {
		for _, t := range fold.Tokens(part) {
			if lp, ok := nb.logp[t.Word]; ok {
				for k := range score {
					score[k] += lp[k]
				}
			}
		}
	}
	return score
}
