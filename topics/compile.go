package topics

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/wirewatch/wirewatch/learn"
)

// DefaultThreshold is the score a topic needs to tag an article when its
// definition sets no threshold.
const DefaultThreshold = 0.5

// Topic is one topic of a set: its name, what it means, its query, and the
// score an article needs to be tagged with it.
type Topic struct {
	Name string
	// Definition says in words what the topic covers (shown to users).
	Definition string
	// Query is the query as written; for a topic given as any/all/none
	// lists, the equivalent query in canonical syntax.
	Query string
	// Expr is the parsed query. Compile parses Query when Expr is nil.
	Expr *Expr
	// Threshold is the score in [0, 1] at which an article is tagged
	// (DefaultThreshold when the file gives none).
	Threshold float64
	// SeverityThreshold, when not zero, is the score from which alerts on
	// this topic are raised with high severity (used by the sink).
	SeverityThreshold float64
	// File and Line say where the topic is defined ("" and 0 when built in
	// code).
	File string
	Line int
	// Model, when not nil, is a learned classifier (package learn) that
	// scores articles for the topic, besides or instead of the query.
	// ModelFile is its path as the topic file gives it (for messages and
	// explanations). ModelLabel is the model's label that means the topic;
	// empty means the topic's name if the model has that label, else
	// "yes".
	Model      *learn.Model
	ModelFile  string
	ModelLabel string
	// Combine says how the query and the model decide; the zero value is
	// CombineEither when the topic has both, else whichever it has.
	Combine Combine
}

// Combine says how a topic with a query and a model decides.
type Combine uint8

// The ways to combine a query and a model.
const (
	CombineDefault Combine = iota // either when both are given
	CombineQuery                  // the query alone (the model is loaded but not used)
	CombineModel                  // the model alone
	CombineEither                 // the query or the model: the higher score
	CombineBoth                   // the query and the model: the lower score
)

// String is the combine mode as written in a topic file.
func (c Combine) String() string {
	switch c {
	case CombineQuery:
		return "query"
	case CombineModel:
		return "model"
	case CombineEither:
		return "either"
	case CombineBoth:
		return "both"
	}
	return "default"
}

// ParseCombine reads a combine mode (query, model, either, both).
func ParseCombine(s string) (Combine, bool) {
	for c := CombineQuery; c <= CombineBoth; c++ {
		if s == c.String() {
			return c, true
		}
	}
	return 0, false
}

// checkModel fills in a topic's combine mode and finds its model label;
// msg is not empty when the topic's query, model and combine mode do not
// fit together.
func checkModel(t *Topic) (label int, msg string) {
	hasQuery := t.Expr != nil || t.Query != ""
	if t.Model == nil {
		switch {
		case !hasQuery:
			return -1, "a query (or any/all/none lists, or a model) is needed"
		case t.Combine != CombineDefault && t.Combine != CombineQuery:
			return -1, "combine: " + t.Combine.String() + " needs a model"
		}
		t.Combine = CombineQuery
		return -1, ""
	}
	if t.Combine == CombineDefault {
		t.Combine = CombineModel
		if hasQuery {
			t.Combine = CombineEither
		}
	}
	if !hasQuery && t.Combine != CombineModel {
		return -1, "combine: " + t.Combine.String() + " needs a query"
	}
	want := t.ModelLabel
	if want == "" {
		if k, ok := t.Model.Label(t.Name); ok {
			t.ModelLabel = t.Name
			return k, ""
		}
		want = "yes"
	}
	k, ok := t.Model.Label(want)
	if !ok {
		return -1, fmt.Sprintf("the model has no label %q (its labels: %s); name the one for this topic with model_label",
			want, strings.Join(t.Model.Labels, ", "))
	}
	t.ModelLabel = want
	return k, ""
}

// Set is a compiled set of topics: every term of every topic in one
// matcher. It is immutable and safe for concurrent use.
type Set struct {
	file   string
	topics []*ctopic
	m      matcher
	pool   sync.Pool // *scratch
	// models are the distinct models the topics use (Combine not query),
	// and modelTopics the topics that use one.
	models      []*learn.Model
	modelTopics []int32
}

// ctopic is a compiled topic.
type ctopic struct {
	Topic
	root  *cnode // nil for a topic with a model and no query
	model int    // index in Set.models, -1 if the model is not used
	label int    // the model's label for the topic
}

// cnode is a compiled query node.
type cnode struct {
	op      Op
	kids    []*cnode
	phrase  int32 // OpTerm
	fields  uint8 // OpTerm: FieldTitle|FieldText allowed
	n       int32 // OpNear
	ordered bool
	words   []Word // OpSource
	lang    string // OpLang
	expr    *Expr  // the source node, for printing branches
}

// matcher holds every term of every topic: a byte trie maps folded words
// and prefixes to atoms, and a trie over atoms recognises phrases (a
// single word is a phrase of one).
type matcher struct {
	words        wordTrie // word or prefix -> atoms
	natoms       int32
	rootNext     []int32          // phrase trie: atom -> node from the root (0: none)
	edges        map[uint64]int32 // phrase trie: node<<32 | atom -> node, below the root
	terminal     []int32          // trie node -> phrase id, or -1
	depth        []int32          // trie node -> words from the root
	phrases      [][]Word         // phrase id -> words
	phraseNames  []string         // phrase id -> term in query syntax
	phraseTopics [][]int32        // phrase id -> topics it triggers
	hasSource    bool
}

// File is the topic file the set was loaded from ("" if none).
func (s *Set) File() string { return s.file }

// Len is the number of topics.
func (s *Set) Len() int { return len(s.topics) }

// Topics returns the topics, in file order. Their Expr trees are shared
// with the Set: read them, do not modify them.
func (s *Set) Topics() []Topic {
	out := make([]Topic, len(s.topics))
	for i, t := range s.topics {
		out[i] = t.Topic
	}
	return out
}

// Compile compiles topics into a Set. Each topic needs a unique valid name
// and a query (Expr, or Query to parse); a zero Threshold means
// DefaultThreshold.
func Compile(topics []Topic) (*Set, error) {
	s, errs := compile("", topics)
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return s, nil
}

// compile builds a Set; errors are *SyntaxError located in the topic's
// query (Offset) for the caller to place in a file.
func compile(file string, topics []Topic) (*Set, []*SyntaxError) {
	s := &Set{file: file}
	s.m = matcher{
		edges:    map[uint64]int32{},
		terminal: []int32{-1},
		depth:    []int32{0},
	}
	s.m.words.init()
	var errs []*SyntaxError
	seen := map[string]bool{}
	for _, t := range topics {
		if msg := checkName(t.Name); msg != "" {
			errs = append(errs, &SyntaxError{Topic: t.Name, Offset: -1, Msg: msg})
			continue
		}
		if seen[t.Name] {
			errs = append(errs, &SyntaxError{Topic: t.Name, Offset: -1, Msg: "duplicate topic name"})
			continue
		}
		seen[t.Name] = true
		if t.Threshold == 0 {
			t.Threshold = DefaultThreshold
		}
		if msg := checkThresholds(t.Threshold, t.SeverityThreshold); msg != "" {
			errs = append(errs, &SyntaxError{Topic: t.Name, Offset: -1, Msg: msg})
			continue
		}
		label, msg := checkModel(&t)
		if msg != "" {
			errs = append(errs, &SyntaxError{Topic: t.Name, Offset: -1, Msg: msg})
			continue
		}
		if t.Expr == nil && t.Query != "" {
			e, err := ParseQuery(t.Query)
			if err != nil {
				se := err.(*SyntaxError)
				se.Topic = t.Name
				errs = append(errs, se)
				continue
			}
			t.Expr = e
		}
		if t.Query == "" && t.Expr != nil {
			t.Query = t.Expr.String()
		}
		if t.Expr != nil && !needsTerm(t.Expr) {
			errs = append(errs, &SyntaxError{Topic: t.Name, Offset: t.Expr.Pos,
				Expected: "a term that must occur for the query to match",
				Found:    "a query that can match on NOT, source: or lang: alone"})
			continue
		}
		ct := &ctopic{Topic: t, model: -1, label: label}
		id := int32(len(s.topics))
		if t.Expr != nil {
			ct.root = s.m.compileNode(t.Expr, FieldTitle|FieldText)
			trig, _, _ := s.m.triggerPhrases(ct.root)
			for _, p := range uniq(trig) {
				s.m.phraseTopics[p] = append(s.m.phraseTopics[p], id)
			}
		}
		if t.Model != nil && t.Combine != CombineQuery {
			ct.model = slices.Index(s.models, t.Model)
			if ct.model < 0 {
				ct.model = len(s.models)
				s.models = append(s.models, t.Model)
			}
			s.modelTopics = append(s.modelTopics, id)
		}
		s.topics = append(s.topics, ct)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	s.m.words.freeze()
	return s, nil
}

func uniq(xs []int32) []int32 {
	slices.Sort(xs)
	return slices.Compact(xs)
}

// checkName: names appear in NATS subjects and metric labels.
func checkName(name string) string {
	if name == "" {
		return "topic without a name"
	}
	if len(name) > 64 {
		return "topic name longer than 64 characters"
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || (i > 0 && (c == '-' || c == '_'))
		if !ok {
			return "topic name " + strconv.Quote(name) + ": use lower-case letters, digits, - and _ (starting with a letter or digit)"
		}
	}
	return ""
}

func checkThresholds(th, sev float64) string {
	if math.IsNaN(th) || th <= 0 || th > 1 {
		return fmt.Sprintf("threshold %v: must be in (0, 1]", th)
	}
	if sev != 0 && (math.IsNaN(sev) || sev < th || sev > 1) {
		return fmt.Sprintf("severity_threshold %v: must be between threshold (%v) and 1", sev, th)
	}
	return ""
}

// needsTerm reports whether e can only be true when at least one of its
// terms occurs (false for NOT x, lang:en, a OR NOT b).
func needsTerm(e *Expr) bool {
	switch e.Op {
	case OpTerm:
		return true
	case OpField:
		return needsTerm(e.Kids[0])
	case OpOr:
		for _, k := range e.Kids {
			if !needsTerm(k) {
				return false
			}
		}
		return true
	case OpAnd, OpNear:
		for _, k := range e.Kids {
			if needsTerm(k) {
				return true
			}
		}
	}
	return false
}

// termCost estimates how often a term occurs, relative to a plain word:
// phrases are rarer, prefixes more common.
func termCost(ws []Word) float64 {
	if len(ws) > 1 {
		return 0.3
	}
	if ws[0].Prefix {
		return 1.5
	}
	return 1
}

// triggerPhrases returns the phrases one of which must hit for n to be
// true, chosen to be the cheapest such set.
func (m *matcher) triggerPhrases(n *cnode) (ps []int32, cost float64, ok bool) {
	switch n.op {
	case OpTerm:
		return []int32{n.phrase}, termCost(m.phrases[n.phrase]), true
	case OpField:
		return m.triggerPhrases(n.kids[0])
	case OpOr:
		var all []int32
		total := 0.0
		for _, k := range n.kids {
			p, c, ok := m.triggerPhrases(k)
			if !ok {
				return nil, 0, false
			}
			all = append(all, p...)
			total += c
		}
		return all, total, true
	case OpAnd, OpNear:
		var best []int32
		bestCost, found := 0.0, false
		for _, k := range n.kids {
			p, c, ok := m.triggerPhrases(k)
			if ok && (!found || c < bestCost) {
				best, bestCost, found = p, c, true
			}
		}
		return best, bestCost, found
	}
	return nil, 0, false
}

func (m *matcher) compileNode(e *Expr, fields Field) *cnode {
	n := &cnode{op: e.Op, expr: e}
	switch e.Op {
	case OpTerm:
		n.phrase = m.addPhrase(e.Words)
		n.fields = uint8(fields)
	case OpField:
		n.kids = []*cnode{m.compileNode(e.Kids[0], e.Field)}
	case OpSource:
		n.words = e.Words
		m.hasSource = true
	case OpLang:
		n.lang = e.Lang
	case OpNear:
		n.n = int32(e.N)
		n.ordered = e.Ordered
		fallthrough
	default:
		for _, k := range e.Kids {
			n.kids = append(n.kids, m.compileNode(k, fields))
		}
	}
	return n
}

func (m *matcher) atom(w Word) int32 {
	return m.words.add(w.Text, w.Prefix, &m.natoms)
}

// addPhrase adds a phrase to the trie and returns its id.
func (m *matcher) addPhrase(ws []Word) int32 {
	node := int32(0)
	for _, w := range ws {
		a := m.atom(w)
		for int(a) >= len(m.rootNext) {
			m.rootNext = append(m.rootNext, 0)
		}
		next := m.next(node, a)
		if next == 0 {
			next = int32(len(m.terminal))
			if node == 0 {
				m.rootNext[a] = next
			} else {
				m.edges[uint64(node)<<32|uint64(uint32(a))] = next
			}
			m.terminal = append(m.terminal, -1)
			m.depth = append(m.depth, m.depth[node]+1)
		}
		node = next
	}
	if p := m.terminal[node]; p >= 0 {
		return p
	}
	p := int32(len(m.phrases))
	m.terminal[node] = p
	m.phrases = append(m.phrases, ws)
	var e Expr
	e.Op, e.Words = OpTerm, ws
	m.phraseNames = append(m.phraseNames, e.String())
	m.phraseTopics = append(m.phraseTopics, nil)
	return p
}

// next returns the phrase-trie node after node on atom, 0 if none.
func (m *matcher) next(node, atom int32) int32 {
	if node == 0 {
		if int(atom) < len(m.rootNext) {
			return m.rootNext[atom]
		}
		return 0
	}
	return m.edges[uint64(node)<<32|uint64(uint32(atom))]
}

// wordTrie maps folded words and word prefixes to atoms: one walk over a
// token's bytes finds the token itself and every prefix of it that a
// query asked for. It is built with growable nodes, then frozen into flat
// arrays in breadth-first order (16-byte nodes, children of a node
// contiguous, indexed by byte), so a step is one index into hot memory.
type wordTrie struct {
	build []bnode // while compiling; nil once frozen
	nodes []tnode // frozen; nodes[0] is the root
	kids  []int32
}

type bnode struct {
	kids   map[byte]int32
	exact  int32 // atom of the word ending here, -1 if none
	prefix int32 // atom of the prefix ending here, -1 if none
}

type tnode struct {
	lo     uint8  // byte of the first child
	n      uint16 // children span bytes lo .. lo+n-1
	exact  int32
	prefix int32
	base   int32 // children at kids[base : base+n] (0: none)
}

func (t *wordTrie) init() {
	t.build = []bnode{{exact: -1, prefix: -1}}
}

// add returns the atom of a word (or prefix), creating it if new.
func (t *wordTrie) add(w string, prefix bool, natoms *int32) int32 {
	n := int32(0)
	for i := 0; i < len(w); i++ {
		next, ok := t.build[n].kids[w[i]]
		if !ok {
			next = int32(len(t.build))
			t.build = append(t.build, bnode{exact: -1, prefix: -1})
			if t.build[n].kids == nil {
				t.build[n].kids = map[byte]int32{}
			}
			t.build[n].kids[w[i]] = next
		}
		n = next
	}
	at := &t.build[n].exact
	if prefix {
		at = &t.build[n].prefix
	}
	if *at < 0 {
		*at = *natoms
		*natoms++
	}
	return *at
}

// freeze lays the trie out for matching.
func (t *wordTrie) freeze() {
	order := []int32{0} // build index of each frozen node, breadth first
	index := map[int32]int32{0: 0}
	for i := 0; i < len(order); i++ {
		for _, b := range sortedKeys(t.build[order[i]].kids) {
			c := t.build[order[i]].kids[b]
			index[c] = int32(len(order))
			order = append(order, c)
		}
	}
	t.nodes = make([]tnode, len(order))
	t.kids = []int32{0} // base 0 means no children
	for i, bi := range order {
		bn := &t.build[bi]
		nd := tnode{exact: bn.exact, prefix: bn.prefix}
		if keys := sortedKeys(bn.kids); len(keys) > 0 {
			lo, hi := keys[0], keys[len(keys)-1]
			nd.lo, nd.n, nd.base = lo, uint16(int(hi)-int(lo)+1), int32(len(t.kids))
			t.kids = append(t.kids, make([]int32, nd.n)...)
			for _, b := range keys {
				t.kids[int(nd.base)+int(b-lo)] = index[bn.kids[b]]
			}
		}
		t.nodes[i] = nd
	}
	t.build = nil
}

func sortedKeys(m map[byte]int32) []byte {
	keys := make([]byte, 0, len(m))
	for b := range m {
		keys = append(keys, b)
	}
	slices.Sort(keys)
	return keys
}

// match appends the atoms of w: every prefix of it a query asked for, and
// w itself.
func (t *wordTrie) match(w string, out []int32) []int32 {
	nodes, kids := t.nodes, t.kids
	n := int32(0)
	for i := 0; i < len(w); i++ {
		nd := &nodes[n]
		j := int(w[i]) - int(nd.lo)
		if j < 0 || j >= int(nd.n) {
			return out
		}
		if n = kids[int(nd.base)+j]; n == 0 {
			return out
		}
		if p := nodes[n].prefix; p >= 0 {
			out = append(out, p)
		}
	}
	if e := nodes[n].exact; e >= 0 {
		out = append(out, e)
	}
	return out
}

// DefaultSeverityThreshold is the score from which an alert is high
// severity when the topic sets no severity_threshold.
const DefaultSeverityThreshold = 0.8

// severity is "high" from the topic's severity threshold, else "normal".
func (t *Topic) severity(score float64) string {
	st := t.SeverityThreshold
	if st == 0 {
		st = max(DefaultSeverityThreshold, t.Threshold)
	}
	if score >= st {
		return "high"
	}
	return "normal"
}
