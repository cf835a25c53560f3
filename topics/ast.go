package topics

import (
	"strconv"
	"strings"
)

// Op is the kind of a query node.
type Op uint8

// The node kinds of a parsed query.
const (
	OpTerm   Op = iota + 1 // a word or phrase (Words)
	OpAnd                  // every kid
	OpOr                   // any kid
	OpNot                  // not Kids[0]
	OpNear                 // Kids[0] and Kids[1] within N words (Ordered: in that order)
	OpField                // Kids[0] restricted to Field (title or text)
	OpSource               // the feed name contains Words
	OpLang                 // the article language is Lang
)

// Field is a part of an article a term can be restricted to.
type Field uint8

// Fields a query can scope terms to.
const (
	FieldTitle Field = 1 << iota
	FieldText
)

// String returns the field's name in query syntax ("title", "text").
func (f Field) String() string {
	switch f {
	case FieldTitle:
		return "title"
	case FieldText:
		return "text"
	}
	return "any"
}

// Word is one folded word of a term; Prefix marks a prefix wildcard
// (negotiat*).
type Word struct {
	Text   string
	Prefix bool
}

// Expr is a parsed query: a tree of operators over terms. Words are already
// folded (lower case, no diacritics or apostrophes, see internal/fold), so
// two queries that differ only in case or accents give the same tree.
type Expr struct {
	Op      Op
	Words   []Word // OpTerm, OpSource
	Lang    string // OpLang: lower-case language code (en, en-us)
	Field   Field  // OpField
	N       int    // OpNear: at most N words between the operands
	Ordered bool   // OpNear: ONEAR (left operand first)
	Kids    []*Expr
	// Pos is the byte offset in the query text where the node starts (for
	// messages; not part of the tree's identity).
	Pos int
}

// String prints the expression in canonical query syntax: operators upper
// case, every AND, OR and NOT explicit, words folded, parentheses only where
// precedence needs them. Parsing the result gives the same tree.
func (e *Expr) String() string {
	var b strings.Builder
	e.print(&b)
	return b.String()
}

// prec is the binding strength of a node when printed: higher binds tighter.
func (e *Expr) prec() int {
	switch e.Op {
	case OpOr:
		return 1
	case OpAnd:
		return 2
	case OpNear:
		return 3
	case OpNot:
		return 4
	}
	return 5 // terms, fields, source:, lang:
}

func (e *Expr) printKid(b *strings.Builder, k *Expr, min int) {
	if k.prec() < min {
		b.WriteByte('(')
		k.print(b)
		b.WriteByte(')')
		return
	}
	k.print(b)
}

func (e *Expr) print(b *strings.Builder) {
	switch e.Op {
	case OpTerm:
		printWords(b, e.Words)
	case OpSource:
		b.WriteString("source:")
		printWords(b, e.Words)
	case OpLang:
		b.WriteString("lang:")
		b.WriteString(e.Lang)
	case OpField:
		b.WriteString(e.Field.String())
		b.WriteByte(':')
		e.printKid(b, e.Kids[0], 5)
	case OpNot:
		b.WriteString("NOT ")
		e.printKid(b, e.Kids[0], 4)
	case OpAnd, OpOr:
		sep := " AND "
		if e.Op == OpOr {
			sep = " OR "
		}
		for i, k := range e.Kids {
			if i > 0 {
				b.WriteString(sep)
			}
			// Same-op kids never occur (the parser flattens them), so
			// a kid needs parentheses only when it binds more loosely.
			e.printKid(b, k, e.prec()+1)
		}
	case OpNear:
		// NEAR is left-associative: a left NEAR kid needs no parentheses.
		e.printKid(b, e.Kids[0], 3)
		b.WriteByte(' ')
		b.WriteString(nearOp(e.N, e.Ordered))
		b.WriteByte(' ')
		e.printKid(b, e.Kids[1], 4)
	}
}

func nearOp(n int, ordered bool) string {
	if ordered {
		return "ONEAR/" + strconv.Itoa(n)
	}
	return "NEAR/" + strconv.Itoa(n)
}

func printWords(b *strings.Builder, ws []Word) {
	quote := len(ws) != 1
	if quote {
		b.WriteByte('"')
	}
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w.Text)
		if w.Prefix {
			b.WriteByte('*')
		}
	}
	if quote {
		b.WriteByte('"')
	}
}

// Dump prints the tree as an S-expression, one node per parenthesis, for
// tests and debugging: (and (term "peace talks") (not (term uefa))).
func (e *Expr) Dump() string {
	var b strings.Builder
	e.dump(&b)
	return b.String()
}

func (e *Expr) dump(b *strings.Builder) {
	b.WriteByte('(')
	switch e.Op {
	case OpTerm:
		b.WriteString("term ")
		dumpWords(b, e.Words)
	case OpSource:
		b.WriteString("source ")
		dumpWords(b, e.Words)
	case OpLang:
		b.WriteString("lang ")
		b.WriteString(strconv.Quote(e.Lang))
	case OpField:
		b.WriteString(e.Field.String())
	case OpNot:
		b.WriteString("not")
	case OpAnd:
		b.WriteString("and")
	case OpOr:
		b.WriteString("or")
	case OpNear:
		if e.Ordered {
			b.WriteString("onear/")
		} else {
			b.WriteString("near/")
		}
		b.WriteString(strconv.Itoa(e.N))
	}
	for _, k := range e.Kids {
		b.WriteByte(' ')
		k.dump(b)
	}
	b.WriteByte(')')
}

func dumpWords(b *strings.Builder, ws []Word) {
	var s strings.Builder
	printWords(&s, ws)
	str := s.String()
	if len(ws) == 1 {
		str = `"` + str + `"`
	}
	b.WriteString(str)
}
