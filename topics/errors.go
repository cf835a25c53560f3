package topics

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// SyntaxError is an invalid query or topic file. Line and Col (1-based,
// columns in characters) locate the problem in File, or in the query itself
// when there is no file; Offset is the byte offset inside the query (-1 when
// the problem is not inside a query, such as an unknown key).
//
// Error formats it as
//
//	file:line:col: topic "x": expected ..., found ...
type SyntaxError struct {
	File   string
	Topic  string
	Line   int
	Col    int
	Offset int
	// Expected and Found describe a syntax error; Msg replaces them for
	// other problems (a bad threshold, a duplicate name).
	Expected string
	Found    string
	Msg      string
}

func (e *SyntaxError) Error() string {
	var b strings.Builder
	loc := false
	if e.File != "" {
		b.WriteString(e.File)
		loc = true
	}
	if e.Line > 0 {
		if loc {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(e.Line))
		if e.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(e.Col))
		}
		loc = true
	}
	if loc {
		b.WriteString(": ")
	}
	if e.Topic != "" {
		b.WriteString("topic ")
		b.WriteString(strconv.Quote(e.Topic))
		b.WriteString(": ")
	}
	if e.Msg != "" {
		b.WriteString(e.Msg)
		return b.String()
	}
	b.WriteString("expected ")
	b.WriteString(e.Expected)
	if e.Found != "" {
		b.WriteString(", found ")
		b.WriteString(e.Found)
	}
	return b.String()
}

// lineCol returns the 1-based line and character column of byte offset off
// in s.
func lineCol(s string, off int) (line, col int) {
	off = min(max(off, 0), len(s))
	line = 1 + strings.Count(s[:off], "\n")
	lineStart := strings.LastIndexByte(s[:off], '\n') + 1
	return line, 1 + utf8.RuneCountInString(s[lineStart:off])
}
