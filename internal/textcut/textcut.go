// Package textcut shortens strings to a byte budget without splitting a
// UTF-8 character: the one place subjects, log excerpts, summaries and
// titles are cut.
package textcut

import "unicode/utf8"

// Ellipsis is what Ellipsize appends to a string it cut.
const Ellipsis = "…"

// Bytes returns the longest prefix of s of at most n bytes (none when n <= 0)
// that does not end inside a multi-byte character. Bytes that are not
// valid UTF-8 are cut as bytes: the cut moves back at most utf8.UTFMax-1
// bytes, so a run of stray continuation bytes is not dropped whole.
func Bytes(s string, n int) string {
	if n >= len(s) {
		return s
	}
	if n <= 0 {
		return ""
	}
	for i := n; i >= 0 && i > n-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return s[:n]
}

// Ellipsize returns s when it has at most n bytes, and otherwise
// Bytes(s, n) followed by Ellipsis (so up to n+len(Ellipsis) bytes).
func Ellipsize(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return Bytes(s, n) + Ellipsis
}
