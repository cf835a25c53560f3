package topics

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// checkGolden compares got with testdata/<name>, or rewrites it with
// -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	testkit.Golden(t, filepath.Join("testdata", name), got, *update)
}

// readLines returns the non-empty, non-comment lines of a testdata file.
func readLines(t testing.TB, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		out = append(out, l)
	}
	return out
}

// TestParseGolden: every query of testdata/parse/queries.txt with its
// canonical form and tree; the canonical form parses to the same tree.
func TestParseGolden(t *testing.T) {
	var b strings.Builder
	for _, q := range readLines(t, "parse/queries.txt") {
		e, err := ParseQuery(q)
		if err != nil {
			t.Errorf("ParseQuery(%q): %v", q, err)
			continue
		}
		fmt.Fprintf(&b, "query: %s\n  str: %s\n  ast: %s\n", q, e, e.Dump())
		e2, err := ParseQuery(e.String())
		if err != nil {
			t.Errorf("canonical form %q of %q does not parse: %v", e.String(), q, err)
			continue
		}
		if e2.Dump() != e.Dump() {
			t.Errorf("canonical form %q of %q parses to %s, want %s", e.String(), q, e2.Dump(), e.Dump())
		}
	}
	checkGolden(t, "parse/queries.golden", b.String())
}

// TestParseErrorsGolden: every query of testdata/parse/errors.txt fails
// with the recorded *SyntaxError.
func TestParseErrorsGolden(t *testing.T) {
	var b strings.Builder
	for _, q := range readLines(t, "parse/errors.txt") {
		e, err := ParseQuery(q)
		if err == nil {
			t.Errorf("ParseQuery(%q) = %s, want an error", q, e)
			continue
		}
		if _, ok := err.(*SyntaxError); !ok {
			t.Errorf("ParseQuery(%q) error %T, want *SyntaxError", q, err)
		}
		fmt.Fprintf(&b, "query: %s\nerror: %v\n", q, err)
	}
	checkGolden(t, "parse/errors.golden", b.String())
}

// TestFileErrorsGolden: loading each bad-*.yaml file of testdata/files
// gives the recorded errors, placed at file:line:col.
func TestFileErrorsGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "files", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, f := range files {
		name := filepath.ToSlash(f)
		s, err := LoadFile(name)
		fmt.Fprintf(&b, "== %s\n", name)
		if err != nil {
			fmt.Fprintf(&b, "%v\n", err)
			if !strings.Contains(filepath.Base(f), "ok") {
				continue
			}
			t.Errorf("%s: %v", f, err)
			continue
		}
		if strings.HasPrefix(filepath.Base(f), "bad") || filepath.Base(f) == "empty.yaml" {
			t.Errorf("%s loaded, want errors", f)
		}
		for _, tp := range s.Topics() {
			fmt.Fprintf(&b, "%s (line %d, threshold %v, severity %v): %s\n", tp.Name, tp.Line, tp.Threshold, tp.SeverityThreshold, tp.Expr)
		}
	}
	checkGolden(t, "files/errors.golden", b.String())
}
