package topics

import (
	"slices"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/pipeline"
)

// The labels /work/shared/seeds/README.md asks of the default pack.
var seedLabels = []struct {
	id                  string
	required, forbidden []string
}{
	{"000",
		[]string{"peace-talks", "security-guarantees", "territory", "hybrid-threats"},
		[]string{"sanctions", "ceasefire", "coalition"}},
	{"001",
		[]string{"peace-talks", "territory", "coalition", "security-guarantees", "hybrid-threats", "military-aid"},
		[]string{"sanctions", "ceasefire"}},
	{"002",
		[]string{"peace-talks", "coalition", "ceasefire", "military-aid", "sanctions"},
		[]string{"hybrid-threats"}},
}

func TestDefaultPackSeeds(t *testing.T) {
	corpus.Seeds(t)
	set := Default()
	for _, s := range seedLabels {
		t.Run(s.id, func(t *testing.T) {
			title, text := corpus.SplitTitle(corpus.ReadSeed(t, s.id))
			a := &pipeline.Article{Version: pipeline.ArticleVersion, Title: title, Text: text}
			var got []string
			for _, m := range set.Match(a) {
				got = append(got, m.Name)
				t.Logf("%s %.3f %s", m.Name, m.Score, m.Branch)
				for _, x := range m.Matches {
					t.Logf("    %s %q %s %d:%d", x.Term, x.Text, x.Field, x.Start, x.End)
				}
			}
			for _, r := range s.required {
				if !slices.Contains(got, r) {
					t.Errorf("missing required topic %s (got %v)", r, got)
				}
			}
			for _, f := range s.forbidden {
				if slices.Contains(got, f) {
					t.Errorf("tagged with forbidden topic %s (got %v)", f, got)
				}
			}
		})
	}
}
