package normalize

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the .golden.txt files of testdata/golden")

// TestGolden converts every input in testdata/golden (*.html with
// HTMLToText, *.plain with ToText) and compares with <name>.golden.txt.
// Run with -update to rewrite the expected outputs, then review the diff.
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "golden", "*"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, in := range inputs {
		ext := filepath.Ext(in)
		var conv func(string) string
		switch ext {
		case ".html":
			conv = HTMLToText
		case ".plain":
			conv = ToText
		default:
			continue
		}
		n++
		name := strings.TrimSuffix(filepath.Base(in), ext)
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := conv(string(src))
			goldenPath := strings.TrimSuffix(in, ext) + ".golden.txt"
			if *update {
				if err := os.WriteFile(goldenPath, []byte(got+"\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(goldenPath)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got+"\n" != string(want) {
				t.Errorf("%s: output differs from %s (run with -update and review the diff)\n--- got ---\n%s\n--- want ---\n%s", in, goldenPath, got, want)
			}
			// Invariants every output keeps.
			checkTextInvariants(t, got)
		})
	}
	if n == 0 {
		t.Fatal("no golden inputs in testdata/golden")
	}
}
