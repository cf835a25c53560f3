package story

import (
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

// BenchmarkSame is the cost of comparing two packed story signatures (20
// values of 8 bits): the index compares each new article with every story
// candidate it meets.
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
	for b.Loop() {
		c.Same(x, y)
	}
}
