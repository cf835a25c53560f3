package sources

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html/charset"
	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// DefaultMaxBodySize caps a feed body (after decompression).
const DefaultMaxBodySize = 16 << 20

// xmlDeclRe finds the encoding pseudo-attribute of an XML declaration at the
// start of a document.
var xmlDeclRe = regexp.MustCompile(`^\s*<\?xml\s[^>]*?\bencoding\s*=\s*["']([^"']{0,64})["']`)

// decodeBody turns a raw feed body into UTF-8 text the parsers can read:
// gzip (from a file or a double-encoding server) is undone, the charset is
// found (BOM, else the Content-Type charset, else the XML declaration, else
// UTF-8 with a windows-1252 fallback) and converted, the XML declaration is
// rewritten to say UTF-8 so the XML decoder does not convert again, and
// characters illegal in XML are dropped. It is idempotent. limit caps the
// decompressed size (<= 0: DefaultMaxBodySize). Errors are *FetchError
// without a URL.
func decodeBody(body []byte, contentType string, limit int64) ([]byte, error) {
	if limit <= 0 {
		limit = DefaultMaxBodySize
	}
	body, err := gunzip(body, limit)
	if err != nil {
		return nil, err
	}
	enc, explicitUTF8 := bomEncoding(body)
	if enc == nil && !explicitUTF8 {
		enc, explicitUTF8, err = labelledEncoding(body, contentType)
		if err != nil {
			return nil, err
		}
	}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		body = body[3:]
	}
	if enc == nil && !utf8.Valid(body) {
		if explicitUTF8 || hasMultibyteUTF8(body) {
			body = bytes.ToValidUTF8(body, []byte("\uFFFD"))
		} else {
			enc = charmap.Windows1252
		}
	}
	if enc != nil {
		out, err := enc.NewDecoder().Bytes(body)
		if err != nil {
			return nil, newErr(ReasonCharset, "", fmt.Errorf("decode: %w", err))
		}
		body = bytes.ToValidUTF8(out, []byte("\uFFFD"))
	}
	if m := xmlDeclRe.FindSubmatchIndex(body); m != nil && !isUTF8Label(string(body[m[2]:m[3]])) {
		out := make([]byte, 0, len(body))
		out = append(out, body[:m[2]]...)
		out = append(out, "UTF-8"...)
		body = append(out, body[m[3]:]...)
	}
	return dropIllegalXMLChars(body), nil
}

// gunzip decompresses body if it starts with the gzip magic.
func gunzip(body []byte, limit int64) ([]byte, error) {
	if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
		return body, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return nil, newErr(ReasonParse, "", fmt.Errorf("gzip: %w", err))
	}
	out, err := io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, newErr(ReasonParse, "", fmt.Errorf("gzip: %w", err))
	}
	if int64(len(out)) > limit {
		return nil, newErr(ReasonTooLarge, "", fmt.Errorf("gzip body over %d bytes", limit))
	}
	return out, nil
}

// bomEncoding recognises a byte order mark or, without one, the UTF-16/32
// patterns of "<?" that XML 1.0 Appendix F uses for autodetection.
func bomEncoding(b []byte) (enc encoding.Encoding, utf8BOM bool) {
	switch {
	case bytes.HasPrefix(b, []byte("\xef\xbb\xbf")):
		return nil, true
	case bytes.HasPrefix(b, []byte("\x00\x00\xfe\xff")):
		return utf32.UTF32(utf32.BigEndian, utf32.UseBOM), false
	case bytes.HasPrefix(b, []byte("\xff\xfe\x00\x00")):
		return utf32.UTF32(utf32.LittleEndian, utf32.UseBOM), false
	case bytes.HasPrefix(b, []byte("\xfe\xff")):
		return unicode.UTF16(unicode.BigEndian, unicode.UseBOM), false
	case bytes.HasPrefix(b, []byte("\xff\xfe")):
		return unicode.UTF16(unicode.LittleEndian, unicode.UseBOM), false
	case bytes.HasPrefix(b, []byte("\x00\x00\x00<")):
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM), false
	case bytes.HasPrefix(b, []byte("<\x00\x00\x00")):
		return utf32.UTF32(utf32.LittleEndian, utf32.IgnoreBOM), false
	case bytes.HasPrefix(b, []byte("\x00<\x00?")):
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM), false
	case bytes.HasPrefix(b, []byte("<\x00?\x00")):
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM), false
	}
	return nil, false
}

// labelledEncoding picks the encoding from the Content-Type charset, else
// the XML declaration. A label that names UTF-8 for a body that is not
// UTF-8 gives way to the next label (servers often send a blanket
// charset=utf-8). A nil encoding means UTF-8.
func labelledEncoding(body []byte, contentType string) (encoding.Encoding, bool, error) {
	var labels []string
	if _, params, err := mime.ParseMediaType(contentType); err == nil && params["charset"] != "" {
		labels = append(labels, params["charset"])
	}
	if m := xmlDeclRe.FindSubmatch(body); m != nil && len(m[1]) > 0 {
		labels = append(labels, string(m[1]))
	}
	valid := utf8.Valid(body)
	var unknown []string
	for _, l := range labels {
		if isUTF8Label(l) {
			if valid {
				return nil, true, nil
			}
			continue
		}
		if isWideLabel(l) {
			// UTF-16/32 without a BOM or "<?" pattern: the body is
			// 8-bit, the label lies.
			continue
		}
		if e, name := charset.Lookup(l); e != nil && name != "replacement" {
			return e, false, nil
		}
		unknown = append(unknown, l)
	}
	if len(unknown) > 0 && !valid {
		return nil, false, newErr(ReasonCharset, "", fmt.Errorf("unknown charset %q", unknown[0]))
	}
	return nil, false, nil
}

func isUTF8Label(l string) bool {
	switch strings.ToLower(strings.TrimSpace(l)) {
	case "utf-8", "utf8", "unicode-1-1-utf-8":
		return true
	}
	return false
}

func isWideLabel(l string) bool {
	l = strings.ToLower(strings.TrimSpace(l))
	return strings.HasPrefix(l, "utf-16") || strings.HasPrefix(l, "utf-32") ||
		strings.HasPrefix(l, "ucs-") || l == "unicode" || l == "iso-10646-ucs-2"
}

// hasMultibyteUTF8 reports whether b holds at least one valid multi-byte
// UTF-8 sequence: then it is UTF-8 with a few broken bytes rather than a
// legacy 8-bit encoding.
func hasMultibyteUTF8(b []byte) bool {
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if r != utf8.RuneError && n > 1 {
			return true
		}
		b = b[n:]
	}
	return false
}

// dropIllegalXMLChars removes C0 controls other than tab, LF and CR, and
// U+FFFE/U+FFFF, which XML 1.0 forbids; b must be valid UTF-8.
func dropIllegalXMLChars(b []byte) []byte {
	illegal := func(r rune) bool {
		return (r < 0x20 && r != '\t' && r != '\n' && r != '\r') || r == 0xFFFE || r == 0xFFFF
	}
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if illegal(r) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, i, len(b))
	copy(out, b[:i])
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if !illegal(r) {
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}
