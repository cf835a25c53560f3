package ledger

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
)

// seedArticle is seed id run through normalize, as the daemon sees it.
func seedArticle(t *testing.T, id string) *pipeline.Article {
	t.Helper()
	title, body := corpus.SplitTitle(corpus.ReadSeed(t, id))
	a := &pipeline.Article{ID: "seed-" + id, Title: title, Content: body, Feed: "seeds", URL: "https://seeds.example/" + id}
	if err := normalize.New(slog.New(slog.NewTextHandler(io.Discard, nil))).Process(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	return a
}

// Seeds 000 and 001 are both about talks in London but are different
// stories; 002 repeats paragraphs. None is a duplicate of another, in any
// order, and the pairs are far below the threshold.
func TestSeedsAreDistinct(t *testing.T) {
	ids := []string{"000", "001", "002"}
	arts := map[string]*pipeline.Article{}
	for _, id := range ids {
		arts[id] = seedArticle(t, id)
	}
	for _, order := range [][]string{{"000", "001", "002"}, {"002", "001", "000"}, {"001", "002", "000"}} {
		st := memoryStage(Rules{})
		for _, id := range order {
			a := *arts[id]
			if err := st.Process(context.Background(), &a); err != nil {
				t.Fatal(err)
			}
			if a.Duplicate != nil {
				t.Errorf("order %v: seed %s marked %+v", order, id, a.Duplicate)
			}
		}
	}
	p := dedup.DefaultParams()
	entry := func(a *pipeline.Article) []byte {
		sk, ok := p.SketchWords(p.Words(a.Title, a.Text))
		if !ok {
			t.Fatalf("%s: too short to index", a.ID)
		}
		return p.Pack(nil, dedup.EncodeEntry(sk)) // as the index keeps it
	}
	for i, x := range ids {
		for _, y := range ids[i+1:] {
			if sim, dup, _ := p.PackedVerdict(entry(arts[x]), entry(arts[y])); dup || sim > 0.1 {
				t.Errorf("seeds %s and %s: similarity %.3f, duplicate %v", x, y, sim, dup)
			}
		}
	}
}

// Seed 002 with its repeated paragraphs is still the same story once: a
// copy of it without the repetition, cut to its first paragraphs, or
// with another outlet's boilerplate, is its near duplicate, not the
// other way round — and an unrelated seed is not.
func TestSeedCopies(t *testing.T) {
	orig := seedArticle(t, "002")
	paras := strings.Split(orig.Text, "\n\n")
	copies := map[string]string{
		"boilerplate": "Published by Another Outlet. " + orig.Text + "\n\nSubscribe to our newsletter for more.",
		"dropped":     strings.Join(append(append([]string{}, paras[:len(paras)/2]...), paras[len(paras)/2+1:]...), "\n\n"),
		"summary":     strings.Join(paras[:min(3, len(paras))], "\n\n"),
	}
	for name, text := range copies {
		t.Run(name, func(t *testing.T) {
			st := memoryStage(Rules{})
			first := *orig
			if err := st.Process(context.Background(), &first); err != nil || first.Duplicate != nil {
				t.Fatalf("original: %+v, %v", first.Duplicate, err)
			}
			c := &pipeline.Article{ID: "copy", Title: "A new headline for it", Text: text, URL: "https://other.example/c"}
			if err := st.Process(context.Background(), c); err != nil {
				t.Fatal(err)
			}
			if c.Duplicate == nil || c.Duplicate.Of != first.ID || c.Duplicate.Kind != "near" {
				t.Fatalf("copy (%d words): duplicate %+v, want near duplicate of %s", len(strings.Fields(text)), c.Duplicate, first.ID)
			}
			other := seedArticle(t, "000")
			if err := st.Process(context.Background(), other); err != nil || other.Duplicate != nil {
				t.Fatalf("seed 000 after them: %+v, %v", other.Duplicate, err)
			}
		})
	}
}

func memoryStage(r Rules) *Stage {
	return NewStage(NewMemory(r, nil), r, true, metrics.NewUnregistered())
}

// Seeds 000 and 001 are both about talks in London, but different events:
// three stories.
func TestSeedStories(t *testing.T) {
	st := memoryStage(Rules{})
	got := map[string]string{}
	for _, id := range []string{"000", "001", "002"} {
		a := seedArticle(t, id)
		a.Feed = "feed" + id
		if err := st.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		got[id] = a.Story.ID
	}
	if got["000"] == got["001"] || got["001"] == got["002"] || got["000"] == got["002"] {
		t.Fatalf("seeds share stories: %v", got)
	}
}
