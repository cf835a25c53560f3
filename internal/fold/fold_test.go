package fold

import (
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Russia's war", []string{"russia", "war"}},
		{"Russia’s war", []string{"russia", "war"}},
		{"Zelenskyy, Zelensky", []string{"zelenskyy", "zelensky"}},
		{"Zaporizhzhia-based Café", []string{"zaporizhzhia", "based", "cafe"}},
		{"don't stop", []string{"dont", "stop"}},
		{"O’Brien said", []string{"obrien", "said"}},
		{"Łódź Straße", []string{"lodz", "strasse"}},
		{"'quoted' words", []string{"quoted", "words"}},
		{"ends with s'", []string{"ends", "with", "s"}},
		{"", nil},
	}
	for _, c := range cases {
		got := Words(c.in)
		if len(got) == 0 && len(c.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("Words(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestTokenOffsets(t *testing.T) {
	s := "Kyiv’s talks — Zelenskyy"
	for _, tok := range Tokens(s) {
		if Word(s[tok.Start:tok.End]) != tok.Word && tok.Word != "kyiv" {
			t.Errorf("offsets %d:%d give %q, folded %q", tok.Start, tok.End, s[tok.Start:tok.End], tok.Word)
		}
	}
	toks := Tokens(s)
	if got := s[toks[0].Start:toks[0].End]; got != "Kyiv" {
		t.Errorf("first token text %q, want Kyiv (possessive outside the span)", got)
	}
}

func FuzzTokens(f *testing.F) {
	for _, s := range []string{"Russia's", "a’b’c", "\xff\xfe", "x's's", "Ł"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		prev := 0
		for _, tok := range Tokens(s) {
			if tok.Start < prev || tok.End <= tok.Start || tok.End > len(s) {
				t.Fatalf("bad offsets %+v in %q", tok, s)
			}
			prev = tok.End
		}
	})
}

func TestWordTable(t *testing.T) {
	cases := []struct{ in, want string }{
		{"kyiv", "kyiv"},
		{"Kyiv", "kyiv"},
		{"NATO", "nato"},
		{"don't", "dont"},
		{"O`Brien", "obrien"},
		{"Zaporizhzhia", "zaporizhzhia"},
		{"Café", "cafe"},
		{"e\u0301te\u0301", "ete"}, // decomposed
		{"Łódź", "lodz"},
		{"Straße", "strasse"},
		{"STRASSE", "strasse"},
		{"ẞ", "ss"}, // capital sharp s: lower-cased first, then spelled out
		{"GROẞE", "grosse"},
		{"Øresund", "oresund"},
		{"Đorđević", "dordevic"},
		{"ǿ", "o"}, // ø with acute
		{"İstanbul", "istanbul"},
		{"Ελλάδα", "ελλαδα"},
		{"Київ", "киів"},
		{"ஔ", "ஒ"}, // NFD leaves a spacing length mark (Mc): dropped
		{"ᬆ", "ᬅ"},
		{"한국", "\u1112\u1161\u11ab\u1100\u116e\u11a8"},
		{"\u0301", ""},
		{"", ""},
	}
	for _, c := range cases {
		if got := Word(c.in); got != c.want {
			t.Errorf("Word(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := string(AppendWord([]byte("x"), c.in)); got != "x"+c.want {
			t.Errorf("AppendWord(x, %q) = %q, want %q", c.in, got, "x"+c.want)
		}
		if got := Word(c.want); got != c.want {
			t.Errorf("Word(Word(%q)) = %q, want %q", c.in, got, c.want)
		}
	}
}

// checkIdempotent checks that folding s twice gives what folding it once
// does, and that every token's word reads back as that one word.
func checkIdempotent(t *testing.T, s string) {
	t.Helper()
	w := Word(s)
	if w2 := Word(w); w2 != w {
		t.Fatalf("Word(%q) = %q, Word of that = %q", s, w, w2)
	}
	for _, tok := range Tokens(s) {
		again := Tokens(tok.Word)
		if len(again) != 1 || again[0].Word != tok.Word || again[0].Start != 0 || again[0].End != len(tok.Word) {
			t.Fatalf("token %q of %q tokenizes again as %+v", tok.Word, s, again)
		}
	}
}

// Word works rune by rune, so it is idempotent on every string when it is
// on every rune.
func TestWordIdempotentEveryRune(t *testing.T) {
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if utf8.ValidRune(r) {
			checkIdempotent(t, string(r))
		}
	}
}

func FuzzWordIdempotent(f *testing.F) {
	for _, s := range []string{"ẞ", "GROẞE", "ஔ", "xᬆy", "Łódź Straße", "Russia's", "don't", "e\u0301", "한국어", "\xff", "İ"} {
		f.Add(s)
	}
	f.Fuzz(checkIdempotent)
}

func TestAppendTokensReuses(t *testing.T) {
	s := "Kyiv’s talks — Zelenskyy, Łódź and NATO's don't"
	want := Tokens(s)
	buf := make([]Token, 0, 64)
	for range 3 {
		got := AppendTokens(buf[:0], s)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("AppendTokens = %+v, want %+v", got, want)
		}
		if &got[0] != &buf[:1][0] {
			t.Fatal("AppendTokens did not reuse dst")
		}
	}
	pre := []Token{{Word: "x", Start: 0, End: 1}}
	got := AppendTokens(pre, "Ab cd")
	if len(got) != 3 || got[0].Word != "x" || got[1].Word != "ab" || got[2].Word != "cd" {
		t.Errorf("AppendTokens after a token: %+v", got)
	}
}

func TestSpans(t *testing.T) {
	s := "Russia's war, O’Brien's don't — Łódź"
	var got []string
	for start, end := range Spans(s) {
		got = append(got, s[start:end])
	}
	want := []string{"Russia", "war", "O’Brien", "don't", "Łódź"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Spans = %q, want %q", got, want)
	}
	for start, end := range Spans(s) {
		if start != 0 || end != len("Russia") {
			t.Errorf("first span %d:%d", start, end)
		}
		break
	}
}

func TestAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("allocation counts differ under -cover")
	}
	s := "Kyiv’s talks — Zelenskyy, Łódź and NATO's don't stop the war in Zaporizhzhia"
	buf := make([]Token, 0, 64)
	checks := []struct {
		name string
		max  float64
		f    func()
	}{
		{"Word(lower ascii)", 0, func() { Word("talks") }},
		{"Word(Capital)", 1, func() { Word("Zelenskyy") }},
		{"Word(non-ASCII)", 1, func() { Word("Łódź") }},
		{"AppendWord", 0, func() {
			var b [64]byte
			AppendWord(b[:0], "Łódź")
		}},
		{"Spans+AppendWord", 0, func() {
			var b [64]byte
			for start, end := range Spans(s) {
				AppendWord(b[:0], s[start:end])
			}
		}},
		{"AppendTokens(reused)", 1, func() { buf = AppendTokens(buf[:0], s) }},
		{"AppendTokens(lower ascii)", 0, func() { buf = AppendTokens(buf[:0], "the talks go on") }},
	}
	for _, c := range checks {
		if n := testing.AllocsPerRun(100, c.f); n > c.max {
			t.Errorf("%s: %v allocations, want at most %v", c.name, n, c.max)
		}
	}
}

func BenchmarkTokens(b *testing.B) {
	s := strings.Repeat("Zelensky met Starmer, Macron and Merz in London on Monday as the US pressed for a quick deal; Łódź, Straße. ", 20)
	b.SetBytes(int64(len(s)))
	b.ReportAllocs()
	var buf []Token
	for b.Loop() {
		buf = AppendTokens(buf[:0], s)
	}
}
