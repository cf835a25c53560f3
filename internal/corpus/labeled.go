package corpus

import (
	"unicode/utf8"
)

// Labeled is one document of a text-classification set: its label, title
// and body. Split says which part of a fixed split it belongs to ("train",
// "test"), "" for sets without one.
type Labeled struct {
	ID    string
	Label string
	Title string
	Text  string
	Split string
}

// latin1 decodes b as UTF-8 when it is valid UTF-8, else as ISO 8859-1
// (every byte one rune), which is what the older corpora are written in.
func latin1(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
