package topics

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wirewatch/wirewatch/internal/fold"
)

// Limits of the query language.
const (
	// MaxNear is the largest n of NEAR/n and ONEAR/n.
	MaxNear = 100
	// MinPrefix is the fewest characters before a prefix wildcard.
	MinPrefix = 3
	// maxDepth bounds nesting (parentheses, NOT chains, field scopes).
	maxDepth = 64
)

type tokKind uint8

const (
	tEOF tokKind = iota
	tLParen
	tRParen
	tWord
	tPhrase
	tAnd
	tOr
	tNot
	tMinus
	tNear
	tField
)

type token struct {
	kind    tokKind
	pos     int    // byte offset of the token
	text    string // raw text: a word, a phrase's content, a field name
	body    int    // phrase: byte offset of the content
	n       int    // NEAR/n
	ordered bool   // ONEAR
}

func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "end of query"
	case tLParen:
		return `"("`
	case tRParen:
		return `")"`
	case tWord:
		return "word " + strconv.Quote(t.text)
	case tPhrase:
		return "phrase " + strconv.Quote(`"`+t.text+`"`)
	case tAnd:
		return "AND"
	case tOr:
		return "OR"
	case tNot:
		return "NOT"
	case tMinus:
		return `"-"`
	case tNear:
		return nearOp(t.n, t.ordered)
	case tField:
		return t.text + ":"
	}
	return "?"
}

// startsOperand reports whether a token can begin an operand, which is
// what makes adjacent operands an implicit AND.
func (t token) startsOperand() bool {
	switch t.kind {
	case tLParen, tWord, tPhrase, tNot, tMinus, tField:
		return true
	}
	return false
}

type parser struct {
	src   string
	pos   int // next byte to lex
	tok   token
	depth int
}

// ParseQuery parses one query. A syntax error is a *SyntaxError whose Line
// and Col are positions in q.
//
// Grammar, loosest binding first (operators are upper case; lower-case and,
// or, not, near are ordinary words):
//
//	query   = or
//	or      = and { "OR" and }
//	and     = near { [ "AND" ] near }       adjacent operands are ANDed
//	near    = unary { ( "NEAR/n" | "ONEAR/n" ) unary }
//	unary   = ( "NOT" | "-" ) unary | primary
//	primary = "(" or ")" | ( "title:" | "text:" ) primary
//	        | "source:" ( word | phrase ) | "lang:" code | phrase | word
//
// So NOT binds tightest, then NEAR/ONEAR, then AND, then OR:
// a OR b c NEAR/3 NOT d is a OR (b AND (c NEAR/3 (NOT d))), which is
// rejected because a NEAR operand must be a term, a phrase, a field-scoped
// one or an OR-group of them (or another NEAR).
func ParseQuery(q string) (*Expr, error) {
	p := &parser{src: q}
	if err := p.next(); err != nil {
		return nil, p.finish(err)
	}
	e, err := p.parseOr(0)
	if err != nil {
		return nil, p.finish(err)
	}
	if p.tok.kind != tEOF {
		return nil, p.finish(p.expected("an operator or end of query", p.tok))
	}
	return e, nil
}

// finish fills in the line and column of a syntax error.
func (p *parser) finish(err error) error {
	if se, ok := err.(*SyntaxError); ok {
		se.Line, se.Col = lineCol(p.src, se.Offset)
	}
	return err
}

func (p *parser) expected(what string, t token) *SyntaxError {
	return &SyntaxError{Offset: t.pos, Expected: what, Found: t.describe()}
}

func (p *parser) errAt(off int, msg string) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: msg}
}

func isQuote(r rune) bool { return r == '"' || r == '“' || r == '”' || r == '„' }

func isDelim(r rune) bool { return unicode.IsSpace(r) || r == '(' || r == ')' || isQuote(r) }

// next lexes the next token into p.tok.
func (p *parser) next() error {
	s := p.src
	for p.pos < len(s) {
		r, size := utf8.DecodeRuneInString(s[p.pos:])
		if !unicode.IsSpace(r) {
			break
		}
		p.pos += size
	}
	start := p.pos
	if start >= len(s) {
		// Point just after the last character, not at trailing blank
		// lines (a YAML block scalar ends with a newline).
		p.tok = token{kind: tEOF, pos: len(strings.TrimRightFunc(s, unicode.IsSpace))}
		return nil
	}
	r, size := utf8.DecodeRuneInString(s[start:])
	switch {
	case r == '(':
		p.pos += size
		p.tok = token{kind: tLParen, pos: start}
		return nil
	case r == ')':
		p.pos += size
		p.tok = token{kind: tRParen, pos: start}
		return nil
	case isQuote(r):
		body := start + size
		i := body
		for i < len(s) {
			r2, size2 := utf8.DecodeRuneInString(s[i:])
			if isQuote(r2) {
				p.pos = i + size2
				p.tok = token{kind: tPhrase, pos: start, body: body, text: s[body:i]}
				return nil
			}
			i += size2
		}
		return &SyntaxError{Offset: len(strings.TrimRightFunc(s, unicode.IsSpace)), Expected: `a closing quote for the phrase at column ` +
			strconv.Itoa(1+utf8.RuneCountInString(s[strings.LastIndexByte(s[:start], '\n')+1:start])), Found: "end of query"}
	case r == '-':
		if start+size < len(s) {
			nr, _ := utf8.DecodeRuneInString(s[start+size:])
			if !unicode.IsSpace(nr) && nr != ')' {
				p.pos += size
				p.tok = token{kind: tMinus, pos: start}
				return nil
			}
		}
		return &SyntaxError{Offset: start, Expected: `a term right after "-"`, Found: `"-" alone`}
	}
	i := start
	for i < len(s) {
		r2, size2 := utf8.DecodeRuneInString(s[i:])
		if isDelim(r2) || r2 == ':' {
			break
		}
		i += size2
	}
	word := s[start:i]
	if i < len(s) && s[i] == ':' {
		name := strings.ToLower(word)
		switch name {
		case "title", "text", "source", "lang":
			p.pos = i + 1
			p.tok = token{kind: tField, pos: start, text: name}
			return nil
		}
		return &SyntaxError{Offset: start, Expected: `a field (title, text, source or lang) before ":"`,
			Found: strconv.Quote(word + ":")}
	}
	p.pos = i
	switch word {
	case "AND":
		p.tok = token{kind: tAnd, pos: start}
		return nil
	case "OR":
		p.tok = token{kind: tOr, pos: start}
		return nil
	case "NOT":
		p.tok = token{kind: tNot, pos: start}
		return nil
	}
	upper := strings.ToUpper(word)
	for _, op := range []string{"NEAR", "ONEAR"} {
		if upper != op && !strings.HasPrefix(upper, op+"/") {
			continue
		}
		if !strings.HasPrefix(word, op) {
			if upper == op {
				break // lower-case near is a word
			}
			return &SyntaxError{Offset: start, Expected: "an upper-case operator " + op + "/n", Found: strconv.Quote(word)}
		}
		num, ok := strings.CutPrefix(word, op+"/")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n < 0 || n > MaxNear || num == "" || num[0] == '+' || num[0] == '-' {
			return &SyntaxError{Offset: start, Expected: op + "/n with n a number from 0 to " + strconv.Itoa(MaxNear),
				Found: strconv.Quote(word)}
		}
		p.tok = token{kind: tNear, pos: start, n: n, ordered: op == "ONEAR"}
		return nil
	}
	p.tok = token{kind: tWord, pos: start, text: word}
	return nil
}

func (p *parser) enter(pos int) error {
	p.depth++
	if p.depth > maxDepth {
		return p.errAt(pos, "query nested more than "+strconv.Itoa(maxDepth)+" levels deep")
	}
	return nil
}

func (p *parser) parseOr(scope Field) (*Expr, error) {
	first, err := p.parseAnd(scope)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tOr {
		return first, nil
	}
	or := &Expr{Op: OpOr, Pos: first.Pos}
	or.Kids = appendFlat(or.Kids, OpOr, first)
	for p.tok.kind == tOr {
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.tok.startsOperand() {
			return nil, p.expected(`a term, phrase, "(" or NOT after OR`, p.tok)
		}
		k, err := p.parseAnd(scope)
		if err != nil {
			return nil, err
		}
		or.Kids = appendFlat(or.Kids, OpOr, k)
	}
	return or, nil
}

func appendFlat(kids []*Expr, op Op, k *Expr) []*Expr {
	if k.Op == op {
		return append(kids, k.Kids...)
	}
	return append(kids, k)
}

func (p *parser) parseAnd(scope Field) (*Expr, error) {
	first, err := p.parseNear(scope)
	if err != nil {
		return nil, err
	}
	var and *Expr
	for {
		explicit := p.tok.kind == tAnd
		if explicit {
			if err := p.next(); err != nil {
				return nil, err
			}
			if !p.tok.startsOperand() {
				return nil, p.expected(`a term, phrase, "(" or NOT after AND`, p.tok)
			}
		} else if !p.tok.startsOperand() {
			break
		}
		k, err := p.parseNear(scope)
		if err != nil {
			return nil, err
		}
		if and == nil {
			and = &Expr{Op: OpAnd, Pos: first.Pos}
			and.Kids = appendFlat(and.Kids, OpAnd, first)
		}
		and.Kids = appendFlat(and.Kids, OpAnd, k)
	}
	if and == nil {
		return first, nil
	}
	return and, nil
}

func (p *parser) parseNear(scope Field) (*Expr, error) {
	left, err := p.parseUnary(scope)
	if err != nil {
		return nil, err
	}
	for p.tok.kind == tNear {
		op := p.tok
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.tok.startsOperand() {
			return nil, p.expected(`a term, phrase or "(" after `+nearOp(op.n, op.ordered), p.tok)
		}
		right, err := p.parseUnary(scope)
		if err != nil {
			return nil, err
		}
		for _, k := range []*Expr{left, right} {
			if bad := nonProximity(k); bad != nil {
				return nil, &SyntaxError{Offset: bad.Pos,
					Expected: "a term, phrase or OR-group of them as operand of " + nearOp(op.n, op.ordered),
					Found:    describeNode(bad)}
			}
		}
		left = &Expr{Op: OpNear, N: op.n, Ordered: op.ordered, Kids: []*Expr{left, right}, Pos: left.Pos}
	}
	return left, nil
}

// nonProximity returns the first node under e that cannot be a NEAR
// operand (it has no word positions), or nil.
func nonProximity(e *Expr) *Expr {
	switch e.Op {
	case OpTerm:
		return nil
	case OpOr, OpNear, OpField:
		for _, k := range e.Kids {
			if bad := nonProximity(k); bad != nil {
				return bad
			}
		}
		return nil
	}
	return e
}

func describeNode(e *Expr) string {
	switch e.Op {
	case OpAnd:
		return "AND"
	case OpNot:
		return "NOT"
	case OpSource:
		return "source:"
	case OpLang:
		return "lang:"
	}
	return e.String()
}

func (p *parser) parseUnary(scope Field) (*Expr, error) {
	if p.tok.kind != tNot && p.tok.kind != tMinus {
		return p.parsePrimary(scope)
	}
	op := p.tok
	if err := p.enter(op.pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	if err := p.next(); err != nil {
		return nil, err
	}
	if !p.tok.startsOperand() {
		what := "NOT"
		if op.kind == tMinus {
			what = `"-"`
		}
		return nil, p.expected(`a term, phrase or "(" after `+what, p.tok)
	}
	k, err := p.parseUnary(scope)
	if err != nil {
		return nil, err
	}
	return &Expr{Op: OpNot, Kids: []*Expr{k}, Pos: op.pos}, nil
}

func (p *parser) parsePrimary(scope Field) (*Expr, error) {
	t := p.tok
	switch t.kind {
	case tLParen:
		if err := p.enter(t.pos); err != nil {
			return nil, err
		}
		defer func() { p.depth-- }()
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.tok.startsOperand() {
			return nil, p.expected(`a term, phrase, "(" or NOT after "("`, p.tok)
		}
		e, err := p.parseOr(scope)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.expected(`")" to close the "(" at column `+strconv.Itoa(colOf(p.src, t.pos)), p.tok)
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return e, nil
	case tWord, tPhrase:
		words, err := termWords(t)
		if err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return &Expr{Op: OpTerm, Words: words, Pos: t.pos}, nil
	case tField:
		return p.parseField(scope)
	}
	return nil, p.expected(`a term, phrase, "(" or NOT`, t)
}

func colOf(s string, off int) int {
	_, c := lineCol(s, off)
	return c
}

func (p *parser) parseField(scope Field) (*Expr, error) {
	t := p.tok
	if err := p.next(); err != nil {
		return nil, err
	}
	switch t.text {
	case "source", "lang":
		if scope != 0 {
			return nil, p.errAt(t.pos, t.text+": cannot be inside "+scope.String()+":")
		}
		v := p.tok
		if t.text == "lang" {
			if v.kind != tWord || !validLang(v.text) {
				return nil, p.expected("a language code after lang: (en, pl, de-at)", v)
			}
			if err := p.next(); err != nil {
				return nil, err
			}
			return &Expr{Op: OpLang, Lang: normLang(v.text), Pos: t.pos}, nil
		}
		if v.kind != tWord && v.kind != tPhrase {
			return nil, p.expected(`a feed name (word or "phrase") after source:`, v)
		}
		words, err := termWords(v)
		if err != nil {
			return nil, err
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		return &Expr{Op: OpSource, Words: words, Pos: t.pos}, nil
	}
	f := FieldTitle
	if t.text == "text" {
		f = FieldText
	}
	if scope != 0 && scope != f {
		return nil, p.errAt(t.pos, t.text+": cannot be inside "+scope.String()+":")
	}
	if err := p.enter(t.pos); err != nil {
		return nil, err
	}
	defer func() { p.depth-- }()
	switch p.tok.kind {
	case tWord, tPhrase, tLParen, tField:
	default:
		return nil, p.expected(`a term, phrase or "(" after `+t.text+":", p.tok)
	}
	k, err := p.parsePrimary(f)
	if err != nil {
		return nil, err
	}
	return &Expr{Op: OpField, Field: f, Kids: []*Expr{k}, Pos: t.pos}, nil
}

func validLang(s string) bool {
	s = normLang(s)
	main, rest, _ := strings.Cut(s, "-")
	if len(main) < 2 || len(main) > 3 {
		return false
	}
	for _, c := range main {
		if c < 'a' || c > 'z' {
			return false
		}
	}
	for _, c := range rest {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return !strings.HasSuffix(s, "-") && !strings.Contains(rest, "--")
}

func normLang(s string) string {
	return strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
}

// termWords folds a word or phrase token into its words. A "*" right
// after a word's last letter makes that word a prefix.
func termWords(t token) ([]Word, error) {
	var out []Word
	if t.kind == tWord {
		ws, err := chunkWords(t.text, t.pos)
		if err != nil {
			return nil, err
		}
		out = ws
	} else {
		off := 0
		for _, c := range strings.Fields(t.text) {
			i := strings.Index(t.text[off:], c)
			ws, err := chunkWords(c, t.body+off+i)
			if err != nil {
				return nil, err
			}
			off += i + len(c)
			out = append(out, ws...)
		}
	}
	if len(out) == 0 {
		if t.kind == tPhrase {
			return nil, &SyntaxError{Offset: t.pos, Expected: "words inside the quotes", Found: t.describe()}
		}
		return nil, &SyntaxError{Offset: t.pos, Expected: "a term with letters or digits", Found: t.describe()}
	}
	return out, nil
}

func chunkWords(c string, pos int) ([]Word, error) {
	star := strings.IndexByte(c, '*')
	prefix := false
	if star >= 0 {
		if star != len(c)-1 {
			return nil, &SyntaxError{Offset: pos + star, Expected: `"*" only at the end of a word`, Found: strconv.Quote(c)}
		}
		c = c[:star]
		prefix = true
	}
	toks := fold.Tokens(c)
	if prefix && (len(toks) == 0 || toks[len(toks)-1].End != len(c)) {
		return nil, &SyntaxError{Offset: pos + star, Expected: `letters right before "*"`, Found: strconv.Quote(c + "*")}
	}
	out := make([]Word, len(toks))
	for i, tk := range toks {
		out[i] = Word{Text: tk.Word}
	}
	if prefix {
		if len(out) == 0 || utf8.RuneCountInString(out[len(out)-1].Text) < MinPrefix {
			start := 0
			if len(toks) > 0 {
				start = toks[len(toks)-1].Start
			}
			return nil, &SyntaxError{Offset: pos + start,
				Expected: "at least " + strconv.Itoa(MinPrefix) + ` letters before "*"`, Found: strconv.Quote(c[start:] + "*")}
		}
		out[len(out)-1].Prefix = true
	}
	return out, nil
}
