package tag

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/pipeline"
)

func person(name string) pipeline.Entity { return pipeline.Entity{Type: TypePerson, Name: name} }
func place(name string) pipeline.Entity  { return pipeline.Entity{Type: TypePlace, Name: name} }
func org(name string) pipeline.Entity    { return pipeline.Entity{Type: TypeOrg, Name: name} }

func TestTagDefault(t *testing.T) {
	tg := New(nil)
	cases := []struct {
		name, title, text string
		want              []pipeline.Entity
	}{
		// Spelling variants, possessives, diacritics.
		{"Zelenskyy", "", "Zelenskyy said", []pipeline.Entity{person("Volodymyr Zelensky")}},
		{"Zelensky's", "", "Zelensky's office", []pipeline.Entity{person("Volodymyr Zelensky")}},
		{"curly possessive", "", "Zelenskiy’s aides", []pipeline.Entity{person("Volodymyr Zelensky")}},
		{"full name variant", "", "Volodymyr Zelenskyy met", []pipeline.Entity{person("Volodymyr Zelensky")}},
		{"upper case", "ZELENSKY IN KIEV", "", []pipeline.Entity{person("Volodymyr Zelensky"), place("Kyiv")}},
		{"Kiev", "", "talks in Kiev", []pipeline.Entity{place("Kyiv")}},
		{"Zaporizhia", "", "Zaporizhia, Zaporozhye and Zaporizhzhia", []pipeline.Entity{place("Zaporizhzhia")}},
		{"diacritics", "", "Viktor Orbán and Orban; Erdoğan", []pipeline.Entity{person("Viktor Orbán"), person("Recep Tayyip Erdoğan")}},
		{"Nato", "", "Nato allies", []pipeline.Entity{org("NATO")}},
		{"surnames", "", "Starmer, Macron and Merz", []pipeline.Entity{person("Keir Starmer"), person("Emmanuel Macron"), person("Friedrich Merz")}},
		{"Sir Keir", "", "Sir Keir Starmer's plan", []pipeline.Entity{person("Keir Starmer")}},
		{"demonym", "", "Russian forces", []pipeline.Entity{place("Russia")}},
		{"hyphenated", "", "Biden-Trump feud", []pipeline.Entity{person("Joe Biden"), person("Donald Trump")}},

		// "US" is case-sensitive; "us" the pronoun is never the United States.
		{"the U.S.", "", "the U.S. said", []pipeline.Entity{place("United States")}},
		{"U.S. without final dot", "", "the U.S", []pipeline.Entity{place("United States")}},
		{"U. S. spaced", "", "the U. S. said", []pipeline.Entity{place("United States")}},
		{"US", "", "US pressure", []pipeline.Entity{place("United States")}},
		{"us", "", "join us, tell us", nil},
		{"Us", "Let Us Talk", "", nil},
		{"u.s. lower", "", "u.s. policy", nil},
		{"U.S.-Ukrainian", "", "U.S.-Ukrainian relations", []pipeline.Entity{place("United States"), place("Ukraine")}},
		{"EU vs eu", "", "o eu não sei", nil},
		{"EU", "", "the EU and the European Union", []pipeline.Entity{org("European Union")}},
		{"UK", "", "the UK, Britain", []pipeline.Entity{place("United Kingdom")}},
		{"turkey", "", "roast turkey", nil},
		{"China vs china", "", "fine china; China", []pipeline.Entity{place("China")}},

		// Longest match wins.
		{"European Parliament", "", "the European Parliament", []pipeline.Entity{org("European Parliament")}},
		{"United States of America", "", "United States of America", []pipeline.Entity{place("United States")}},
		{"Latin America", "", "Latin America", []pipeline.Entity{place("Latin America")}},
		{"Kyiv Independent", "", "the Kyiv Independent reported", []pipeline.Entity{org("Kyiv Independent")}},
		{"Washington Post", "", "Washington Post", []pipeline.Entity{org("Washington Post")}},
		{"Black Sea Fleet", "", "the Black Sea Fleet in the Black Sea", []pipeline.Entity{place("Black Sea"), org("Black Sea Fleet")}},
		{"ZNPP", "", "the Zaporizhzhia nuclear power plant", []pipeline.Entity{place("Zaporizhzhia Nuclear Power Plant")}},
		{"Melania", "", "Melania Trump", []pipeline.Entity{person("Melania Trump")}},
		{"UN Security Council", "", "the UN Security Council and the UN", []pipeline.Entity{org("UN Security Council"), org("United Nations")}},
		{"National Security Council", "", "National Security Council", []pipeline.Entity{org("National Security Council")}},

		// No names across sentences or lines.
		{"across full stop", "", "in Latin. America", []pipeline.Entity{place("United States")}},
		{"across line", "", "European\nParliament", nil},
		{"St. Petersburg", "", "St. Petersburg", []pipeline.Entity{place("St Petersburg")}},
		{"Washington, D.C.", "", "Washington, D.C. talks", []pipeline.Entity{place("Washington")}},
		{"Washington comma", "", "Washington, DC", []pipeline.Entity{place("Washington")}},

		// Output: types person, place, org; then first appearance, title first.
		{"order", "NATO and Kyiv", "Putin and Kyiv, Lavrov, NATO, Moscow",
			[]pipeline.Entity{person("Vladimir Putin"), person("Sergey Lavrov"), place("Kyiv"), place("Moscow"), org("NATO")}},
		{"empty", "", "", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tg.Tag(c.title, c.text); !equalEntities(got, c.want) {
				t.Errorf("Tag(%q, %q) =\n  %v\nwant\n  %v", c.title, c.text, got, c.want)
			}
		})
	}
}

func TestProcess(t *testing.T) {
	tg := New(Default())
	if tg.Name() != "tag" {
		t.Errorf("Name() = %q", tg.Name())
	}
	ctx := context.Background()

	a := &pipeline.Article{Title: "Rubio in London", Text: "Witkoff too.", Content: "<p>Lavrov</p>",
		Entities: []pipeline.Entity{place("Stale")}}
	if err := tg.Process(ctx, a); err != nil {
		t.Fatal(err)
	}
	want := []pipeline.Entity{person("Marco Rubio"), person("Steve Witkoff"), place("London")}
	if !equalEntities(a.Entities, want) {
		t.Errorf("with Text: %v, want %v (Content ignored, old entities replaced)", a.Entities, want)
	}
	if err := tg.Process(ctx, a); err != nil || !equalEntities(a.Entities, want) {
		t.Errorf("second Process: %v, %v", a.Entities, err)
	}

	// Without Text, Content is read with its HTML tags blanked out.
	a = &pipeline.Article{Title: "", Content: `<p class="EU US">Talks in <a href="https://kyiv.example/nato">Kiev</a> &amp; Paris, x < y, <!-- Moscow --> done</p>`}
	if err := tg.Process(ctx, a); err != nil {
		t.Fatal(err)
	}
	if want := []pipeline.Entity{place("Kyiv"), place("Paris")}; !equalEntities(a.Entities, want) {
		t.Errorf("from Content: %v, want %v", a.Entities, want)
	}

	a = &pipeline.Article{Title: "Weather", Text: "Sunny."}
	if err := tg.Process(ctx, a); err != nil || a.Entities != nil {
		t.Errorf("no entities: %v, %v", a.Entities, err)
	}

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := tg.Process(cctx, &pipeline.Article{Title: "Kyiv"}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}

	// Works inside a pipeline.Chain.
	a = &pipeline.Article{Title: "Merz"}
	if err := (pipeline.Chain{tg}).Process(ctx, a); err != nil || !equalEntities(a.Entities, []pipeline.Entity{person("Friedrich Merz")}) {
		t.Errorf("chain: %v, %v", a.Entities, err)
	}
}

func TestBlankTags(t *testing.T) {
	for in, want := range map[string]string{
		"plain":               "plain",
		"a < b and c > d":     "a < b and c > d",
		"<b>x</b>":            "   x    ",
		"x <unclosed":         "x <unclosed",
		"<p>é</p>":            "   é    ",
		"<!-- c -->y":         "          y",
		"<>":                  "<>",
		"a<br/>b<img src=x>c": "a     b           c",
	} {
		got := blankTags(in)
		if got != want {
			t.Errorf("blankTags(%q) = %q, want %q", in, got, want)
		}
		if len(got) != len(in) {
			t.Errorf("blankTags(%q) changed the length", in)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	tg := New(nil)
	want := tg.Tag("Zelensky in London", "Starmer and Macron")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				a := &pipeline.Article{Title: "Zelensky in London", Text: "Starmer and Macron"}
				if err := tg.Process(context.Background(), a); err != nil || !equalEntities(a.Entities, want) {
					t.Errorf("concurrent Process: %v, %v", a.Entities, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func FuzzTag(f *testing.F) {
	for _, s := range []string{
		"Zelensky's talks in Kiev", "the U.S.-Ukrainian deal", "us US U.S U. S.", "European\nParliament",
		"St. Petersburg", "<p>Kyiv</p>", "\xff\xfeNATO", "Zaporizhzhia’s", "a’b’c's", "Kim Jong-un",
		"Washington, D.C.", "Łódź Orbán", "",
	} {
		f.Add(s, s)
	}
	tg := New(nil)
	f.Fuzz(func(t *testing.T, title, text string) {
		got := tg.Tag(title, text)
		seen := map[pipeline.Entity]bool{}
		prevRank := -1
		for _, e := range got {
			if !validType(e.Type) || e.Name == "" {
				t.Fatalf("bad entity %+v", e)
			}
			if seen[e] {
				t.Fatalf("entity %+v twice in %v", e, got)
			}
			seen[e] = true
			r := typeRank(e.Type)
			if r < prevRank {
				t.Fatalf("not sorted by type: %v", got)
			}
			prevRank = r
		}
		// Deterministic, and the same through Process.
		a := &pipeline.Article{Title: title, Text: text}
		if text == "" {
			a.Content = text
		}
		if err := tg.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if !equalEntities(a.Entities, got) {
			t.Fatalf("Process %v != Tag %v", a.Entities, got)
		}
		// An entity found in the title alone is found in title+text.
		for _, e := range tg.Tag(title, "") {
			if !slices.Contains(got, e) {
				t.Fatalf("%v from the title alone missing from %v", e, got)
			}
		}
		if b := blankTags(text); len(b) != len(text) || (utf8.ValidString(text) && !utf8.ValidString(b)) {
			t.Fatalf("blankTags(%q) = %q: length or validity changed", text, b)
		}
	})
}
