package topics

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/wirewatch/wirewatch/learn"
)

// FileVersion is the topic file format this package reads.
const FileVersion = 1

// maxErrors is the most errors one load reports.
const maxErrors = 20

//go:embed default.yaml
var defaultFS embed.FS

// Default returns the default topic pack shipped with Wirewatch
// (topics/default.yaml). It panics if the embedded pack is invalid, which
// the package tests rule out.
func Default() *Set {
	s, err := Parse("default.yaml", DefaultYAML())
	if err != nil {
		panic(fmt.Sprintf("topics: embedded default pack: %v", err))
	}
	return s
}

// DefaultYAML returns the text of the default topic pack, for users to copy
// and edit.
func DefaultYAML() []byte {
	b, err := defaultFS.ReadFile("default.yaml")
	if err != nil {
		panic(fmt.Sprintf("topics: embedded default pack: %v", err))
	}
	return b
}

// LoadFile reads and compiles a topic file. Errors in the file are
// *SyntaxError values (several are joined with errors.Join) naming the
// file, line and column.
func LoadFile(path string) (*Set, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("topics: %w", err)
	}
	return Parse(path, data)
}

// Parse compiles a topic file's contents; name is the file name used in
// messages. The file is YAML:
//
//	version: 1
//	topics:
//	  - name: ceasefire
//	    definition: Ceasefires, truces, pauses in fighting.
//	    query: ceasefire* OR truce OR "pause in fighting"
//	    threshold: 0.5            # optional, default 0.5
//	    severity_threshold: 0.8   # optional
//	  - name: simple
//	    any: [ceasefire, truce]   # instead of query: any/all/none lists
//	    all: [ukraine]
//	    none: [football]
//	  - name: sanctions
//	    query: sanction*
//	    model: models/sanctions.wwm  # a learned model (wirewatch topics train)
//	    combine: either              # query, model, either (default), both
//	    model_label: yes             # optional: the model's label for the topic
//
// Model paths are relative to the directory of name; each model file is
// read once per call (learn.Load), and a missing or invalid one is an
// error at the model key.
func Parse(name string, data []byte) (*Set, error) {
	l := &loader{file: name, src: string(data)}
	topics := l.load(data)
	if len(l.errs) > 0 {
		slices.SortStableFunc(l.errs, func(a, b *SyntaxError) int {
			return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
		})
		return nil, joinErrors(l.errs)
	}
	s, errs := compile(name, topics)
	if len(errs) > 0 {
		for _, e := range errs {
			e.File = name
		}
		return nil, joinErrors(errs)
	}
	return s, nil
}

func joinErrors(errs []*SyntaxError) error {
	if len(errs) == 1 {
		return errs[0]
	}
	es := make([]error, len(errs))
	for i, e := range errs {
		es[i] = e
	}
	return errors.Join(es...)
}

type loader struct {
	file   string
	src    string
	errs   []*SyntaxError
	models map[string]*learn.Model // by path, so that topics share one
}

func (l *loader) errAt(n *yaml.Node, topic, msg string) {
	if len(l.errs) < maxErrors {
		l.errs = append(l.errs, &SyntaxError{File: l.file, Topic: topic, Line: n.Line, Col: n.Column, Offset: -1, Msg: msg})
	}
}

func (l *loader) expected(n *yaml.Node, topic, what, found string) {
	if len(l.errs) < maxErrors {
		l.errs = append(l.errs, &SyntaxError{File: l.file, Topic: topic, Line: n.Line, Col: n.Column, Offset: -1,
			Expected: what, Found: found})
	}
}

func describeYAML(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return strconv.Quote(n.Value)
	}
	return "?"
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func (l *loader) load(data []byte) []Topic {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, yamlError(l.file, err))
		return nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		l.errs = append(l.errs, &SyntaxError{File: l.file, Line: 1, Col: 1, Offset: -1,
			Expected: "version: 1 and a topics list", Found: "an empty file"})
		return nil
	}
	root := resolve(doc.Content[0])
	if root.Kind != yaml.MappingNode {
		l.expected(root, "", "a mapping with version and topics", describeYAML(root))
		return nil
	}
	var version, list *yaml.Node
	seen := map[string]bool{}
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], resolve(root.Content[i+1])
		if seen[k.Value] {
			l.errAt(k, "", "duplicate key "+strconv.Quote(k.Value))
			continue
		}
		seen[k.Value] = true
		switch k.Value {
		case "version":
			version = v
		case "topics":
			list = v
		default:
			l.expected(k, "", "a top-level key (version, topics)", strconv.Quote(k.Value))
		}
	}
	if version == nil {
		l.expected(root, "", "version: "+strconv.Itoa(FileVersion), "no version")
	} else if v, err := strconv.Atoi(version.Value); err != nil || version.Kind != yaml.ScalarNode || v != FileVersion {
		l.expected(version, "", "version "+strconv.Itoa(FileVersion), describeYAML(version))
	}
	if list == nil {
		l.expected(root, "", "a topics list", "no topics key")
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		l.expected(list, "", "a list of topics", describeYAML(list))
		return nil
	}
	var out []Topic
	names := map[string]*yaml.Node{}
	for _, item := range list.Content {
		item = resolve(item)
		t, ok := l.topic(item)
		if !ok {
			continue
		}
		if prev, dup := names[t.Name]; dup {
			l.errAt(item, t.Name, fmt.Sprintf("duplicate topic name (first defined at line %d)", prev.Line))
			continue
		}
		names[t.Name] = item
		out = append(out, t)
	}
	return out
}

const topicKeys = "name, definition, query, any, all, none, threshold, severity_threshold, model, combine, model_label"

// topic reads one topic; ok is false when it had errors (already
// recorded).
func (l *loader) topic(n *yaml.Node) (t Topic, ok bool) {
	if n.Kind != yaml.MappingNode {
		l.expected(n, "", "a topic (a mapping with name and query)", describeYAML(n))
		return t, false
	}
	nerr := len(l.errs)
	fields := map[string]*yaml.Node{}
	var keys []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if k.Value == "name" {
			t.Name = resolve(n.Content[i+1]).Value
		}
		keys = append(keys, k)
	}
	for i, k := range keys {
		v := resolve(n.Content[2*i+1])
		if _, dup := fields[k.Value]; dup {
			l.errAt(k, t.Name, "duplicate key "+strconv.Quote(k.Value))
			continue
		}
		switch k.Value {
		case "name", "definition", "query", "any", "all", "none", "threshold", "severity_threshold", "model", "combine", "model_label":
			fields[k.Value] = v
		default:
			l.expected(k, t.Name, "a topic key ("+topicKeys+")", strconv.Quote(k.Value))
		}
	}
	t.File, t.Line = l.file, n.Line
	name := fields["name"]
	switch {
	case name == nil:
		l.expected(n, "", "a name for the topic", "no name key")
	case name.Kind != yaml.ScalarNode:
		l.expected(name, "", "a topic name", describeYAML(name))
	default:
		if msg := checkName(name.Value); msg != "" {
			l.errAt(name, "", msg)
		}
	}
	if d := fields["definition"]; d != nil {
		if d.Kind != yaml.ScalarNode {
			l.expected(d, t.Name, "a definition (text)", describeYAML(d))
		}
		t.Definition = strings.TrimSpace(d.Value)
	}
	t.Threshold = l.number(fields["threshold"], t.Name, "threshold", DefaultThreshold)
	t.SeverityThreshold = l.number(fields["severity_threshold"], t.Name, "severity_threshold", 0)
	if len(l.errs) == nerr {
		if msg := checkThresholds(t.Threshold, t.SeverityThreshold); msg != "" {
			at := fields["threshold"]
			if strings.HasPrefix(msg, "severity") {
				at = fields["severity_threshold"]
			}
			l.errAt(at, t.Name, msg)
		}
	}
	q := fields["query"]
	lists := fields["any"] != nil || fields["all"] != nil || fields["none"] != nil
	switch {
	case q != nil && lists:
		l.errAt(q, t.Name, "use either query or any/all/none lists, not both")
	case q != nil:
		l.query(&t, q)
	case lists:
		l.lists(&t, fields["any"], fields["all"], fields["none"], n)
	case fields["model"] == nil:
		l.expected(n, t.Name, "a query (or any/all/none lists, or a model)", "neither")
	}
	l.model(&t, fields["model"], fields["combine"], fields["model_label"])
	return t, len(l.errs) == nerr
}

// model reads a topic's model, combine and model_label keys and loads the
// model file.
func (l *loader) model(t *Topic, modelN, combineN, labelN *yaml.Node) {
	if combineN != nil {
		c, ok := ParseCombine(combineN.Value)
		if combineN.Kind != yaml.ScalarNode || !ok {
			l.expected(combineN, t.Name, "combine: query, model, either or both", describeYAML(combineN))
			return
		}
		t.Combine = c
	}
	if labelN != nil {
		if labelN.Kind != yaml.ScalarNode || labelN.Value == "" {
			l.expected(labelN, t.Name, "model_label: one of the model's labels", describeYAML(labelN))
			return
		}
		t.ModelLabel = labelN.Value
	}
	if modelN == nil {
		if at := cmp.Or(combineN, labelN); at != nil && (labelN != nil || t.Combine != CombineQuery) {
			l.errAt(at, t.Name, "combine and model_label need a model")
		}
		return
	}
	if modelN.Kind != yaml.ScalarNode || strings.TrimSpace(modelN.Value) == "" {
		l.expected(modelN, t.Name, "a model file (made by wirewatch topics train)", describeYAML(modelN))
		return
	}
	t.ModelFile = strings.TrimSpace(modelN.Value)
	path := t.ModelFile
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(l.file), path)
	}
	m, ok := l.models[path]
	if !ok {
		var err error
		if fi, serr := os.Stat(path); serr == nil && !fi.Mode().IsRegular() {
			err = fmt.Errorf("%s is not a regular file", path)
		} else {
			m, err = learn.Load(path)
		}
		if err != nil {
			l.errAt(modelN, t.Name, fmt.Sprintf("model %s: %v", t.ModelFile, err))
			return
		}
		if l.models == nil {
			l.models = make(map[string]*learn.Model)
		}
		l.models[path] = m
	}
	t.Model = m
	if _, msg := checkModel(t); msg != "" {
		at := modelN
		switch {
		case strings.HasPrefix(msg, "combine") && combineN != nil:
			at = combineN
		case strings.Contains(msg, "model_label") && labelN != nil:
			at = labelN
		}
		l.errAt(at, t.Name, msg)
	}
}

func (l *loader) number(n *yaml.Node, topic, key string, def float64) float64 {
	if n == nil {
		return def
	}
	f, err := strconv.ParseFloat(n.Value, 64)
	if n.Kind != yaml.ScalarNode || err != nil || n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		l.expected(n, topic, key+" as a number in (0, 1]", describeYAML(n))
		return def
	}
	return f
}

func (l *loader) query(t *Topic, q *yaml.Node) {
	if q.Kind != yaml.ScalarNode || q.Tag == "!!null" {
		l.expected(q, t.Name, "a query (text)", describeYAML(q))
		return
	}
	t.Query = strings.TrimSpace(q.Value)
	if t.Query == "" {
		l.expected(q, t.Name, "a query", "an empty one")
		return
	}
	e, err := ParseQuery(q.Value)
	if err != nil {
		se := err.(*SyntaxError)
		l.placeInScalar(se, q)
		se.Topic = t.Name
		l.errs = append(l.errs, se)
		return
	}
	if !needsTerm(e) {
		se := &SyntaxError{Topic: t.Name, Offset: e.Pos,
			Expected: "a term that must occur for the query to match",
			Found:    "a query that can match on NOT, source: or lang: alone"}
		l.placeInScalar(se, q)
		l.errs = append(l.errs, se)
		return
	}
	t.Expr = e
}

// lists builds the query of a topic given as any/all/none phrase lists:
// all... AND (any1 OR any2 ...) AND NOT (none1 OR none2 ...).
func (l *loader) lists(t *Topic, anyN, allN, noneN, topicN *yaml.Node) {
	read := func(n *yaml.Node, key string) []*Expr {
		if n == nil {
			return nil
		}
		if n.Kind != yaml.SequenceNode {
			l.expected(n, t.Name, key+" as a list of words or phrases", describeYAML(n))
			return nil
		}
		var out []*Expr
		for _, item := range n.Content {
			item = resolve(item)
			if item.Kind != yaml.ScalarNode {
				l.expected(item, t.Name, "a word or phrase", describeYAML(item))
				continue
			}
			ws, err := termWords(token{kind: tPhrase, pos: 0, body: 0, text: item.Value})
			if err != nil {
				se := err.(*SyntaxError)
				if se.Offset == 0 && se.Expected == "words inside the quotes" {
					se.Expected, se.Found = "a word or phrase", "an empty one"
				}
				l.placeInScalar(se, item)
				se.Topic = t.Name
				l.errs = append(l.errs, se)
				continue
			}
			out = append(out, &Expr{Op: OpTerm, Words: ws})
		}
		return out
	}
	anyE, allE, noneE := read(anyN, "any"), read(allN, "all"), read(noneN, "none")
	if anyN != nil && len(anyE) == 0 || allN != nil && len(allE) == 0 {
		return // errors recorded, or an empty list
	}
	if len(anyE) == 0 && len(allE) == 0 {
		l.expected(topicN, t.Name, "an any or all list with at least one word or phrase", "only none")
		return
	}
	e := &Expr{Op: OpAnd}
	e.Kids = append(e.Kids, allE...)
	if len(anyE) == 1 {
		e.Kids = append(e.Kids, anyE[0])
	} else if len(anyE) > 1 {
		e.Kids = append(e.Kids, &Expr{Op: OpOr, Kids: anyE})
	}
	if len(noneE) == 1 {
		e.Kids = append(e.Kids, &Expr{Op: OpNot, Kids: noneE})
	} else if len(noneE) > 1 {
		e.Kids = append(e.Kids, &Expr{Op: OpNot, Kids: []*Expr{{Op: OpOr, Kids: noneE}}})
	}
	if len(e.Kids) == 1 {
		e = e.Kids[0]
	}
	t.Expr = e
	t.Query = e.String()
}

// yamlError turns a YAML parser error ("yaml: line 3: ...") into a
// *SyntaxError.
func yamlError(file string, err error) *SyntaxError {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	se := &SyntaxError{File: file, Offset: -1, Msg: "invalid YAML: " + msg}
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		num, text, ok := strings.Cut(rest, ": ")
		if n, err := strconv.Atoi(num); ok && err == nil {
			se.Line = n
			se.Msg = "invalid YAML: " + text
		}
	}
	return se
}

// placeInScalar sets se.Line and se.Col to where byte se.Offset of the
// scalar's value is in the file. The value's characters appear in the
// source in order, apart from indentation, line folding, quotes and
// escapes, so the source is walked alongside the value.
func (l *loader) placeInScalar(se *SyntaxError, n *yaml.Node) {
	se.File = l.file
	src, val := l.src, n.Value
	cur := lineStart(src, n.Line)
	// Columns are in characters.
	for c := 1; c < n.Column && cur < len(src) && src[cur] != '\n'; c++ {
		_, size := utf8.DecodeRuneInString(src[cur:])
		cur += size
	}
	dq := n.Style&yaml.DoubleQuotedStyle != 0
	sq := n.Style&yaml.SingleQuotedStyle != 0
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		if i := strings.IndexByte(src[cur:], '\n'); i >= 0 {
			cur += i + 1
		} else {
			cur = len(src)
		}
	case dq || sq:
		cur++ // the opening quote
	}
	skipSpace := func() {
		for cur < len(src) {
			r, size := utf8.DecodeRuneInString(src[cur:])
			if dq && r == '\\' && cur+1 < len(src) && (src[cur+1] == '\n' || src[cur+1] == '\r') {
				cur += 2
				continue
			}
			if !unicode.IsSpace(r) {
				return
			}
			cur += size
		}
	}
	off := min(max(se.Offset, 0), len(val))
	for i := 0; i < off; {
		r, size := utf8.DecodeRuneInString(val[i:])
		i += size
		if unicode.IsSpace(r) {
			if cur < len(src) {
				if sr, ssize := utf8.DecodeRuneInString(src[cur:]); unicode.IsSpace(sr) {
					cur += ssize
				}
			}
			continue
		}
		skipSpace()
		if cur >= len(src) {
			break
		}
		sr, ssize := utf8.DecodeRuneInString(src[cur:])
		switch {
		case sr == r:
			cur += ssize
			if sq && r == '\'' && cur < len(src) && src[cur] == '\'' {
				cur++
			}
		case dq && sr == '\\':
			cur += 2
			if cur-1 < len(src) {
				switch src[cur-1] {
				case 'x':
					cur += 2
				case 'u':
					cur += 4
				case 'U':
					cur += 8
				}
			}
		default:
			cur += ssize // the value does not follow the source; best effort
		}
	}
	if off < len(val) {
		if r, _ := utf8.DecodeRuneInString(val[off:]); !unicode.IsSpace(r) {
			skipSpace()
		}
	}
	se.Line, se.Col = lineCol(src, min(cur, len(src)))
}

// lineStart returns the byte offset where 1-based line starts.
func lineStart(s string, line int) int {
	off := 0
	for l := 1; l < line; l++ {
		i := strings.IndexByte(s[off:], '\n')
		if i < 0 {
			return len(s)
		}
		off += i + 1
	}
	return off
}
