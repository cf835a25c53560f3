package topics

import (
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

// FuzzParseQuery: the parser never panics; a query that parses prints to a
// canonical form that parses to the same tree and prints the same; and a
// compiled query matches an article without panicking. Seeds: the golden
// query lists plus testdata/fuzz/FuzzParseQuery.
func FuzzParseQuery(f *testing.F) {
	for _, q := range readLines(f, "parse/queries.txt") {
		f.Add(q)
	}
	for _, q := range readLines(f, "parse/errors.txt") {
		f.Add(q)
	}
	a := &pipeline.Article{
		Title:    "Zelenskyy: peace talks with Russia’s envoys in Paris",
		Text:     "Negotiators discussed a ceasefire, security guarantees and the Donbas. Talks resume.",
		Feed:     "BBC News",
		Language: "en-GB",
	}
	f.Fuzz(func(t *testing.T, q string) {
		e, err := ParseQuery(q)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("ParseQuery(%q): error %T, want *SyntaxError", q, err)
			}
			return
		}
		s := e.String()
		e2, err := ParseQuery(s)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", s, q, err)
		}
		if e2.Dump() != e.Dump() {
			t.Fatalf("canonical form %q of %q parses to\n%s\nwant\n%s", s, q, e2.Dump(), e.Dump())
		}
		if s2 := e2.String(); s2 != s {
			t.Fatalf("canonical form not stable: %q then %q", s, s2)
		}
		set, err := Compile([]Topic{{Name: "fuzz", Expr: e, Threshold: 0.01}})
		if err != nil {
			return // can match without a term
		}
		for _, m := range set.MatchAll(a) {
			for _, x := range m.Matches {
				src := a.Text
				if x.Field == "title" {
					src = a.Title
				}
				if x.Start < 0 || x.End > len(src) || src[x.Start:x.End] != x.Text {
					t.Fatalf("bad match %+v", x)
				}
			}
			if _, err := ParseQuery(m.Branch); err != nil {
				t.Fatalf("branch %q does not parse: %v", m.Branch, err)
			}
		}
	})
}
