package normalize

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// checkTextInvariants asserts what every converted text must be: valid
// UTF-8 in NFC, no control characters but "\n", paragraphs separated by
// exactly one blank line, no leading, trailing or doubled spaces.
func checkTextInvariants(t testing.TB, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("invalid UTF-8 in %q", s)
	}
	if !norm.NFC.IsNormalString(s) {
		t.Fatalf("not NFC: %q", s)
	}
	for _, r := range s {
		if r != '\n' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0) {
			t.Fatalf("control character %U in %q", r, s)
		}
	}
	if s != strings.TrimSpace(s) {
		t.Fatalf("leading or trailing whitespace in %q", s)
	}
	for _, p := range strings.Split(s, "\n\n") {
		if s == "" {
			break
		}
		if p == "" || strings.Contains(p, "\n") || p != strings.TrimSpace(p) || strings.Contains(p, "  ") {
			t.Fatalf("badly formed paragraph %q in %q", p, s)
		}
	}
}

// dataDir finds shared test data: env overrides the default path relative
// to the package directory. Absent data skips the test, or fails it when
// CI=true.
func dataDir(t testing.TB, env string, def ...string) string {
	t.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join(def...)
	}
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("test data missing under CI=true: %v (set %s)", err, env)
		}
		t.Skipf("test data not available: %v (set %s to its location)", err, env)
	}
	return dir
}

// seedsDir is ../shared/seeds from the repository root, or
// $WIREWATCH_SEEDS.
func seedsDir(t testing.TB) string {
	t.Helper()
	return dataDir(t, "WIREWATCH_SEEDS", "..", "..", "..", "shared", "seeds")
}

// seedsAvailable reports whether seedsDir would find the seeds.
func seedsAvailable() bool {
	dir := os.Getenv("WIREWATCH_SEEDS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "seeds")
	}
	_, err := os.Stat(dir)
	return err == nil
}

// readSeed returns the seed file whose name starts with prefix ("002").
func readSeed(t testing.TB, prefix string) string {
	t.Helper()
	dir := seedsDir(t)
	m, err := filepath.Glob(filepath.Join(dir, prefix+"_*.txt"))
	if err != nil || len(m) != 1 {
		t.Fatalf("seed %s in %s: found %v (%v)", prefix, dir, m, err)
	}
	b, err := os.ReadFile(m[0])
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// rawParagraphs returns the distinct non-blank lines of a seed, trimmed,
// in order.
func rawParagraphs(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	return out
}
