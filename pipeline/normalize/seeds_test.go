package normalize

import (
	"context"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

func process(t *testing.T, a *pipeline.Article) {
	t.Helper()
	if err := New(nil).Process(context.Background(), a); err != nil {
		t.Fatalf("Process: %v", err)
	}
	checkTextInvariants(t, a.Text)
}

func foldedEqual(a, b string) bool {
	return strings.Join(fold.Words(a), " ") == strings.Join(fold.Words(b), " ")
}

// Seed 002 repeats its title line and four paragraphs: the text must hold
// each once, and not the title at all when the title is set.
func TestSeed002RepeatedParagraphs(t *testing.T) {
	raw := corpus.ReadSeed(t, "002")
	paras := rawParagraphs(raw)
	// The title is the first line the file repeats (see seeds/README.md).
	title := ""
	for _, l := range strings.Split(raw, "\n") {
		if l = strings.TrimSpace(l); l != "" && strings.Count(raw, l) > 1 {
			title = l
			break
		}
	}
	if title == "" {
		t.Fatal("seed 002 repeats no line: not the file the test expects")
	}
	repeated := 0
	for _, p := range paras {
		if strings.Count(raw, p) > 1 {
			repeated++
		}
	}
	if repeated < 5 {
		t.Fatalf("seed 002 repeats %d lines, want the title and four paragraphs", repeated)
	}

	t.Run("with title", func(t *testing.T) {
		a := &pipeline.Article{ID: "seed-002", Title: title, Content: raw}
		process(t, a)
		for _, p := range paras {
			want := 1
			if p == title {
				want = 0
			}
			if n := strings.Count(a.Text, p); n != want {
				t.Errorf("paragraph %.60q... occurs %d times, want %d", p, n, want)
			}
		}
		for _, p := range strings.Split(a.Text, "\n\n") {
			if foldedEqual(p, title) {
				t.Errorf("text keeps a paragraph equal to the title: %q", p)
			}
		}
		if a.Language != "en" {
			t.Errorf("Language = %q, want en", a.Language)
		}
	})
	t.Run("without title", func(t *testing.T) {
		a := &pipeline.Article{ID: "seed-002", Content: raw}
		process(t, a)
		for _, p := range paras {
			if n := strings.Count(a.Text, p); n != 1 {
				t.Errorf("paragraph %.60q... occurs %d times, want 1", p, n)
			}
		}
	})
}

// Seed 001 holds the residue of an embedded tweet: the tweet's text ending
// in a t.co link, its link-card line, and its "— Name (@handle) date"
// signature. They go; every real paragraph stays, once.
func TestSeed001TweetResidue(t *testing.T) {
	raw := corpus.ReadSeed(t, "001")
	paras := rawParagraphs(raw)
	first, sig := -1, -1
	for i, p := range paras {
		if first < 0 && strings.Contains(p, "https://t.co/") {
			first = i
		}
		if strings.HasPrefix(p, "—") && strings.Contains(p, "(@") {
			sig = i
		}
	}
	if first < 0 || sig <= first || sig-first > 3 {
		t.Fatalf("seed 001 has no tweet residue where expected (link line %d, signature %d)", first, sig)
	}
	a := &pipeline.Article{ID: "seed-001", Content: raw}
	process(t, a)
	for _, bad := range []string{"t.co/", "(@", "pic.twitter.com"} {
		if strings.Contains(a.Text, bad) {
			t.Errorf("text still holds tweet residue %q", bad)
		}
	}
	for i, p := range paras {
		want := 1
		if i >= first && i <= sig {
			want = 0
		}
		if n := strings.Count(a.Text, p); n != want {
			t.Errorf("paragraph %d %.60q... occurs %d times, want %d", i, p, n, want)
		}
	}
	kept := strings.Count(a.Text, "\n\n") + 1
	if want := len(paras) - (sig - first + 1); kept != want {
		t.Errorf("text has %d paragraphs, want %d", kept, want)
	}
}

// Seed 000 is clean: normalisation keeps every paragraph, in order, as is.
func TestSeed000Unchanged(t *testing.T) {
	raw := corpus.ReadSeed(t, "000")
	a := &pipeline.Article{ID: "seed-000", Content: raw}
	process(t, a)
	want := strings.Join(rawParagraphs(raw), "\n\n")
	if a.Text != want {
		t.Errorf("seed 000 changed:\n got %q\nwant %q", a.Text, want)
	}
	if a.Language != "en" {
		t.Errorf("Language = %q, want en", a.Language)
	}
}

// TestParaKeyMatchesFold: paraKey, which splits and folds words without
// allocating, gives equal keys exactly when fold.Words gives equal words;
// sameWords, the single-paragraph shortcut, says they are equal and not
// empty.
func TestParaKeyMatchesFold(t *testing.T) {
	paras := []string{
		"Russia's war", "Russia’s war", "russia war", "Russia`s war!", "RUSSIA WAR",
		"Zelenskyy, Zelensky", "Zaporizhzhia-based Café", "zaporizhzhia based cafe",
		"don't stop", "dont stop", "O’Brien said", "obrien said", "Łódź Straße", "lodz strasse",
		"Δελτίο ειδήσεων", "δελτιο ειδησεων", "Новини дня", "新闻 今天", "x's", "'s", "a''b",
		"", "— ,.;", "Extraordinarily-long-hyphenated-word-that-goes-beyond-thirty-two-bytes",
		"extraordinarily long hyphenated word that goes beyond thirty two bytes",
		"ＦＵＬＬ width", "Pneumonoultramicroscopicsilicovolcanoconiosis", "pneumonoultramicroscopicsilicovolcanoconiosis", "e\u0301t\u00e9", "été",
	}
	for _, text := range langSamples {
		paras = append(paras, text)
	}
	if _, err := corpus.Locate(corpus.SeedsEnv, "seeds"); err == nil {
		for _, prefix := range []string{"000", "001", "002"} {
			paras = append(paras, rawParagraphs(corpus.ReadSeed(t, prefix))...)
		}
	}
	seed := New(nil).seed
	for i, a := range paras {
		ka, oka := paraKey(seed, a)
		wa := strings.Join(fold.Words(a), "\x00")
		if oka != (len(fold.Words(a)) > 0) {
			t.Errorf("paraKey(%q) ok = %v, fold.Words = %q", a, oka, fold.Words(a))
		}
		for _, b := range paras[i:] {
			kb, _ := paraKey(seed, b)
			wb := strings.Join(fold.Words(b), "\x00")
			if (ka == kb) != (wa == wb) {
				t.Errorf("paraKey equality %v, fold.Words equality %v:\n%q\n%q", ka == kb, wa == wb, a, b)
			}
			want := oka && wa == wb
			if got := sameWords(a, b); got != want {
				t.Errorf("sameWords(%q, %q) = %v, fold.Words equal and not empty: %v", a, b, got, want)
			}
			if got := sameWords(b, a); got != want {
				t.Errorf("sameWords(%q, %q) = %v, fold.Words equal and not empty: %v", b, a, got, want)
			}
		}
	}
}
