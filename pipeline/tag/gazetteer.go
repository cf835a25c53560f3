// Package tag is the pipeline stage that names the people, places and
// organisations an article mentions. It matches the article's words against
// a gazetteer of canonical names and their aliases (gazetteer.yaml, embedded;
// its header documents the file format and the matching rules) and writes
// the canonical forms to Article.Entities.
//
// Words are split and folded by internal/fold, the same way topic matching
// does, so "Zelenskyy's", "ZELENSKYY" and "Zelenskyy" are one word. Matching
// is a single left-to-right pass over the words with the longest alias
// winning at each position; it uses no regular expressions and allocates
// nothing per word beyond what fold does.
package tag

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Entity types, as written in the gazetteer and in pipeline.Entity.Type.
const (
	TypePerson = "person"
	TypePlace  = "place"
	TypeOrg    = "org"
)

// typeRank is the order of types in a Tagger's output.
func typeRank(t string) int {
	switch t {
	case TypePerson:
		return 0
	case TypePlace:
		return 1
	default:
		return 2
	}
}

func validType(t string) bool {
	return t == TypePerson || t == TypePlace || t == TypeOrg
}

// FormatVersion is the only gazetteer file version Load accepts.
const FormatVersion = 1

//go:embed gazetteer.yaml
var defaultGazetteer string

// Errors a LoadError wraps; test with errors.Is.
var (
	ErrSyntax          = errors.New("syntax error")
	ErrVersion         = errors.New("unsupported version")
	ErrField           = errors.New("bad field")
	ErrEmptyName       = errors.New("empty name")
	ErrUnknownType     = errors.New("unknown type")
	ErrAlias           = errors.New("bad alias")
	ErrDuplicateAlias  = errors.New("duplicate alias")
	ErrDuplicateEntity = errors.New("duplicate entity")
)

// maxErrors caps how many problems one Load reports.
const maxErrors = 20

// LoadError is one problem in a gazetteer file, at a line (1-based; 0 when
// the problem has no position). Its message reads "file:line: problem".
type LoadError struct {
	File string
	Line int
	Err  error
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.File, e.Err)
}

func (e *LoadError) Unwrap() error { return e.Err }

// Gazetteer is a loaded, immutable set of entities and their aliases, ready
// for matching. It is safe for concurrent use.
type Gazetteer struct {
	name     string
	entities []pipeline.Entity
	aliases  []alias
	// index maps an alias's first folded word to the aliases starting with
	// it, longest first.
	index map[string][]int32
}

// alias is one way of writing an entity, split into folded words.
type alias struct {
	entity int32
	words  []string
	// orig is each word as written, compared with the text when the
	// alias is case-sensitive (nil otherwise).
	orig []string
	// gaps[i] is the punctuation written between words i and i+1 in the
	// gazetteer ("." for "U.S."); the text may use those characters, spaces
	// and hyphens between the words, nothing else.
	gaps []string
}

// Name is the file name the gazetteer was loaded from.
func (g *Gazetteer) Name() string { return g.name }

// Len is the number of entities.
func (g *Gazetteer) Len() int { return len(g.entities) }

// Entities returns a copy of the entities, in file order.
func (g *Gazetteer) Entities() []pipeline.Entity { return slices.Clone(g.entities) }

// Default returns the gazetteer shipped with Wirewatch (gazetteer.yaml). It
// parses the embedded file on every call, so keep the result. It panics if
// the embedded file is invalid, which the package's tests rule out.
func Default() *Gazetteer {
	g, err := Load("gazetteer.yaml", []byte(defaultGazetteer))
	if err != nil {
		panic(fmt.Sprintf("tag: embedded gazetteer: %v", err))
	}
	return g
}

// LoadFile reads and loads a gazetteer file; errors name the path.
func LoadFile(path string) (*Gazetteer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tag: read gazetteer: %w", err)
	}
	return Load(path, data)
}

// Load parses a gazetteer. name is used in error messages only. On failure
// the error joins up to 20 *LoadError values, one line each, in the form
// "name:line: problem".
func Load(name string, data []byte) (*Gazetteer, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, syntaxError(name, err)
	}
	l := &loader{
		file:    name,
		g:       &Gazetteer{name: name, index: make(map[string][]int32)},
		byFold:  make(map[string][]int32),
		entLine: make(map[pipeline.Entity]int),
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		l.errorf(0, ErrField, "empty file: want version and entities")
	} else {
		l.document(doc.Content[0])
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	l.g.buildIndex()
	return l.g, nil
}

// syntaxError turns yaml.v3's "yaml: line N: msg" into a LoadError.
//
// yaml.v3 (v3.0.1) numbers lines from 1 for scanner errors but from 0 for
// parser errors, where it also gives the line where the enclosing mapping
// or sequence starts (or none, for line 0). Parser errors are recognised by
// their fixed messages and shifted, so the line printed is always 1-based.
func syntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, tail, ok := strings.Cut(rest, ": "); ok {
			if n, convErr := strconv.Atoi(num); convErr == nil {
				line, msg = n, tail
			}
		}
	}
	if isParserError(msg) {
		line++
	}
	return &LoadError{File: file, Line: line, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)}
}

// isParserError reports whether msg is one of yaml.v3's parser (as opposed
// to scanner) error messages.
func isParserError(msg string) bool {
	for _, p := range []string{"did not find expected ", "found duplicate %", "found incompatible YAML document", "found undefined tag handle"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

type loader struct {
	file string
	errs []error
	g    *Gazetteer
	// byFold maps an alias's folded words (joined by spaces) to the
	// aliases with those words.
	byFold map[string][]int32
	// entLine is where each entity was first defined.
	entLine map[pipeline.Entity]int
	// aliasLine is where each alias was written.
	aliasLine []int
}

func (l *loader) errorf(line int, kind error, format string, args ...any) {
	if len(l.errs) == maxErrors {
		l.errs = append(l.errs, &LoadError{File: l.file, Line: line, Err: errors.New("too many errors")})
	}
	if len(l.errs) > maxErrors {
		return
	}
	msg := fmt.Sprintf(format, args...)
	l.errs = append(l.errs, &LoadError{File: l.file, Line: line, Err: fmt.Errorf("%w: %s", kind, msg)})
}

// fields returns a mapping's values by key, reporting unknown and repeated
// keys. It returns nil if n is not a mapping.
func (l *loader) fields(n *yaml.Node, what string, known ...string) map[string]*yaml.Node {
	if n.Kind != yaml.MappingNode {
		l.errorf(n.Line, ErrField, "%s must be a mapping with fields %s", what, strings.Join(known, ", "))
		return nil
	}
	out := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		switch {
		case !slices.Contains(known, k.Value):
			l.errorf(k.Line, ErrField, "unknown field %q in %s (want %s)", k.Value, what, strings.Join(known, ", "))
		case out[k.Value] != nil:
			l.errorf(k.Line, ErrField, "field %q repeated (first at line %d)", k.Value, out[k.Value].Line)
		default:
			out[k.Value] = v
		}
	}
	return out
}

func (l *loader) document(root *yaml.Node) {
	f := l.fields(root, "the top level", "version", "entities")
	if f == nil {
		return
	}
	switch v := f["version"]; {
	case v == nil:
		l.errorf(root.Line, ErrVersion, "missing version (want version: %d)", FormatVersion)
	case v.Kind != yaml.ScalarNode || v.Value != strconv.Itoa(FormatVersion):
		l.errorf(v.Line, ErrVersion, "version %q (want %d)", v.Value, FormatVersion)
	}
	ents := f["entities"]
	switch {
	case ents == nil:
		l.errorf(root.Line, ErrField, "missing entities")
	case ents.Kind != yaml.SequenceNode:
		l.errorf(ents.Line, ErrField, "entities must be a sequence")
	default:
		for _, e := range ents.Content {
			l.entity(e)
		}
	}
}

func (l *loader) entity(n *yaml.Node) {
	f := l.fields(n, "an entity", "name", "type", "aliases", "case_sensitive_aliases")
	if f == nil {
		return
	}
	nameNode, typeNode := f["name"], f["type"]
	ok := true
	name := ""
	switch {
	case nameNode == nil:
		l.errorf(n.Line, ErrEmptyName, "entity has no name")
		ok = false
	case nameNode.Kind != yaml.ScalarNode || strings.TrimSpace(nameNode.Value) == "":
		l.errorf(nameNode.Line, ErrEmptyName, "entity name is empty")
		ok = false
	default:
		name = strings.TrimSpace(nameNode.Value)
	}
	typ := ""
	switch {
	case typeNode == nil:
		l.errorf(n.Line, ErrUnknownType, "entity %q has no type (want person, place or org)", name)
		ok = false
	case typeNode.Kind != yaml.ScalarNode || !validType(typeNode.Value):
		l.errorf(typeNode.Line, ErrUnknownType, "%q for entity %q (want person, place or org)", typeNode.Value, name)
		ok = false
	default:
		typ = typeNode.Value
	}
	aliases := l.stringList(f["aliases"], "aliases")
	csAliases := l.stringList(f["case_sensitive_aliases"], "case_sensitive_aliases")
	if !ok {
		return
	}
	ent := pipeline.Entity{Type: typ, Name: name}
	if first, dup := l.entLine[ent]; dup {
		l.errorf(nameNode.Line, ErrDuplicateEntity, "%s %q already defined at line %d", typ, name, first)
		return
	}
	l.entLine[ent] = nameNode.Line
	id := int32(len(l.g.entities))
	l.g.entities = append(l.g.entities, ent)

	// Case-insensitive spellings first, so a case-sensitive duplicate of one
	// of them is recognised as redundant.
	if !slices.ContainsFunc(csAliases, func(a *yaml.Node) bool { return strings.TrimSpace(a.Value) == name }) {
		l.alias(id, name, false, nameNode.Line)
	}
	for _, a := range aliases {
		l.alias(id, a.Value, false, a.Line)
	}
	for _, a := range csAliases {
		l.alias(id, a.Value, true, a.Line)
	}
}

// stringList returns the scalar items of a sequence field (nil if absent).
func (l *loader) stringList(n *yaml.Node, field string) []*yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		l.errorf(n.Line, ErrField, "%s must be a list of strings", field)
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, item := range n.Content {
		if item.Kind != yaml.ScalarNode {
			l.errorf(item.Line, ErrAlias, "%s items must be strings", field)
			continue
		}
		out = append(out, item)
	}
	return out
}

// alias adds one spelling of entity id, checking that it has words and that
// no other entity already claims it.
func (l *loader) alias(id int32, text string, caseSensitive bool, line int) {
	ent := l.g.entities[id]
	toks := fold.Tokens(text)
	if len(toks) == 0 {
		l.errorf(line, ErrAlias, "alias %q of %q has no words", text, ent.Name)
		return
	}
	a := alias{entity: id, words: make([]string, len(toks)), gaps: make([]string, len(toks)-1)}
	for i, t := range toks {
		a.words[i] = t.Word
		if i > 0 {
			a.gaps[i-1] = text[toks[i-1].End:t.Start]
		}
	}
	if caseSensitive {
		a.orig = make([]string, len(toks))
		for i, t := range toks {
			a.orig[i] = text[t.Start:t.End]
		}
	}
	key := strings.Join(a.words, " ")
	for _, j := range l.byFold[key] {
		prev := &l.g.aliases[j]
		// Two aliases collide when either matches whatever the other does.
		collide := prev.orig == nil || a.orig == nil || slices.Equal(prev.orig, a.orig)
		if !collide {
			continue
		}
		if prev.entity != id {
			other := l.g.entities[prev.entity]
			l.errorf(line, ErrDuplicateAlias, "alias %q of %s %q already names %s %q (line %d)",
				text, ent.Type, ent.Name, other.Type, other.Name, l.aliasLine[j])
			return
		}
		if prev.orig == nil || a.orig != nil {
			// Redundant spelling of the same entity: keep the first, but
			// allow the punctuation this one writes between its words
			// ("St Petersburg" and "St. Petersburg").
			for i, gap := range a.gaps {
				if !strings.Contains(prev.gaps[i], gap) {
					prev.gaps[i] += gap
				}
			}
			return
		}
	}
	l.byFold[key] = append(l.byFold[key], int32(len(l.g.aliases)))
	l.g.aliases = append(l.g.aliases, a)
	l.aliasLine = append(l.aliasLine, line)
}

// buildIndex maps first words to aliases, longest alias first, so the
// first alias that matches at a position is the longest.
func (g *Gazetteer) buildIndex() {
	for i, a := range g.aliases {
		g.index[a.words[0]] = append(g.index[a.words[0]], int32(i))
	}
	for _, list := range g.index {
		slices.SortStableFunc(list, func(x, y int32) int {
			return len(g.aliases[y].words) - len(g.aliases[x].words)
		})
	}
}
