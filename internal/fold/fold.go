// Package fold splits text into words and folds them for matching: case,
// diacritics (Zelenskyy -> zelenskyy, Zaporizhzhia's -> zaporizhzhia) and
// apostrophe variants (Russia's, Russia’s, Russia`s all give "russia").
// Topics and entity tagging share it, so a word matches the same way
// everywhere.
package fold

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Token is one word of a text: its folded form and its byte offsets in the
// original string.
type Token struct {
	Word       string
	Start, End int
}

// isApostrophe reports the characters people and CMSes use as apostrophes.
func isApostrophe(r rune) bool {
	switch r {
	case '\'', '’', '‘', '`', '´', 'ʼ', '′':
		return true
	}
	return false
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

// Tokens splits s into folded words with their offsets. A possessive "'s"
// is dropped; an apostrophe inside a word is removed (don't -> dont).
// Hyphens, slashes and punctuation separate words.
func Tokens(s string) []Token {
	var out []Token
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !isWordRune(r) {
			i += size
			continue
		}
		start := i
		end := i
		for i < len(s) {
			r, size = utf8.DecodeRuneInString(s[i:])
			if isWordRune(r) {
				i += size
				end = i
				continue
			}
			if isApostrophe(r) {
				// Keep going only if a letter follows (don't, O'Brien, Russia's).
				nr, nsize := utf8.DecodeRuneInString(s[i+size:])
				if i+size < len(s) && isWordRune(nr) {
					// Possessive: 's followed by a non-word rune ends the word.
					if (nr == 's' || nr == 'S') && !nextIsWord(s, i+size+nsize) {
						i += size + nsize
						break
					}
					i += size
					continue
				}
			}
			break
		}
		w := Word(s[start:end])
		if w != "" {
			out = append(out, Token{Word: w, Start: start, End: end})
		}
	}
	return out
}

func nextIsWord(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

// Word folds one word: lower case, diacritics removed, apostrophes removed.
// It is cheap for the common ASCII case.
func Word(w string) string {
	ascii := true
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf || c == '\'' || c == '`' {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(w)
	}
	var b strings.Builder
	b.Grow(len(w))
	for _, r := range norm.NFD.String(w) {
		switch {
		case unicode.Is(unicode.Mn, r), isApostrophe(r):
			continue
		case r == 'ß':
			b.WriteString("ss")
		case r == 'ł' || r == 'Ł':
			b.WriteByte('l')
		case r == 'ø' || r == 'Ø':
			b.WriteByte('o')
		case r == 'đ' || r == 'Đ':
			b.WriteByte('d')
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// Words returns just the folded words of s.
func Words(s string) []string {
	toks := Tokens(s)
	out := make([]string, len(toks))
	for i, t := range toks {
		out[i] = t.Word
	}
	return out
}
