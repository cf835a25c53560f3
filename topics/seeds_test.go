package topics

import (
	"path/filepath"
	"slices"
	"testing"
)

// The labels /work/shared/seeds/README.md asks of the default pack.
var seedLabels = []struct {
	file                string
	required, forbidden []string
}{
	{"000_69591c71353e00be.txt",
		[]string{"peace-talks", "security-guarantees", "territory", "hybrid-threats"},
		[]string{"sanctions", "ceasefire", "coalition"}},
	{"001_6489fa185ed6154c.txt",
		[]string{"peace-talks", "territory", "coalition", "security-guarantees", "hybrid-threats", "military-aid"},
		[]string{"sanctions", "ceasefire"}},
	{"002_6fdb6b08a21051c8.txt",
		[]string{"peace-talks", "coalition", "ceasefire", "military-aid", "sanctions"},
		[]string{"hybrid-threats"}},
}

func TestDefaultPackSeeds(t *testing.T) {
	dir := sharedDir(t, "WIREWATCH_SEEDS", "seeds")
	set := Default()
	for _, s := range seedLabels {
		t.Run(s.file, func(t *testing.T) {
			a := seedArticle(t, filepath.Join(dir, s.file))
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
