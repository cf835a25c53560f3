package learn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// synthetic builds n documents per label: each mixes words of its label's
// vocabulary with words shared by every label, so a classifier must learn
// which words matter.
func synthetic(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 1))
	vocab := map[string][]string{
		"sanctions": {"embargo", "restrictions", "asset freeze", "export ban", "blacklist", "tariffs"},
		"ceasefire": {"truce", "halt fighting", "armistice", "guns fall silent", "pause", "withdrawal"},
		"sport":     {"match", "goal", "league", "striker", "coach", "season"},
	}
	shared := strings.Fields("the minister said on monday that talks would continue in the capital and officials expect more news later this week")
	var out []Example
	for _, label := range []string{"sanctions", "ceasefire", "sport"} {
		for range n {
			var words []string
			for range 30 {
				if rng.IntN(4) == 0 {
					v := vocab[label]
					words = append(words, v[rng.IntN(len(v))])
				} else {
					words = append(words, shared[rng.IntN(len(shared))])
				}
			}
			out = append(out, Example{Title: words[0] + " " + words[1], Text: strings.Join(words[2:], " "), Label: label})
		}
	}
	return out
}

func accuracy(m interface {
	Predict(string, string) Prediction
}, test []Example) float64 {
	var ok int
	for _, e := range test {
		if m.Predict(e.Title, e.Text).Label == e.Label {
			ok++
		}
	}
	return float64(ok) / float64(len(test))
}

func TestTrainPredict(t *testing.T) {
	train, test := synthetic(60, 1), synthetic(40, 2)
	for _, opt := range []Options{{}, {NoNBScale: true}, {Unigrams: true, Bits: 16}} {
		m, err := Train(context.Background(), train, opt)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.Labels, []string{"ceasefire", "sanctions", "sport"}) {
			t.Fatalf("labels %v", m.Labels)
		}
		if acc := accuracy(m, test); acc < 0.97 {
			t.Errorf("%+v: accuracy %.3f on held-out synthetic documents, want >= 0.97", opt, acc)
		}
	}
	nb := TrainNaiveBayes(train)
	var ok int
	for _, e := range test {
		if nb.Predict(e.Title, e.Text) == e.Label {
			ok++
		}
	}
	if acc := float64(ok) / float64(len(test)); acc < 0.95 {
		t.Errorf("naive Bayes accuracy %.3f, want >= 0.95", acc)
	}
}

// A word the examples never tie to a label, and the explanations.
func TestScoreAndExplain(t *testing.T) {
	m, err := Train(context.Background(), synthetic(60, 3), Options{})
	if err != nil {
		t.Fatal(err)
	}
	title, text := "New restrictions", "Officials announced an embargo and an asset freeze on monday."
	p := m.Predict(title, text)
	if p.Label != "sanctions" || p.Margin <= 0 {
		t.Fatalf("prediction %+v, want sanctions with a positive margin", p)
	}
	s, ok := m.Score("sanctions", title, text)
	if !ok || s != p.Margin {
		t.Errorf("Score = %v, %v; want the margin %v", s, ok, p.Margin)
	}
	if _, ok := m.Score("weather", title, text); ok {
		t.Error("Score of an unknown label reported ok")
	}
	ex, ok := m.Explain("sanctions", title, text, 3)
	if !ok || len(ex) == 0 {
		t.Fatalf("no explanation: %v %v", ex, ok)
	}
	var terms []string
	for _, c := range ex {
		terms = append(terms, c.Term)
		if c.Weight <= 0 {
			t.Errorf("non-positive contribution %+v", c)
		}
	}
	joined := strings.Join(terms, "|")
	if !strings.Contains(joined, "embargo") && !strings.Contains(joined, "restrictions") && !strings.Contains(joined, "freeze") {
		t.Errorf("explanation %v names none of the label's words", terms)
	}
	if slices.ContainsFunc(terms, func(s string) bool { return s == "monday" || s == "officials" }) {
		t.Errorf("explanation %v names a word every label shares", terms)
	}
	if p := m.Predict("", ""); p.Label == "" || len(p.Scores) != 3 {
		t.Errorf("empty document: %+v", p)
	}
}

func TestTrainErrors(t *testing.T) {
	if _, err := Train(context.Background(), []Example{{Text: "a", Label: "x"}}, Options{}); !errors.Is(err, ErrNoData) {
		t.Errorf("one label: %v, want ErrNoData", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Train(ctx, synthetic(10, 1), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
	if _, err := Train(context.Background(), synthetic(10, 1), Options{Bits: 30}); err == nil {
		t.Error("bits 30 accepted")
	}
}

func TestProgress(t *testing.T) {
	var stages []string
	last := map[string][2]int{}
	_, err := Train(context.Background(), synthetic(10, 1), Options{Progress: func(stage string, done, total int) {
		if len(stages) == 0 || stages[len(stages)-1] != stage {
			stages = append(stages, stage)
		}
		last[stage] = [2]int{done, total}
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(stages, []string{"features", "train"}) || last["features"] != [2]int{30, 30} || last["train"] != [2]int{3, 3} {
		t.Errorf("progress: stages %v, last %v", stages, last)
	}
}

func TestFileRoundTrip(t *testing.T) {
	m, err := Train(context.Background(), synthetic(40, 4), Options{Note: "round trip"})
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/m.wwm"
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	m2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Meta != m.Meta || !slices.Equal(m2.Labels, m.Labels) || m2.Size() != m.Size() {
		t.Errorf("loaded %+v %v, saved %+v %v", m2.Meta, m2.Labels, m.Meta, m.Labels)
	}
	for _, e := range synthetic(10, 5) {
		a, b := m.Predict(e.Title, e.Text), m2.Predict(e.Title, e.Text)
		if !slices.Equal(a.Scores, b.Scores) {
			t.Fatalf("scores differ after a round trip: %v vs %v", a.Scores, b.Scores)
		}
	}

	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	for name, b := range map[string][]byte{
		"empty":     nil,
		"truncated": good[:len(good)/2],
		"flipped":   flip(good, len(good)/2),
		"magic":     append([]byte("XWM\x00"), good[4:]...),
		"version":   flip(good, 4),
	} {
		if _, err := Decode(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

func flip(b []byte, i int) []byte {
	c := slices.Clone(b)
	c[i] ^= 0x40
	return c
}

func FuzzDecode(f *testing.F) {
	m, err := Train(context.Background(), synthetic(5, 6), Options{Bits: 12})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	m.WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Add([]byte("WWM\x00\x01\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		m.Predict("embargo", "the minister said")
	})
}

func TestReport(t *testing.T) {
	r := NewReport([]string{"a", "a", "a", "b"}, []string{"a", "a", "b", "b"})
	if r.Accuracy() != 0.75 || r.Confusion[0][1] != 1 {
		t.Fatalf("accuracy %v, confusion %v", r.Accuracy(), r.Confusion)
	}
	c := r.Classes()
	if c[0].Precision != 1 || fmt.Sprintf("%.3f", c[0].Recall) != "0.667" || c[1].Precision != 0.5 || c[1].Recall != 1 || c[0].Support != 3 {
		t.Errorf("classes %+v", c)
	}
	var out strings.Builder
	r.Format(&out)
	if !strings.Contains(out.String(), "accuracy 75.00% (3/4)") || !strings.Contains(out.String(), "confusion") {
		t.Errorf("format:\n%s", out.String())
	}
}

func TestFolds(t *testing.T) {
	ex := synthetic(10, 7) // 3 labels x 10
	folds := Folds(ex, 5, 1)
	per := map[[2]int]int{}
	labels := labelsOf(ex)
	for i, f := range folds {
		k, _ := slices.BinarySearch(labels, ex[i].Label)
		per[[2]int{f, k}]++
	}
	for f := range 5 {
		for k := range 3 {
			if per[[2]int{f, k}] != 2 {
				t.Fatalf("fold %d label %d has %d examples, want 2 (stratified)", f, k, per[[2]int{f, k}])
			}
		}
	}
	train, test := Split(ex, folds, 0)
	if len(train) != 24 || len(test) != 6 {
		t.Errorf("split %d/%d, want 24/6", len(train), len(test))
	}
}

func BenchmarkPredict(b *testing.B) {
	m, err := Train(context.Background(), synthetic(200, 8), Options{})
	if err != nil {
		b.Fatal(err)
	}
	docs := synthetic(20, 9)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		e := docs[i%len(docs)]
		m.Predict(e.Title, e.Text)
	}
}
