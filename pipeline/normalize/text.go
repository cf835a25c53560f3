package normalize

import (
	"bytes"
	"html"
	"strings"
	"unicode"
	"unicode/utf8"

	xhtml "golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/unicode/norm"
)

// HTMLToText returns the plain text of an HTML document or fragment: block
// elements become paragraph breaks, invisible and boilerplate elements
// (script, style, noscript, iframe, svg, template, head, nav, footer, aside,
// form, ...; a header outside article and main; any element with the hidden
// attribute, aria-hidden="true" or a page-chrome role such as navigation or
// banner) are dropped with their content, entities are decoded (an entity
// still visible after decoding, as in a double-encoded "&amp;amp;", is decoded
// once more), whitespace is collapsed within paragraphs, invalid UTF-8 and
// control characters are removed, and the result is in Unicode NFC.
// Paragraphs are separated by "\n\n"; the result has no leading or trailing
// whitespace.
func HTMLToText(s string) string {
	var c converter
	c.html(s, false)
	return c.result()
}

// ToText is HTMLToText for content that may be HTML or plain text. Content
// that holds no tag of a known HTML element, comment or doctype is plain
// text: its well-formed entities are decoded (twice, like HTML text), it
// is cleaned like HTML text, and it keeps its paragraphs. Blank lines
// separate paragraphs; a single newline joins two lines with a space when
// the block of lines is hard-wrapped prose (no line over 100 characters),
// unless the first line is short and ends a sentence or the second starts
// with a bullet. In a block with a longer line, as scraped text written
// one paragraph per line is, every line is a paragraph, unless it starts
// in lower case and the previous line did not end a sentence. Content
// that is entity-escaped HTML ("&lt;p&gt;...") is decoded and read as
// HTML.
func ToText(s string) string {
	var c converter
	c.content(s)
	return c.result()
}

// converter holds the buffers of one conversion; a Normalizer reuses them.
type converter struct {
	out      []byte      // the text being built
	input    []byte      // a copy of plain text input
	scratch  []byte      // entity decoding
	scratch2 []byte      // entity decoding, second pass
	stack    []atom.Atom // open elements (HTML), approximately
	lines    []line      // plain text lines
	linebuf  []byte      // cleaned plain text lines

	// skip is the index in stack of the element whose content is being
	// dropped, articleAt that of the outermost open article or main; -1
	// for none.
	skip, articleAt int

	oneLine   bool // paragraph breaks become spaces (titles)
	needBreak bool // a block boundary was seen since the last text
	needSpace bool // whitespace was seen since the last text
}

// size is about how many bytes the converter's buffers hold.
func (c *converter) size() int {
	return cap(c.out) + cap(c.input) + cap(c.scratch) + cap(c.scratch2) +
		4*cap(c.stack) + 24*cap(c.lines) + cap(c.linebuf)
}

type line struct {
	start, end int // in linebuf
	runes      int
}

func (c *converter) reset(oneLine bool) {
	c.out = c.out[:0]
	c.stack = c.stack[:0]
	c.skip, c.articleAt = -1, -1
	c.lines = c.lines[:0]
	c.linebuf = c.linebuf[:0]
	c.oneLine = oneLine
	c.needBreak = false
	c.needSpace = false
}

// result returns the text built so far in NFC.
func (c *converter) result() string {
	if norm.NFC.IsNormal(c.out) {
		return string(c.out)
	}
	return string(norm.NFC.Bytes(c.out))
}

// content converts HTML or plain text.
func (c *converter) content(s string) {
	if looksLikeHTML(s) {
		c.html(s, false)
		return
	}
	if strings.Contains(s, "&lt;") {
		if d := decodeEntities(s); looksLikeHTML(d) {
			c.html(d, false)
			return
		}
	}
	c.plain(s, false)
}

// title converts a title: markup stripped, entities decoded, one line.
func (c *converter) title(s string) {
	if looksLikeHTML(s) {
		c.html(s, true)
		return
	}
	c.plain(s, true)
}

// breakPara records a paragraph boundary.
func (c *converter) breakPara() {
	if c.oneLine {
		c.needSpace = true
		return
	}
	c.needBreak = true
}

// writeText appends visible text: whitespace collapsed, invalid UTF-8 and
// control characters dropped.
func (c *converter) writeText(b []byte) {
	for i := 0; i < len(b); {
		// Fast path: a run of printable ASCII other than space.
		if b[i] > ' ' && b[i] < 0x7f {
			j := i + 1
			for j < len(b) && b[j] > ' ' && b[j] < 0x7f {
				j++
			}
			c.separate()
			c.out = append(c.out, b[i:j]...)
			i = j
			continue
		}
		r, size := rune(b[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(b[i:])
		}
		start := i
		i += size
		switch {
		case isSpace(r):
			c.needSpace = true
			continue
		case dropRune(r):
			continue
		}
		c.separate()
		c.out = append(c.out, b[start:i]...)
	}
}

// separate writes the paragraph break or space pending before new text.
func (c *converter) separate() {
	if len(c.out) > 0 {
		if c.needBreak {
			c.out = append(c.out, '\n', '\n')
		} else if c.needSpace {
			c.out = append(c.out, ' ')
		}
	}
	c.needBreak, c.needSpace = false, false
}

// writeEntityText writes text that has been HTML-decoded once: entities
// still visible in it (double encoding) are decoded once more.
func (c *converter) writeEntityText(b []byte) {
	if bytes.IndexByte(b, '&') >= 0 {
		c.scratch = appendDecoded(c.scratch[:0], b)
		b = c.scratch
	}
	c.writeText(b)
}

// isSpace reports whitespace, which is collapsed.
func isSpace(r rune) bool {
	if r < utf8.RuneSelf {
		switch r {
		case ' ', '\t', '\n', '\v', '\f', '\r':
			return true
		}
		return false
	}
	return unicode.IsSpace(r)
}

// dropRune reports characters removed from text: control characters,
// invisible format characters that only get in the way of matching (soft
// hyphen, zero-width space, BOM, bidi controls), and U+FFFD, which marks
// bytes already lost. ZWJ and ZWNJ are kept: emoji and some scripts need
// them.
func dropRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r >= 0x80 && r < 0xa0:
		return true
	case r < 0xad:
		return false
	}
	switch r {
	case 0xad, 0x200b, 0x200e, 0x200f, 0x2060, 0x2061, 0x2062, 0x2063, 0x2064,
		0xfeff, 0xfffd, 0xfffe, 0xffff:
		return true
	}
	return (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
}

// --- HTML ---

// maxEndTagSearch bounds how deep an end tag looks for its start tag in the
// open-element stack, so that malformed input cannot make conversion
// quadratic.
const maxEndTagSearch = 64

type tagKind uint8

const (
	kindInline tagKind = iota
	kindBlock          // paragraph break before and after
	kindCell           // a space before and after
	kindSkip           // content dropped; also a paragraph break
)

func kindOf(a atom.Atom) tagKind {
	switch a {
	case atom.Address, atom.Article, atom.Blockquote, atom.Body, atom.Br,
		atom.Caption, atom.Center, atom.Dd, atom.Details, atom.Dialog,
		atom.Dir, atom.Div, atom.Dl, atom.Dt, atom.Fieldset, atom.Figcaption,
		atom.Figure, atom.H1, atom.H2, atom.H3, atom.H4, atom.H5, atom.H6,
		atom.Header, atom.Hgroup, atom.Hr, atom.Html, atom.Legend, atom.Li,
		atom.Main, atom.Menu, atom.Ol, atom.P, atom.Pre, atom.Section,
		atom.Search, atom.Summary, atom.Table, atom.Tbody, atom.Tfoot,
		atom.Thead, atom.Tr, atom.Ul, atom.Frameset, atom.Listing:
		return kindBlock
	case atom.Td, atom.Th, atom.Img, atom.Input:
		return kindCell
	case atom.Script, atom.Style, atom.Noscript, atom.Iframe, atom.Svg,
		atom.Math, atom.Template, atom.Head, atom.Title, atom.Nav,
		atom.Footer, atom.Aside, atom.Form, atom.Button, atom.Select,
		atom.Textarea, atom.Object, atom.Applet, atom.Canvas, atom.Audio,
		atom.Video, atom.Map, atom.Noembed, atom.Noframes, atom.Frame,
		atom.Plaintext, atom.Xmp, atom.Datalist:
		return kindSkip
	}
	return kindInline
}

// isVoid reports elements that have no end tag and no content.
func isVoid(a atom.Atom) bool {
	switch a {
	case atom.Area, atom.Base, atom.Br, atom.Col, atom.Embed, atom.Hr,
		atom.Img, atom.Input, atom.Keygen, atom.Link, atom.Meta, atom.Param,
		atom.Source, atom.Track, atom.Wbr, atom.Basefont, atom.Bgsound,
		atom.Image:
		return true
	}
	return false
}

// isRawText reports elements whose content the tokenizer reads as raw
// text even when the start tag is written self-closing.
func isRawText(a atom.Atom) bool {
	switch a {
	case atom.Script, atom.Style, atom.Textarea, atom.Title, atom.Iframe,
		atom.Noembed, atom.Noframes, atom.Noscript, atom.Plaintext, atom.Xmp:
		return true
	}
	return false
}

// inHead reports elements that may appear in <head> without ending it.
func inHead(a atom.Atom) bool {
	switch a {
	case atom.Base, atom.Basefont, atom.Bgsound, atom.Link, atom.Meta,
		atom.Title, atom.Style, atom.Script, atom.Noscript, atom.Template,
		atom.Head:
		return true
	}
	return false
}

// closesP reports start tags that implicitly end an open <p>.
func closesP(a atom.Atom) bool {
	switch a {
	case atom.Address, atom.Article, atom.Aside, atom.Blockquote,
		atom.Details, atom.Dialog, atom.Div, atom.Dl, atom.Fieldset,
		atom.Figcaption, atom.Figure, atom.Footer, atom.Form, atom.H1,
		atom.H2, atom.H3, atom.H4, atom.H5, atom.H6, atom.Header,
		atom.Hgroup, atom.Hr, atom.Main, atom.Menu, atom.Nav, atom.Ol,
		atom.P, atom.Pre, atom.Section, atom.Table, atom.Ul, atom.Li,
		atom.Dd, atom.Dt:
		return true
	}
	return false
}

// html converts HTML with a streaming tokenizer and an approximate stack
// of open elements, enough to know when a dropped element ends even if its
// end tag is missing but an ancestor's is not.
func (c *converter) html(s string, oneLine bool) {
	c.reset(oneLine)
	z := xhtml.NewTokenizer(strings.NewReader(s))
	for {
		tt := z.Next()
		switch tt {
		case xhtml.ErrorToken:
			return // io.EOF: the tokenizer reads from a string
		case xhtml.TextToken:
			if c.skip < 0 {
				c.writeEntityText(z.Text())
			}
		case xhtml.StartTagToken, xhtml.SelfClosingTagToken:
			raw := z.Raw()
			a := tagAtom(raw)
			if a == 0 {
				continue // custom or unknown element: inline, not tracked
			}
			if c.skip >= 0 && c.stack[c.skip] == atom.Head && !inHead(a) {
				c.truncate(c.skip) // body content ends an unclosed <head>
			}
			kind := kindOf(a)
			switch kind {
			case kindBlock, kindSkip:
				c.breakPara()
			case kindCell:
				c.needSpace = true
			}
			if isVoid(a) || (tt == xhtml.SelfClosingTagToken && !isRawText(a)) {
				continue
			}
			c.autoClose(a)
			drop := false
			if c.skip < 0 {
				// TagAttr copies every attribute value: ask only when
				// the raw tag may hold an attribute skipByAttr reads.
				drop = kind == kindSkip || a == atom.Header && c.articleAt < 0 ||
					(containsFoldASCII(raw, "hidden") || containsFoldASCII(raw, "role")) && skipByAttr(z)
			}
			c.stack = append(c.stack, a)
			if drop {
				c.skip = len(c.stack) - 1
			}
			if (a == atom.Article || a == atom.Main) && c.articleAt < 0 {
				c.articleAt = len(c.stack) - 1
			}
		case xhtml.EndTagToken:
			a := tagAtom(z.Raw())
			if a == 0 {
				continue
			}
			switch kindOf(a) {
			case kindBlock, kindSkip:
				c.breakPara()
			case kindCell:
				c.needSpace = true
			}
			for i, n := len(c.stack)-1, 0; i >= 0 && n < maxEndTagSearch; i, n = i-1, n+1 {
				if c.stack[i] == a {
					c.truncate(i)
					break
				}
			}
		}
	}
}

// truncate closes the open elements from index n of the stack up.
func (c *converter) truncate(n int) {
	c.stack = c.stack[:n]
	if c.skip >= n {
		c.skip = -1
	}
	if c.articleAt >= n {
		c.articleAt = -1
	}
}

// tagAtom returns the atom of the tag name in a raw start or end tag
// ("<P class=x>", "</p >"), 0 for an unknown name. It reads the name as
// the tokenizer does (up to whitespace, "/" or ">", ASCII lower-cased)
// without the copy Tokenizer.TagName makes.
func tagAtom(raw []byte) atom.Atom {
	i := 1 // "<"
	if i < len(raw) && raw[i] == '/' {
		i++
	}
	var buf [16]byte
	n := 0
	for ; i < len(raw); i++ {
		ch := raw[i]
		switch ch {
		case ' ', '\n', '\r', '\t', '\f', '/', '>':
			return atom.Lookup(buf[:n])
		}
		if n == len(buf) {
			return 0
		}
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		buf[n] = ch
		n++
	}
	return atom.Lookup(buf[:n])
}

// containsFoldASCII reports whether b contains the lower-case ASCII word
// w, ignoring ASCII case.
func containsFoldASCII(b []byte, w string) bool {
	for i := 0; i+len(w) <= len(b); i++ {
		if b[i]|0x20 != w[0] {
			continue
		}
		j := 1
		for j < len(w) && b[i+j]|0x20 == w[j] {
			j++
		}
		if j == len(w) {
			return true
		}
	}
	return false
}

// skipByAttr reports elements hidden by an attribute or marked by their
// role as navigation or page chrome.
func skipByAttr(z *xhtml.Tokenizer) bool {
	for {
		k, v, more := z.TagAttr()
		if k == nil {
			return false
		}
		switch string(k) {
		case "hidden":
			return true
		case "aria-hidden":
			if string(v) == "true" {
				return true
			}
		case "role":
			switch string(v) {
			case "navigation", "banner", "contentinfo", "complementary", "dialog", "alert", "search", "menu", "menubar":
				return true
			}
		}
		if !more {
			return false
		}
	}
}

// autoClose closes the elements that the start tag a implicitly ends.
func (c *converter) autoClose(a atom.Atom) {
	top := func() atom.Atom {
		if len(c.stack) == 0 {
			return 0
		}
		return c.stack[len(c.stack)-1]
	}
	pop := func() { c.truncate(len(c.stack) - 1) }
	if closesP(a) && top() == atom.P {
		pop()
	}
	switch a {
	case atom.Li:
		if top() == atom.Li {
			pop()
		}
	case atom.Dt, atom.Dd:
		if t := top(); t == atom.Dt || t == atom.Dd {
			pop()
		}
	case atom.Tr:
		if t := top(); t == atom.Td || t == atom.Th {
			pop()
		}
		if top() == atom.Tr {
			pop()
		}
	case atom.Td, atom.Th:
		if t := top(); t == atom.Td || t == atom.Th {
			pop()
		}
	case atom.Option:
		if top() == atom.Option {
			pop()
		}
	}
}

// looksLikeHTML reports whether s holds markup: a comment, a doctype, or a
// start or end tag of a known HTML element ("a <b> c" counts; "x < y" and
// "I <3 you" do not).
func looksLikeHTML(s string) bool {
	for i := 0; ; {
		j := strings.IndexByte(s[i:], '<')
		if j < 0 {
			return false
		}
		i += j + 1
		if i >= len(s) {
			return false
		}
		rest := s[i:]
		if rest[0] == '!' {
			if strings.HasPrefix(rest, "!--") || hasPrefixFold(rest, "!doctype") {
				return true
			}
			continue
		}
		if rest[0] == '/' {
			rest = rest[1:]
		}
		var name [16]byte
		n := 0
		for n < len(rest) && n < len(name) && isASCIIAlnum(rest[n]) {
			name[n] = rest[n] | 0x20 // ASCII lower case (digits unaffected)
			n++
		}
		if n == 0 || n == len(name) || !isASCIILetter(rest[0]) {
			continue
		}
		if n < len(rest) {
			switch rest[n] {
			case '>', ' ', '/', '\t', '\n', '\r', '\f':
			default:
				continue
			}
		}
		if atom.Lookup(name[:n]) != 0 {
			return true
		}
	}
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

func isASCIILetter(b byte) bool { return (b|0x20) >= 'a' && (b|0x20) <= 'z' }
func isASCIIAlnum(b byte) bool  { return isASCIILetter(b) || (b >= '0' && b <= '9') }

// --- entities ---

// decodeEntities decodes the well-formed entities of s ("&amp;",
// "&#8217;", "&#x2019;"); a bare "&" and unknown names stay as they are.
func decodeEntities(s string) string {
	if strings.IndexByte(s, '&') < 0 {
		return s
	}
	return string(appendDecoded(nil, []byte(s)))
}

// appendDecoded appends b to dst with its well-formed entities decoded.
// Unlike an HTML parser it ignores entities without the final ";", so
// plain text such as "AT&T" or "a=1&not=2" is left alone.
func appendDecoded(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '&')
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(dst, b[:i]...)
		b = b[i:]
		n := entityLen(b)
		if n == 0 {
			dst = append(dst, '&')
			b = b[1:]
			continue
		}
		ent := string(b[:n])
		if dec := html.UnescapeString(ent); dec != ent {
			dst = append(dst, dec...)
		} else {
			dst = append(dst, ent...)
		}
		b = b[n:]
	}
}

// entityLen returns the length of the entity at the start of b ("&name;",
// "&#123;", "&#x1F;"), 0 if there is none.
func entityLen(b []byte) int {
	const maxLen = 33 // "&" + longest entity name (32) or number
	if len(b) < 3 || b[0] != '&' {
		return 0
	}
	i := 1
	if b[1] == '#' {
		i = 2
		hex := false
		if i < len(b) && (b[i] == 'x' || b[i] == 'X') {
			hex = true
			i++
		}
		start := i
		for i < len(b) && i < maxLen && (b[i] >= '0' && b[i] <= '9' || hex && (b[i]|0x20) >= 'a' && (b[i]|0x20) <= 'f') {
			i++
		}
		if i == start {
			return 0
		}
	} else {
		if !isASCIILetter(b[1]) {
			return 0
		}
		for i < len(b) && i < maxLen && isASCIIAlnum(b[i]) {
			i++
		}
	}
	if i < len(b) && b[i] == ';' {
		return i + 1
	}
	return 0
}

// --- plain text ---

// maxWrappedLine is the longest line (in runes) that hard-wrapped text
// has; a block with a longer line is written one paragraph per line.
const maxWrappedLine = 100

// plain converts plain text. Blank lines separate paragraphs. Within a
// block of non-blank lines, single newlines are read as follows:
//
//   - if every line is at most maxWrappedLine runes, the block is
//     hard-wrapped prose: lines are joined with spaces, except that a
//     short line (under 60% of the block's longest) ending a sentence ends
//     a paragraph, and a line starting with a bullet starts one;
//   - otherwise (a longer line: one paragraph per line, as scraped text
//     often is) every line is a paragraph, except that a line starting
//     with a lower-case letter continues the previous one when that did
//     not end a sentence.
func (c *converter) plain(s string, oneLine bool) {
	c.reset(oneLine)
	c.input = append(c.input[:0], s...)
	b := c.input
	// Pass 1: clean every line into linebuf.
	for len(b) > 0 {
		i := bytes.IndexAny(b, "\r\n")
		var ln []byte
		if i < 0 {
			ln, b = b, nil
		} else {
			ln = b[:i]
			if b[i] == '\r' && i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			b = b[i+1:]
		}
		c.addLine(ln)
	}
	// Pass 2: blocks of non-blank lines.
	lines := c.lines
	for i := 0; i < len(lines); {
		if lines[i].runes == 0 {
			i++
			continue
		}
		j := i
		longest := 0
		for j < len(lines) && lines[j].runes > 0 {
			longest = max(longest, lines[j].runes)
			j++
		}
		c.writeBlock(lines[i:j], longest)
		i = j
	}
}

// addLine decodes entities (twice, as HTML text would be: the second time
// only what a double encoding left visible) and cleans one line.
func (c *converter) addLine(src []byte) {
	if bytes.IndexByte(src, '&') >= 0 {
		c.scratch = appendDecoded(c.scratch[:0], src)
		src = c.scratch
		if bytes.IndexByte(src, '&') >= 0 {
			c.scratch2 = appendDecoded(c.scratch2[:0], src)
			src = c.scratch2
		}
	}
	start := len(c.linebuf)
	space := false
	runes := 0
	for i := 0; i < len(src); {
		r, size := rune(src[i]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRune(src[i:])
		}
		st := i
		i += size
		switch {
		case isSpace(r):
			space = true
			continue
		case dropRune(r):
			continue
		}
		if space && len(c.linebuf) > start {
			c.linebuf = append(c.linebuf, ' ')
			runes++
		}
		space = false
		c.linebuf = append(c.linebuf, src[st:i]...)
		runes++
	}
	c.lines = append(c.lines, line{start: start, end: len(c.linebuf), runes: runes})
}

func (c *converter) writeBlock(block []line, longest int) {
	wrapped := longest <= maxWrappedLine
	c.breakPara()
	for k, l := range block {
		text := c.linebuf[l.start:l.end]
		if k > 0 {
			prev := c.linebuf[block[k-1].start:block[k-1].end]
			var join bool
			switch {
			case startsWithBullet(text):
				join = false
			case wrapped:
				join = !(endsSentence(prev) && block[k-1].runes*10 < longest*6)
			default:
				join = startsLower(text) && !endsSentence(prev)
			}
			if join {
				c.needSpace = true
			} else {
				c.breakPara()
			}
		}
		c.writeText(text)
	}
}

func startsLower(b []byte) bool {
	r, _ := utf8.DecodeRune(b)
	return unicode.IsLower(r)
}

func startsWithBullet(b []byte) bool {
	r, size := utf8.DecodeRune(b)
	switch r {
	case '-', '*', '•', '–', '—', '·', '▪', '►':
		return size < len(b) && b[size] == ' '
	}
	return false
}

func endsSentence(b []byte) bool {
	r, _ := utf8.DecodeLastRune(b)
	switch r {
	case '.', '!', '?', '…', ':', '"', '”', '’', '»', ')', '。', '！', '？':
		return true
	}
	return false
}
