package story

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

const event = "Flooding in Valencia forced the evacuation of 4000 residents on Tuesday as the river Turia burst its banks after record rainfall, regional officials said."

// Two outlets' takes on one event are the same story; another event with
// some of the same words is not; a headline of stop words alone has no
// sketch.
func TestSame(t *testing.T) {
	var c Config
	sketch := func(title, text string) []byte {
		t.Helper()
		_, sig, ok := c.Sketch(dedup.WordsOf(&pipeline.Article{Title: title, Text: text}))
		if !ok {
			t.Fatalf("%q: no sketch", title)
		}
		return c.Pack(nil, sig)
	}
	a := sketch("Valencia floods force thousands from homes", event)
	b := sketch("Thousands evacuated as Turia bursts banks in Valencia", event+" More rain is forecast.")
	other := sketch("Valencia wins the cup final", "Valencia beat Sevilla on Tuesday in front of 4000 supporters after a record season, officials of the club said.")
	if !c.Same(a, b) || !c.Same(b, a) {
		t.Error("two takes on the flood are not the same story")
	}
	if c.Same(a, other) {
		t.Error("the flood and the cup final are the same story")
	}
	if _, _, ok := c.Sketch(dedup.WordsOf(&pipeline.Article{Title: "It is what it is", Text: "and so on"})); ok {
		t.Error("a headline of stop words has a sketch")
	}
}

// A Judge decides as Same does, at every width a signature's values may
// take, at thresholds from loose to exact; and so it does for signatures
// of another shape (another width than its own, or with a lead), which
// it leaves to Same.
func TestJudge(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	vocab := make([]string, 400)
	for i := range vocab {
		vocab[i] = fmt.Sprintf("word%d", i)
	}
	words := func(from []string) []string {
		w := slices.Clone(from)
		for i := range w {
			if rng.IntN(3) == 0 {
				w[i] = vocab[rng.IntN(len(vocab))]
			}
		}
		return w
	}
	// Story-shaped signatures with a lead: a text and its first two
	// thirds share it, and are the same by containment, which counting
	// agreeing values alone does not see.
	withLead := func(w []string, bits int) []byte {
		p := params
		p.LeadWords, p.Bits = 3, bits
		sk, _ := p.SketchWords(w)
		return p.Pack(nil, dedup.EncodeEntry(sk))
	}
	for _, th := range []float64{0, 0.1, 0.5, 0.9, 1} {
		for bits := 1; bits <= 8; bits++ {
			c := Config{Threshold: th, Bits: bits}
			j := c.Judge()
			other := Config{Bits: bits%8 + 1}
			same := 0
			for range 300 {
				base := make([]string, 12)
				for i := range base {
					base[i] = vocab[rng.IntN(len(vocab))]
				}
				_, x, _ := c.Sketch(dedup.Words{Title: base})
				_, y, _ := c.Sketch(dedup.Words{Title: words(base)})
				for _, pair := range [][2][]byte{
					{c.Pack(nil, x), c.Pack(nil, y)},
					{other.Pack(nil, x), other.Pack(nil, y)},
					{withLead(base, bits), withLead(base[:8], bits)},
				} {
					want := c.Same(pair[0], pair[1])
					if got := j.Same(pair[0], pair[1]); got != want {
						t.Fatalf("threshold %v, %d bits: judge %v, Same %v", th, bits, got, want)
					}
					if want {
						same++
					}
				}
			}
			if th < 1 && same == 0 {
				t.Fatalf("threshold %v, %d bits: no pair the same story: the test compares nothing", th, bits)
			}
		}
	}
}

// BenchmarkSame is the cost of comparing two packed story signatures (20
// values of 8 bits): the index compares each new article with every story
// candidate it meets; "judge" compares them as it does, by a Judge.
func BenchmarkSame(b *testing.B) {
	var c Config
	sketch := func(title, text string) []byte {
		_, sig, ok := c.Sketch(dedup.WordsOf(&pipeline.Article{Title: title, Text: text}))
		if !ok {
			b.Fatalf("%q: no sketch", title)
		}
		return c.Pack(nil, sig)
	}
	x := sketch("Valencia floods force thousands from homes", event)
	y := sketch("Valencia wins the cup final", "Valencia beat Sevilla on Tuesday in front of 4000 supporters after a record season, officials of the club said.")
	b.Run("config", func(b *testing.B) {
		for b.Loop() {
			c.Same(x, y)
		}
	})
	j := c.Judge()
	b.Run("judge", func(b *testing.B) {
		for b.Loop() {
			j.Same(x, y)
		}
	})
}
