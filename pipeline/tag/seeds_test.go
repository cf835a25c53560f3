package tag

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/pipeline"
)

type seed struct {
	id          string // "000"
	title, text string
}

// loadSeed reads seed id: the title is the first non-empty line, the text
// the rest.
func loadSeed(tb testing.TB, id string) seed {
	tb.Helper()
	title, text := corpus.SplitTitle(corpus.ReadSeed(tb, id))
	return seed{id: id, title: title, text: text}
}

// readmeEntities parses the "Entities they name" section of the seeds'
// README: one line per seed, "- 000: people; places; organisations", names
// separated by commas, a parenthesised note after a name ignored.
func readmeEntities(tb testing.TB, dir string) map[string][]pipeline.Entity {
	tb.Helper()
	f, err := os.Open(filepath.Join(dir, "README.md"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	out := map[string][]pipeline.Entity{}
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			in = strings.HasPrefix(line, "## Entities")
			continue
		}
		rest, ok := strings.CutPrefix(line, "- ")
		if !in || !ok {
			continue
		}
		id, list, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		types := []string{TypePerson, TypePlace, TypeOrg}
		for gi, group := range strings.Split(list, ";") {
			if gi >= len(types) {
				tb.Fatalf("README entity line for %s has more than three groups", id)
			}
			for _, name := range strings.Split(group, ",") {
				if i := strings.Index(name, "("); i >= 0 {
					name = name[:i]
				}
				if name = strings.TrimSpace(name); name != "" {
					out[id] = append(out[id], pipeline.Entity{Type: types[gi], Name: name})
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

func TestSeedEntities(t *testing.T) {
	want := readmeEntities(t, corpus.Seeds(t))
	if len(want) != 3 {
		t.Fatalf("parsed entity lists for %d seeds from README, want 3: %v", len(want), want)
	}
	// extraOK lists, per seed, entities the README does not list but the text
	// does name: tagging them is right, tagging anything else is a false
	// positive.
	extraOK := map[string][]pipeline.Entity{
		// Adjectives for France and Germany, the White House, Washington.
		"000": {place("France"), place("Germany"), place("Washington"), org("White House")},
		// The U.S., the war's parties and capitals, Europe, the EU's seat,
		// China, the Nordic and Baltic states, the Kremlin.
		"001": {place("United States"), place("Ukraine"), place("Russia"), place("Kyiv"), place("Moscow"),
			place("Europe"), place("Washington"), place("Brussels"), place("China"),
			place("Nordic countries"), place("Baltic states"), org("Kremlin")},
		// The U.S. and the venue of the first summit.
		"002": {place("United States"), place("Lancaster House")},
	}

	g := Default()
	known := map[pipeline.Entity]bool{}
	for _, e := range g.Entities() {
		known[e] = true
	}
	tg := New(g)
	for _, id := range []string{"000", "001", "002"} {
		t.Run(id, func(t *testing.T) {
			if len(want[id]) < 5 {
				t.Fatalf("README lists only %v for seed %s", want[id], id)
			}
			s := loadSeed(t, id)
			got := tg.Tag(s.title, s.text)
			gotSet := map[pipeline.Entity]bool{}
			for _, e := range got {
				gotSet[e] = true
			}
			required := map[pipeline.Entity]bool{}
			for _, e := range want[id] {
				required[e] = true
				if !known[e] {
					t.Errorf("README entity %v is not in the gazetteer", e)
				}
				if !gotSet[e] {
					t.Errorf("missing %s %q", e.Type, e.Name)
				}
			}
			allowed := map[pipeline.Entity]bool{}
			for _, e := range extraOK[id] {
				allowed[e] = true
			}
			for _, e := range got {
				if !required[e] && !allowed[e] {
					t.Errorf("unexpected %s %q (false positive?)", e.Type, e.Name)
				}
			}
			if t.Failed() {
				t.Logf("got %v", got)
			}
		})
	}
}

// TestSeedsNoPronounUS checks the case-sensitive "US" on real text: a seed
// that names the United States only as "US"/"U.S." keeps doing so when every
// "US" is lower-cased to the pronoun.
func TestSeedsNoPronounUS(t *testing.T) {
	tg := New(nil)
	for _, id := range []string{"000", "001", "002"} {
		s := loadSeed(t, id)
		lower := func(x string) string {
			x = strings.ReplaceAll(x, "U.S.", "u.s.")
			x = strings.ReplaceAll(x, "US", "us")
			return strings.ReplaceAll(x, "America", "america")
		}
		for _, e := range tg.Tag(lower(s.title), lower(s.text)) {
			if e.Name == "United States" {
				t.Errorf("seed %s: United States tagged from lower-case us", id)
			}
		}
	}
}

func BenchmarkTag(b *testing.B) {
	var seeds []seed
	size := 0
	for _, id := range []string{"000", "001", "002"} {
		s := loadSeed(b, id)
		seeds = append(seeds, s)
		size += len(s.title) + len(s.text)
	}
	tg := New(nil)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	for b.Loop() {
		for _, s := range seeds {
			tg.Tag(s.title, s.text)
		}
	}
}
