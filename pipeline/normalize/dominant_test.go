package normalize

import (
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// dominantLanguageRef counts as dominantLanguage was first written, rune
// by rune and a map lookup per word, and decides with the same dominant:
// the ASCII fast path and the mask loop must count as it does.
func dominantLanguageRef(sample string) (lang string, hits [len(stopwordLangs)]int, words int) {
	letters, latin, cyrillic := 0, 0, 0
	var buf [24]byte
	for i := 0; i < len(sample); {
		r, size := utf8.DecodeRuneInString(sample[i:])
		if !unicode.IsLetter(r) {
			i += size
			continue
		}
		n, long := 0, false
		for i < len(sample) {
			r, size = utf8.DecodeRuneInString(sample[i:])
			if !unicode.IsLetter(r) {
				break
			}
			i += size
			letters++
			switch {
			case r < utf8.RuneSelf || unicode.Is(unicode.Latin, r):
				latin++
			case unicode.Is(unicode.Cyrillic, r):
				cyrillic++
			}
			r = unicode.ToLower(r)
			if n+utf8.RuneLen(r) > len(buf) {
				long = true
				continue
			}
			n += utf8.EncodeRune(buf[n:], r)
		}
		words++
		if long {
			continue
		}
		if mask := stopwords[string(buf[:n])]; mask != 0 {
			for k := range hits {
				if mask&(1<<k) != 0 {
					hits[k]++
				}
			}
		}
	}
	return dominant(hits, words, letters, latin, cyrillic), hits, words
}

func checkDominant(t *testing.T, s string) {
	t.Helper()
	l, h, w := dominantLanguage(s)
	rl, rh, rw := dominantLanguageRef(s)
	if l != rl || h != rh || w != rw {
		t.Fatalf("dominantLanguage(%q) = %q %v %d; reference %q %v %d", s, l, h, w, rl, rh, rw)
	}
}

func TestDominantLanguageMatchesReference(t *testing.T) {
	for _, s := range langSamples {
		checkDominant(t, s)
	}
	for _, s := range []string{"", "THE And OF", "İstanbul ǅemal ΣΊΣΥΦΟΣ", "a1b2 c_d", "\xff\xfethe", "supercalifragilisticexpialidocious-word and", "Ǆ ǅ ǆ KELVIN\u212a"} {
		checkDominant(t, s)
	}
	if _, err := corpus.Locate(corpus.DatasetsEnv, "datasets"); err != nil {
		return
	}
	for _, a := range corpus.RSSArticles(t, 5000) {
		checkDominant(t, a.Title+"\n"+a.Content)
	}
}

func FuzzDominantLanguage(f *testing.F) {
	for _, s := range langSamples {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkDominant(t, s) })
}
