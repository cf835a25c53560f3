package normalize

import (
	"bytes"
	"hash/maphash"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/internal/fold"
)

// maxTweetRunes bounds a paragraph that can be embedded-tweet residue: a
// tweet is at most 280 characters, plus a link.
const maxTweetRunes = 320

// paraKey hashes the folded words of a paragraph; ok is false when it has
// none. Two paragraphs with the same words (whatever their case,
// diacritics, apostrophes or punctuation) have the same key: the words of
// fold.Words, hashed as they come instead of built into a slice (this is
// the hot loop of the stage). TestParaKeyMatchesFold holds it to
// fold.Words.
func paraKey(seed maphash.Seed, s string) (key uint64, ok bool) {
	var h maphash.Hash
	h.SetSeed(seed)
	var buf [64]byte
	for start, end := range fold.Spans(s) {
		w := fold.AppendWord(buf[:0], s[start:end])
		if len(w) == 0 {
			continue // nothing but marks: not a word
		}
		h.Write(w)
		h.WriteByte(0)
		ok = true
	}
	return h.Sum64(), ok
}

// sameWords reports whether s has words and, folded, they are the words
// of title in order: what equal paraKeys mean, found without hashing all
// of s (it stops at the first word that differs).
func sameWords(s, title string) bool {
	var stack [256]byte
	want := stack[:0]
	var buf [64]byte
	for start, end := range fold.Spans(title) {
		if w := fold.AppendWord(buf[:0], title[start:end]); len(w) > 0 {
			want = append(append(want, w...), 0) // no folded word holds a 0 byte
		}
	}
	if len(want) == 0 {
		return false
	}
	n := 0
	for start, end := range fold.Spans(s) {
		w := fold.AppendWord(buf[:0], s[start:end])
		if len(w) == 0 {
			continue // nothing but marks: not a word
		}
		j := bytes.IndexByte(want, 0)
		if j < 0 || !bytes.Equal(want[:j], w) {
			return false
		}
		want = want[j+1:]
		n++
	}
	return n > 0 && len(want) == 0
}

// cleanParagraphs removes from text (paragraphs separated by "\n\n"):
// embedded-tweet residue, paragraphs that repeat the title, and repeated
// paragraphs (the first occurrence is kept). Paragraphs are compared by
// their folded words. It returns text itself when nothing was removed.
func cleanParagraphs(seed maphash.Seed, text, title string) string {
	if text == "" {
		return text
	}
	paras := strings.Split(text, "\n\n")
	drop := make([]bool, len(paras))
	dropped := markTweetResidue(paras, drop)

	if len(paras) == 1 {
		// The common case (a feed's description): no other paragraph to
		// repeat, so only the title can make it go, and comparing the
		// words stops at the first that differs instead of hashing them
		// all.
		if dropped || sameWords(paras[0], title) {
			return ""
		}
		return text
	}
	titleKey, hasTitle := paraKey(seed, title)
	seen := make(map[uint64]struct{}, len(paras))
	for i, p := range paras {
		if drop[i] {
			continue
		}
		k, ok := paraKey(seed, p)
		if !ok {
			continue // no words (a separator such as "* * *"): keep
		}
		if _, dup := seen[k]; dup || hasTitle && k == titleKey {
			drop[i] = true
			dropped = true
			continue
		}
		seen[k] = struct{}{}
	}
	if !dropped {
		return text
	}
	var b strings.Builder
	b.Grow(len(text))
	for i, p := range paras {
		if drop[i] {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(p)
	}
	return b.String()
}

// markTweetResidue marks the paragraphs that are what is left of an
// embedded tweet once its markup is gone, and reports whether it marked
// any. It is deliberately narrow:
//
//   - a signature line "— Name (@handle) Month D, YYYY";
//   - a short paragraph (a tweet's length) ending with a t.co or
//     pic.twitter.com link, or holding such a link and an @handle;
//   - up to two short paragraphs between such a tweet-text paragraph and
//     the signature that follows it (the rest of the tweet).
func markTweetResidue(paras []string, drop []bool) bool {
	marked := false
	for i, p := range paras {
		if isTweetSignature(p) {
			drop[i], marked = true, true
			continue
		}
		if !isTweetText(p) {
			continue
		}
		drop[i], marked = true, true
		for j := i + 1; j < len(paras) && j <= i+3; j++ {
			if isTweetSignature(paras[j]) {
				for k := i + 1; k < j; k++ {
					drop[k] = true
				}
				break
			}
			if utf8.RuneCountInString(paras[j]) > maxTweetRunes {
				break
			}
		}
	}
	return marked
}

func hasTweetLink(p string) bool {
	return strings.Contains(p, "://t.co/") || strings.Contains(p, "pic.twitter.com/") ||
		strings.Contains(p, "pic.x.com/")
}

// isTweetText reports a tweet's text: short, with a t.co or
// pic.twitter.com link that ends it or comes with an @handle.
func isTweetText(p string) bool {
	if !hasTweetLink(p) || utf8.RuneCountInString(p) > maxTweetRunes {
		return false
	}
	if last := p[strings.LastIndexByte(p, ' ')+1:]; hasTweetLink(last) {
		return true
	}
	for i := 0; i < len(p); i++ {
		if p[i] == '@' && (i == 0 || p[i-1] == ' ' || p[i-1] == '(') && i+1 < len(p) && isHandleByte(p[i+1]) {
			return true
		}
	}
	return false
}

// isTweetSignature reports the attribution line of an embedded tweet:
// "— Name (@handle) Month D, YYYY" (the dash may be "-" or "–").
func isTweetSignature(p string) bool {
	if len(p) > 4*maxTweetRunes {
		return false
	}
	rest, ok := strings.CutPrefix(p, "—")
	if !ok {
		if rest, ok = strings.CutPrefix(p, "–"); !ok {
			if rest, ok = strings.CutPrefix(p, "-"); !ok {
				return false
			}
		}
	}
	if !strings.HasPrefix(rest, " ") {
		return false
	}
	i := strings.LastIndex(rest, "(@")
	if i < 0 {
		return false
	}
	j := strings.IndexByte(rest[i:], ')')
	if j < 0 {
		return false
	}
	handle := rest[i+2 : i+j]
	if handle == "" || len(handle) > 15 {
		return false
	}
	for k := 0; k < len(handle); k++ {
		if !isHandleByte(handle[k]) {
			return false
		}
	}
	date := strings.TrimSpace(rest[i+j+1:])
	_, err := time.Parse("January 2, 2006", date)
	return err == nil
}

func isHandleByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
