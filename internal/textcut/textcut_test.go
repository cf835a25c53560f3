package textcut

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestBytes(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abc", 10, "abc"},
		{"abcdef", 3, "abc"},
		{"abc", 0, ""},
		{"abc", -1, ""},
		{"żółw", 1, ""},    // ż is two bytes
		{"żółw", 2, "ż"},   // exactly one character
		{"żółw", 3, "ż"},   // would split ó
		{"żółw", 6, "żół"}, //
		{"a€b", 3, "a"},    // € is three bytes
		{"a😀b", 4, "a"},    // 😀 is four bytes
		{"a😀b", 5, "a😀"},   //
		{"\x80\x80\x80\x80\x80\x80", 5, "\x80\x80\x80\x80\x80"}, // not UTF-8: cut as bytes
	} {
		if got := Bytes(c.s, c.n); got != c.want {
			t.Errorf("Bytes(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}

func TestBytesNeverSplitsARune(t *testing.T) {
	s := strings.Repeat("aż€😀", 10)
	for n := range len(s) + 2 {
		got := Bytes(s, n)
		if len(got) > n || !utf8.ValidString(got) || !strings.HasPrefix(s, got) || len(got) < n-3 {
			t.Fatalf("Bytes(s, %d) = %q (%d bytes)", n, got, len(got))
		}
	}
}

func TestEllipsize(t *testing.T) {
	for _, c := range []struct {
		s    string
		n    int
		want string
	}{
		{"short", 5, "short"},
		{"longer", 5, "longe…"},
		{"żółw", 3, "ż…"},
		{"€€", 4, "€…"},
		{"abc", 0, "…"},
	} {
		if got := Ellipsize(c.s, c.n); got != c.want {
			t.Errorf("Ellipsize(%q, %d) = %q, want %q", c.s, c.n, got, c.want)
		}
	}
}
