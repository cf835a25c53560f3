package learn

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/cputime"
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

// longDocs builds n BBC-length documents (a title and about 400 words)
// over a Zipf-distributed vocabulary of 30,000 made-up words, two labels.
func longDocs(n int, seed uint64) []Example {
	rng := rand.New(rand.NewPCG(seed, 3))
	zipf := rand.NewZipf(rand.New(rand.NewPCG(seed, 4)), 1.1, 2, 29_999)
	word := func(i uint64) string { return fmt.Sprintf("w%xq", i*2654435761%1_000_003) }
	out := make([]Example, n)
	for i := range out {
		label := "a"
		if i%2 == 1 {
			label = "b"
		}
		ws := make([]string, 400)
		for j := range ws {
			k := zipf.Uint64()
			if label == "b" && rng.IntN(10) == 0 {
				k += 7 // shift some words: a signal to learn
			}
			ws[j] = word(k)
		}
		out[i] = Example{Title: strings.Join(ws[:8], " "), Text: strings.Join(ws[8:], " "), Label: label}
	}
	return out
}

// BenchmarkPredictLong classifies BBC-length articles with a model of a
// realistic size; articles/s per core is 1e9 / (ns/op).
func BenchmarkPredictLong(b *testing.B) {
	m, err := Train(context.Background(), longDocs(2000, 1), Options{})
	if err != nil {
		b.Fatal(err)
	}
	docs := longDocs(64, 2)
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; b.Loop(); i++ {
		e := docs[i%len(docs)]
		m.Predict(e.Title, e.Text)
	}
	reportCPU(b, cputime.Process()-cpu0)
}

// TestScoresMatchTraining: the one-pass inference computes the decision
// values that the training features (featurize, sorted and counted) give,
// whatever the case, accents, apostrophes and marks.
func TestScoresMatchTraining(t *testing.T) {
	train := synthetic(40, 5)
	train = append(train, Example{Title: "Économie", Text: "Sanktionen gegen Café-Betreiber l'embargo Ǆemal", Label: "sanctions"})
	for _, opt := range []Options{{Bits: 16}, {Bits: 16, CharGrams: true}, {Bits: 16, Unigrams: true}} {
		scoresMatchTraining(t, train, opt)
	}
}

func scoresMatchTraining(t *testing.T, train []Example, opt Options) {
	m, err := Train(context.Background(), train, opt)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if m, err = Decode(buf.Bytes()); err != nil || m.CharGrams != opt.CharGrams {
		t.Fatalf("round trip: %v, char grams %v", err, m != nil && m.CharGrams)
	}
	docs := [][2]string{
		{"New RESTRICTIONS", "An Embargo and an asset freeze, the minister's BLACKLIST."},
		{"ÉCONOMIE", "sanktionen gegen cafe-betreiber L’EMBARGO ǅemal \u0301\u0301 x\u0301y"},
		{"", ""},
		{"", "embargo embargo embargo embargo restrictions"},
		{"It's `quoted`", "don't ' ` '' a'b"},
		{"", longDistinct(3000)},
	}
	for _, d := range docs {
		got := make([]float64, len(m.Labels))
		m.ScoresInto(got, d[0], d[1])
		want := make([]float64, len(m.Labels))
		var norm float64
		K := len(m.Labels)
		for _, f := range m.hasher().featurize(new(scratch), d[0], d[1]) {
			r := m.ix.get(f.b)
			if r < 0 {
				continue
			}
			v := float64(sublinear(f.n) * m.idf[r])
			norm += v * v
			for k := range K {
				want[k] += v * float64(m.w[int(r)*K+k])
			}
		}
		for k := range want {
			if norm > 0 {
				want[k] /= math.Sqrt(norm)
			}
			want[k] += float64(m.bias[k])
			if math.Abs(got[k]-want[k]) > 1e-9 {
				t.Errorf("%+v %q: score %d = %v, want %v", opt, d, k, got[k], want[k])
			}
		}
	}
}

// BenchmarkPredictBBC classifies the BBC News articles (about 380 words
// each) with a model trained on all of them; it needs the datasets
// (internal/corpus). Articles/s per core is 1e9 / (ns/op).
func BenchmarkPredictBBC(b *testing.B) {
	docs, err := corpus.ReadBBC(filepath.Join(corpus.Datasets(b), corpus.BBCNews))
	if err != nil {
		b.Skip(err) // the datasets are there but not BBC: nothing to measure
	}
	ex := make([]Example, len(docs))
	for i, d := range docs {
		ex[i] = Example{Title: d.Title, Text: d.Text, Label: d.Label}
	}
	m, err := Train(context.Background(), ex, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	cpu0 := cputime.Process()
	for i := 0; b.Loop(); i++ {
		e := ex[i%len(ex)]
		m.Predict(e.Title, e.Text)
	}
	reportCPU(b, cputime.Process()-cpu0)
}

// reportCPU reports the CPU time per article and the articles per second
// of CPU: on a busy machine wall time measures the queue, CPU time the
// work.
func reportCPU(b *testing.B, cpu time.Duration) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/article")
		b.ReportMetric(float64(b.N)/cpu.Seconds(), "articles/cpu-s")
	}
}

// longDistinct is n distinct short words (two and three letters, then
// numbered): more buckets than a first guess from the text's length
// allows for, above all with character n-grams.
func longDistinct(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		x := i
		for {
			b.WriteByte(byte('a' + x%26))
			x /= 26
			if x == 0 {
				break
			}
		}
	}
	return b.String()
}
