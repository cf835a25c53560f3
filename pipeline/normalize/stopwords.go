package normalize

import (
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// stopwordLangs are the languages whose commonest words the package knows
// (see dominantLanguage); a language's index is its bit in stopwords.
// Close neighbours (da and nb, cs and sk, es, ca and pt, hr) are there
// also so that they can tell each other apart or, when they cannot, leave
// the decision to whatlanggo.
var stopwordLangs = [...]string{
	"en", "de", "fr", "es", "it", "pt", "nl", "pl", "sv", "da", "nb",
	"ru", "uk", "cs", "sk", "ca", "ro", "hr",
}

// stopwordLists are the commonest function words of each language in
// news prose, in lower case. A word may belong to several languages.
// Elided articles ("l'", "d'") are split off as words of their own.
var stopwordLists = [len(stopwordLangs)][]string{
	{"the", "and", "of", "to", "is", "that", "for", "with", "was", "on", "are", "as", "by", "at", "from", "this", "have", "has", "said", "it", "be", "were", "which", "will", "not", "but", "they", "his", "their", "been", "would", "an", "in", "a"},
	{"der", "die", "und", "das", "ist", "nicht", "ein", "eine", "zu", "den", "mit", "von", "sich", "des", "auf", "für", "dem", "im", "auch", "es", "wird", "werden", "sind", "wurde", "nach", "bei", "aus", "wie", "oder", "hat", "einen", "einer", "dass", "zum", "zur", "in"},
	{"le", "la", "les", "et", "des", "est", "une", "un", "du", "dans", "pour", "que", "qui", "sur", "pas", "au", "avec", "ce", "il", "sont", "par", "plus", "ont", "été", "aux", "cette", "elle", "de", "en", "l", "d", "a"},
	{"el", "la", "los", "las", "y", "del", "que", "en", "un", "una", "por", "con", "para", "es", "se", "al", "lo", "como", "más", "pero", "sus", "fue", "ha", "este", "esta", "de", "a"},
	{"il", "di", "che", "la", "è", "e", "per", "un", "una", "del", "della", "dell", "non", "sono", "con", "si", "le", "da", "gli", "al", "nel", "anche", "alla", "ha", "dei", "hanno", "l", "in", "a"},
	{"o", "os", "as", "de", "do", "da", "dos", "das", "e", "que", "um", "uma", "para", "com", "não", "é", "em", "no", "na", "por", "se", "mais", "foi", "ao", "pela", "pelo", "a"},
	{"de", "het", "een", "en", "van", "is", "dat", "niet", "op", "te", "zijn", "met", "voor", "die", "er", "ook", "aan", "werd", "wordt", "bij", "naar", "als", "maar", "om", "hebben", "heeft", "in"},
	{"i", "w", "z", "na", "się", "nie", "do", "że", "to", "jest", "o", "jak", "po", "przez", "od", "za", "dla", "są", "jego", "który", "która", "już", "tak", "ale", "oraz", "ze"},
	{"och", "att", "det", "som", "en", "på", "är", "av", "för", "med", "till", "den", "har", "inte", "om", "ett", "var", "de", "men", "efter", "kan", "blir", "sa", "i"},
	{"og", "i", "at", "det", "er", "en", "på", "til", "af", "for", "med", "har", "de", "ikke", "den", "et", "som", "var", "om", "men", "fra", "sig", "kan", "efter", "hvis", "blev", "også", "sagde"},
	{"og", "i", "er", "det", "som", "en", "på", "til", "av", "for", "med", "har", "de", "ikke", "den", "et", "var", "om", "men", "fra", "seg", "kan", "etter", "dersom", "ble", "også", "å", "sa"},
	{"и", "в", "не", "на", "что", "с", "по", "как", "это", "он", "к", "из", "о", "от", "за", "для", "был", "так", "его", "но", "также", "уже", "который", "которые"},
	{"і", "в", "у", "не", "на", "що", "з", "та", "до", "як", "це", "від", "за", "для", "був", "його", "але", "також", "вже", "й", "про", "який", "які"},
	{"a", "v", "se", "na", "je", "že", "o", "s", "z", "do", "to", "k", "ve", "pro", "by", "jsou", "jako", "ale", "za", "od", "po", "který", "která", "také", "již", "při"},
	{"a", "v", "sa", "na", "je", "že", "o", "s", "z", "do", "to", "k", "vo", "pre", "by", "sú", "ako", "ale", "za", "od", "po", "ktorý", "ktorá", "tiež", "už", "aj", "pri"},
	{"el", "la", "els", "les", "i", "de", "del", "que", "en", "un", "una", "per", "amb", "és", "es", "al", "als", "no", "com", "més", "va", "van", "però", "d", "l"},
	{"și", "în", "de", "la", "a", "cu", "pe", "că", "nu", "din", "o", "un", "care", "mai", "au", "pentru", "este", "sau", "ar", "al", "ale", "fost", "unei", "unui", "spus"},
	{"i", "u", "je", "na", "se", "da", "za", "su", "s", "od", "koji", "koja", "što", "iz", "o", "a", "ne", "kao", "ali", "te", "bi", "do", "po", "već", "također"},
}

// stopwords maps each word to the set (bit mask) of languages it belongs
// to. Built once, never changed.
var stopwords = func() map[string]uint32 {
	m := map[string]uint32{}
	for i, words := range stopwordLists {
		for _, w := range words {
			m[w] |= 1 << i
		}
	}
	return m
}()

// maxStopwordBytes is the length of the longest stopword: a longer word
// is none.
var maxStopwordBytes = func() int {
	n := 0
	for _, words := range stopwordLists {
		for _, w := range words {
			n = max(n, len(w))
		}
	}
	return n
}()

// isCyrillicLang reports the known languages written in Cyrillic.
func isCyrillicLang(i int) bool { return stopwordLangs[i] == "ru" || stopwordLangs[i] == "uk" }

// dominantLanguage returns the known language whose commonest words
// clearly dominate sample, "" when none does. Clearly means: at least
// 90% of the letters are in the language's script, its words make up at
// least 15% of the words, and they outnumber those of the runner-up by
// at least 5% of the words and by a fifth.
func dominantLanguage(sample string) (lang string, hits [len(stopwordLangs)]int, words int) {
	letters, latin, cyrillic := 0, 0, 0
	var buf [24]byte
	for i := 0; i < len(sample); {
		if c := sample[i]; c < utf8.RuneSelf {
			if !isASCIILetter(c) {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(sample[i:]); !unicode.IsLetter(r) {
			i += size
			continue
		}
		n, long := 0, false
		for i < len(sample) {
			if c := sample[i]; c < utf8.RuneSelf {
				// ASCII, the common case: a letter is Latin, lower case
				// is one bit away.
				if !isASCIILetter(c) {
					break
				}
				i++
				letters++
				latin++
				if n+1 > len(buf) {
					long = true
					continue
				}
				buf[n] = c | 0x20
				n++
				continue
			}
			r, size := utf8.DecodeRuneInString(sample[i:])
			if !unicode.IsLetter(r) {
				break
			}
			i += size
			letters++
			switch {
			case unicode.Is(unicode.Latin, r):
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
		if long || n > maxStopwordBytes {
			continue
		}
		if mask := stopwords[string(buf[:n])]; mask != 0 {
			for ; mask != 0; mask &= mask - 1 {
				hits[bits.TrailingZeros32(mask)]++
			}
		}
	}
	return dominant(hits, words, letters, latin, cyrillic), hits, words
}

// dominant is the decision of dominantLanguage from its counts: the
// common-word hits per language, the words, and the letters in all, in
// Latin and in Cyrillic script.
func dominant(hits [len(stopwordLangs)]int, words, letters, latin, cyrillic int) string {
	best, second := -1, 0
	for k, h := range hits {
		if best < 0 || h > hits[best] {
			if best >= 0 {
				second = hits[best]
			}
			best = k
		} else if h > second {
			second = h
		}
	}
	inScript := latin
	if isCyrillicLang(best) {
		inScript = cyrillic
	}
	h := hits[best]
	if words == 0 || inScript*10 < letters*9 || h*100 < words*15 ||
		(h-second)*100 < words*5 || h*5 < second*6 {
		return ""
	}
	return stopwordLangs[best]
}

// consistentWith reports whether the sample's common words allow lang: a
// language the package does not know is allowed; a known one needs at
// least 5% of the words to be its common words.
func consistentWith(lang string, hits [len(stopwordLangs)]int, words int) bool {
	for k, l := range stopwordLangs {
		if l == lang {
			return hits[k]*100 >= words*5
		}
	}
	return true
}
