package normalize

import (
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
