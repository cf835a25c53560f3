// Package fold splits text into words and folds them for matching: case,
// diacritics (Zelenskyy -> zelenskyy, Zaporizhzhia's -> zaporizhzhia) and
// apostrophe variants (Russia's, Russia’s, Russia`s all give "russia").
// Topics, entity tagging and paragraph deduplication share it, so a word
// matches the same way everywhere.
//
// Folding is idempotent: Word(Word(w)) == Word(w), and the folded form of
// a word is one word again (Tokens(tok.Word) gives tok.Word back).
package fold

import (
	"iter"
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

func isASCIIWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

// isWordRune reports the runes words are made of: letters, digits and
// nonspacing marks.
func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIIWordByte(byte(r))
	}
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r)
}

func nextIsWord(s string, i int) bool {
	if i >= len(s) {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s[i:])
	return isWordRune(r)
}

// span finds the first word of s at or after byte i: s[start:end] is its
// text as written (an inner apostrophe included, a possessive "'s" not),
// next is where to look for the following word. start == len(s) when there
// is no word left.
func span(s string, i int) (start, end, next int) {
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf {
			if isASCIIWordByte(c) {
				break
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isWordRune(r) {
			break
		}
		i += size
	}
	start, end = i, i
	for i < len(s) {
		if c := s[i]; c < utf8.RuneSelf && isASCIIWordByte(c) {
			i++
			end = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isWordRune(r) {
			i += size
			end = i
			continue
		}
		if isApostrophe(r) && i+size < len(s) {
			// Keep going only if a letter follows (don't, O'Brien, Russia's).
			nr, nsize := utf8.DecodeRuneInString(s[i+size:])
			if isWordRune(nr) {
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
	return start, end, i
}

// Spans yields the byte offsets of the words of s, split as Tokens splits
// them, without folding them and without allocating: fold each with
// AppendWord into a buffer of your own.
func Spans(s string) iter.Seq2[int, int] {
	return func(yield func(start, end int) bool) {
		for i := 0; ; {
			start, end, next := span(s, i)
			if start == len(s) || !yield(start, end) {
				return
			}
			i = next
		}
	}
}

// Tokens splits s into folded words with their offsets. A possessive "'s"
// is dropped; an apostrophe inside a word is removed (don't -> dont).
// Hyphens, slashes and punctuation separate words.
func Tokens(s string) []Token {
	return AppendTokens(nil, s)
}

// AppendTokens appends the tokens of s to dst and returns the extended
// slice: Tokens reusing a buffer. Words already folded (lower-case ASCII)
// are substrings of s; the others share one string allocated per call.
func AppendTokens(dst []Token, s string) []Token {
	// buf collects the folded words that differ from their text, each
	// followed by a 0 byte (which no folded word holds); their tokens get
	// Word "" (which no token has) until buf becomes a string.
	var stack [1024]byte
	buf := stack[:0]
	first := len(dst)
	for i := 0; ; {
		start, end, next := span(s, i)
		if start == len(s) {
			break
		}
		i = next
		w := s[start:end]
		if isFolded(w) {
			dst = append(dst, Token{Word: w, Start: start, End: end})
			continue
		}
		n := len(buf)
		if buf = AppendWord(buf, w); len(buf) == n {
			continue // nothing but marks
		}
		buf = append(buf, 0)
		dst = append(dst, Token{Start: start, End: end})
	}
	if len(buf) > 0 {
		folded := string(buf)
		for k := first; k < len(dst); k++ {
			if dst[k].Word == "" {
				j := strings.IndexByte(folded, 0)
				dst[k].Word, folded = folded[:j], folded[j+1:]
			}
		}
	}
	return dst
}

// isFolded reports whether w is its own folded form for the cheap reason
// that it is lower-case ASCII without an apostrophe.
func isFolded(w string) bool {
	for i := 0; i < len(w); i++ {
		c := w[i]
		if c >= utf8.RuneSelf || 'A' <= c && c <= 'Z' || c == '\'' || c == '`' {
			return false
		}
	}
	return true
}

// Word folds one word: lower case, diacritics removed, apostrophes removed.
// It does not allocate for a word that is already lower-case ASCII.
func Word(w string) string {
	if isFolded(w) {
		return w
	}
	var buf [64]byte
	return string(AppendWord(buf[:0], w))
}

// AppendWord appends the folded form of w (what Word returns) to dst and
// returns the extended slice. It allocates only to grow dst.
func AppendWord(dst []byte, w string) []byte {
	for i := 0; i < len(w); {
		c := w[i]
		if c < utf8.RuneSelf {
			i++
			switch {
			case 'A' <= c && c <= 'Z':
				dst = append(dst, c+'a'-'A')
			case c == '\'' || c == '`':
			default:
				dst = append(dst, c)
			}
			continue
		}
		r, size := utf8.DecodeRuneInString(w[i:])
		i += size
		dst = appendRune(dst, r)
	}
	return dst
}

// appendRune appends the folded form of one non-ASCII rune: lower-cased
// first (ẞ -> ß), then decomposed (NFD) with its nonspacing marks dropped.
// A letter's decomposition keeps only letters and digits, so that what is
// left is one word (U+0B94 TAMIL LETTER AU would otherwise leave a spacing
// length mark that splits the word when it is read again).
func appendRune(dst []byte, r rune) []byte {
	if isApostrophe(r) || unicode.Is(unicode.Mn, r) {
		return dst
	}
	word := isWordRune(r)
	r = unicode.ToLower(r)
	if r >= hangulBase && r < hangulBase+hangulCount {
		return appendHangul(dst, r)
	}
	var enc [utf8.UTFMax]byte
	d := norm.NFD.Properties(enc[:utf8.EncodeRune(enc[:], r)]).Decomposition()
	if d == nil {
		return appendBase(dst, r)
	}
	for len(d) > 0 {
		dr, size := utf8.DecodeRune(d)
		d = d[size:]
		if isApostrophe(dr) || unicode.Is(unicode.Mn, dr) || word && !isWordRune(dr) {
			continue
		}
		dst = appendBase(dst, unicode.ToLower(dr))
	}
	return dst
}

// appendBase appends a lower-case rune without a decomposition, spelling
// out the letters NFD does not take apart.
func appendBase(dst []byte, r rune) []byte {
	switch r {
	case 'ß':
		return append(dst, "ss"...)
	case 'ł':
		return append(dst, 'l')
	case 'ø':
		return append(dst, 'o')
	case 'đ':
		return append(dst, 'd')
	}
	return utf8.AppendRune(dst, r)
}

// Hangul syllables decompose by arithmetic, not by table (Unicode 3.12).
const (
	hangulBase  = 0xAC00
	hangulCount = 11172
	jamoLBase   = 0x1100
	jamoVBase   = 0x1161
	jamoTBase   = 0x11A7
	jamoTCount  = 28
	jamoNCount  = 21 * jamoTCount
)

func appendHangul(dst []byte, r rune) []byte {
	s := r - hangulBase
	dst = utf8.AppendRune(dst, jamoLBase+s/jamoNCount)
	dst = utf8.AppendRune(dst, jamoVBase+s%jamoNCount/jamoTCount)
	if t := s % jamoTCount; t != 0 {
		dst = utf8.AppendRune(dst, jamoTBase+t)
	}
	return dst
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
