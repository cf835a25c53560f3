package topics

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/learn"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Scoring weights (see Score in docs/topics.md).
const (
	weightTitle  = 1.5  // a term seen in the title
	weightText   = 1.0  // a term seen in the text
	weightRepeat = 0.25 // each further occurrence of a term ...
	maxRepeats   = 4    // ... counted up to this many
	// MaxMatches is the most matches a TopicMatch lists (the score counts
	// them all).
	MaxMatches = 32
	// maxSpans bounds the spans a NEAR computes on one article.
	maxSpans = 1024
	// modelEvidence is how many of the words that weighed most a model
	// hit lists as matches.
	modelEvidence = 5
)

// hit is one occurrence of a phrase in the article.
type hit struct {
	phrase      int32
	next        int32 // next hit of the same phrase, -1 at the end
	field       uint8
	pos, endPos int32 // first and last token index in the field
	start, end  int32 // byte offsets in the field
}

// span is a run of tokens in one field (a NEAR operand or result).
type span struct {
	field    uint8
	pos, end int32
}

// scratch is the per-call working memory of Match, pooled per Set.
type scratch struct {
	gen        uint32
	phraseGen  []uint32
	phraseHead []int32 // first hit of a phrase (when phraseGen is current)
	phraseTail []int32
	topicGen   []uint32

	hits         []hit
	atoms        []int32
	active, next []int32
	cands        []int32
	arena        []span
	ev           []int32
	evh          []hit
	toks         []fold.Token // the words of the field being scanned
	feed         []string
	feedDone     bool
	feedName     string
	lang         string
	title, text  string
	termsSeen    []termAgg
	qres         []qresult   // query results of topics that also have a model
	mscores      [][]float64 // per model: the decision value of each label
}

// qresult is the query's verdict on a topic that also has a model.
type qresult struct {
	topic int32
	tm    pipeline.TopicMatch
}

type termAgg struct {
	phrase      int32
	title, text bool
	occurrences int
}

func (s *Set) getScratch() *scratch {
	if sc, ok := s.pool.Get().(*scratch); ok {
		return sc
	}
	return &scratch{
		phraseGen:  make([]uint32, len(s.m.phrases)),
		phraseHead: make([]int32, len(s.m.phrases)),
		phraseTail: make([]int32, len(s.m.phrases)),
		topicGen:   make([]uint32, len(s.topics)),
	}
}

func (sc *scratch) reset(a *pipeline.Article) {
	sc.gen++
	if sc.gen == 0 { // wrapped: forget every stamp
		clear(sc.phraseGen)
		clear(sc.topicGen)
		sc.gen = 1
	}
	sc.hits = sc.hits[:0]
	sc.cands = sc.cands[:0]
	sc.feedDone = false
	sc.feed = sc.feed[:0]
	sc.feedName = a.Feed
	if sc.feedName == "" {
		sc.feedName = a.FeedURL
	}
	sc.lang = a.Language
	if sc.lang == "" {
		sc.lang = a.FeedLanguage
	}
	sc.lang = normLang(sc.lang)
	sc.title = a.Title
	sc.text = a.Text
	if sc.text == "" {
		sc.text = a.Content
	}
}

// Match returns the topics the article is tagged with: those whose query
// matches with a score at or above their threshold, by score (highest
// first), then name. It reads a.Title, a.Text (a.Content when Text is
// empty: offsets of "text" matches are then into Content), a.Feed (a.FeedURL
// when empty) and a.Language (a.FeedLanguage when empty).
func (s *Set) Match(a *pipeline.Article) []pipeline.TopicMatch {
	return s.match(a, true)
}

// MatchAll is Match without the thresholds: every topic whose query
// matches, whatever its score.
func (s *Set) MatchAll(a *pipeline.Article) []pipeline.TopicMatch {
	return s.match(a, false)
}

func (s *Set) match(a *pipeline.Article, threshold bool) []pipeline.TopicMatch {
	if len(s.topics) == 0 {
		return nil
	}
	sc := s.getScratch()
	defer func() {
		sc.title, sc.text, sc.feedName = "", "", "" // keep no article alive
		s.pool.Put(sc)
	}()
	sc.reset(a)
	s.m.scan(sc, sc.title, uint8(FieldTitle))
	s.m.scan(sc, sc.text, uint8(FieldText))
	if len(sc.cands) == 0 && len(s.modelTopics) == 0 {
		return nil
	}
	var out []pipeline.TopicMatch
	sc.qres = sc.qres[:0]
	for _, ti := range sc.cands {
		t := s.topics[ti]
		sc.arena = sc.arena[:0]
		if !sc.eval(t.root) {
			continue
		}
		tm := sc.explain(&s.m, t)
		if t.model >= 0 {
			sc.qres = append(sc.qres, qresult{topic: ti, tm: tm})
			continue
		}
		if threshold && tm.Score < t.Threshold {
			continue
		}
		out = append(out, tm)
	}
	if len(s.modelTopics) > 0 {
		out = s.matchModels(sc, out, threshold)
	}
	slices.SortFunc(out, func(x, y pipeline.TopicMatch) int {
		if c := cmp.Compare(y.Score, x.Score); c != 0 {
			return c
		}
		return strings.Compare(x.Name, y.Name)
	})
	return out
}

// matchModels decides the topics that use a model (see Combine) and
// appends those tagged to out. The model's score is learn.Prob of its
// decision value: 0.5 at the model's boundary. The model fires when that
// score reaches the topic's threshold or 0.5, whichever is lower.
func (s *Set) matchModels(sc *scratch, out []pipeline.TopicMatch, threshold bool) []pipeline.TopicMatch {
	if len(sc.mscores) < len(s.models) {
		sc.mscores = make([][]float64, len(s.models))
	}
	for i, m := range s.models {
		if len(sc.mscores[i]) != len(m.Labels) {
			sc.mscores[i] = make([]float64, len(m.Labels))
		}
		m.ScoresInto(sc.mscores[i], sc.title, sc.text)
	}
	for _, ti := range s.modelTopics {
		t := s.topics[ti]
		ms := math.Round(learn.Prob(sc.mscores[t.model][t.label])*1e4) / 1e4
		fires := ms >= min(t.Threshold, 0.5)
		var q *pipeline.TopicMatch
		for i := range sc.qres {
			if sc.qres[i].topic == ti {
				q = &sc.qres[i].tm
				break
			}
		}
		modelBranch := "model:" + t.ModelFile
		var tm pipeline.TopicMatch
		switch {
		case t.Combine == CombineModel && fires:
			tm = pipeline.TopicMatch{Name: t.Name, Score: ms, Branch: modelBranch}
		case t.Combine == CombineEither && (q != nil || fires):
			if q == nil {
				tm = pipeline.TopicMatch{Name: t.Name, Score: ms, Branch: modelBranch}
				break
			}
			tm = *q
			if fires {
				tm.Score = max(tm.Score, ms)
				tm.Branch = orBranch(tm.Branch) + " OR " + modelBranch
			}
		case t.Combine == CombineBoth && q != nil && fires:
			tm = *q
			tm.Score = min(tm.Score, ms)
			tm.Branch = orBranch(tm.Branch) + " AND " + modelBranch
		default:
			continue
		}
		if threshold && tm.Score < t.Threshold {
			continue
		}
		tm.Severity = t.severity(tm.Score)
		if fires {
			tm.Matches = sc.modelMatches(t, tm.Matches)
		}
		out = append(out, tm)
	}
	return out
}

// orBranch parenthesises a query branch that has a top-level OR or AND.
func orBranch(b string) string {
	if strings.Contains(b, " OR ") || strings.Contains(b, " AND ") {
		return "(" + b + ")"
	}
	return b
}

// modelMatches appends the words and bigrams that weighed most in the
// model's decision, where they first occur, up to MaxMatches in all.
func (sc *scratch) modelMatches(t *ctopic, ms []pipeline.Match) []pipeline.Match {
	cs, _ := t.Model.Explain(t.ModelLabel, sc.title, sc.text, modelEvidence)
	ms = slices.Clip(ms)
	for _, c := range cs {
		if len(ms) >= MaxMatches {
			break
		}
		src := sc.text
		if c.Field == "title" {
			src = sc.title
		}
		if c.Start < 0 || c.End > len(src) || c.Start > c.End {
			continue
		}
		ms = append(ms, pipeline.Match{Term: c.Term, Text: src[c.Start:c.End], Field: c.Field, Start: c.Start, End: c.End})
	}
	return ms
}

// scan tokenizes one field and records every phrase occurrence: one pass
// over the tokens whatever the number of topics.
func (m *matcher) scan(sc *scratch, s string, field uint8) {
	if s == "" {
		return
	}
	sc.toks = fold.AppendTokens(sc.toks[:0], s)
	toks := sc.toks
	defer clear(toks) // keep no article alive in the pool
	sc.active = sc.active[:0]
	for i, tk := range toks {
		atoms := m.words.match(tk.Word, sc.atoms[:0])
		sc.atoms = atoms
		if len(atoms) == 0 {
			sc.active = sc.active[:0]
			continue
		}
		next := sc.next[:0]
		for _, a := range atoms {
			next = m.step(sc, next, 0, a, toks, i, field)
			for _, st := range sc.active {
				next = m.step(sc, next, st, a, toks, i, field)
			}
		}
		sc.active, sc.next = next, sc.active
	}
}

func (m *matcher) step(sc *scratch, next []int32, node, atom int32, toks []fold.Token, i int, field uint8) []int32 {
	c := m.next(node, atom)
	if c == 0 {
		return next
	}
	next = append(next, c)
	p := m.terminal[c]
	if p < 0 {
		return next
	}
	first := i - int(m.depth[c]) + 1
	idx := int32(len(sc.hits))
	sc.hits = append(sc.hits, hit{
		phrase: p, next: -1, field: field,
		pos: int32(first), endPos: int32(i),
		start: int32(toks[first].Start), end: int32(toks[i].End),
	})
	// Chain the hits of each phrase (in field, then position order) and
	// note the topics this phrase can trigger.
	if sc.phraseGen[p] == sc.gen {
		sc.hits[sc.phraseTail[p]].next = idx
		sc.phraseTail[p] = idx
		return next
	}
	sc.phraseGen[p] = sc.gen
	sc.phraseHead[p], sc.phraseTail[p] = idx, idx
	for _, t := range m.phraseTopics[p] {
		if sc.topicGen[t] != sc.gen {
			sc.topicGen[t] = sc.gen
			sc.cands = append(sc.cands, t)
		}
	}
	return next
}

// firstHit returns the index of the first hit of a term's phrase (any
// field), -1 if none; hits[i].next chains the rest.
func (sc *scratch) firstHit(n *cnode) int32 {
	if sc.phraseGen[n.phrase] != sc.gen {
		return -1
	}
	return sc.phraseHead[n.phrase]
}

func (sc *scratch) eval(n *cnode) bool {
	switch n.op {
	case OpTerm:
		for i := sc.firstHit(n); i >= 0; i = sc.hits[i].next {
			if sc.hits[i].field&n.fields != 0 {
				return true
			}
		}
		return false
	case OpField:
		return sc.eval(n.kids[0])
	case OpAnd:
		for _, k := range n.kids {
			if !sc.eval(k) {
				return false
			}
		}
		return true
	case OpOr:
		for _, k := range n.kids {
			if sc.eval(k) {
				return true
			}
		}
		return false
	case OpNot:
		return !sc.eval(n.kids[0])
	case OpNear:
		lo, hi := sc.spans(n)
		return hi > lo
	case OpSource:
		return sc.feedHas(n.words)
	case OpLang:
		return sc.lang == n.lang || strings.HasPrefix(sc.lang, n.lang) && strings.HasPrefix(sc.lang[len(n.lang):], "-")
	}
	return false
}

// spans appends the spans where n occurs to sc.arena and returns their
// range there.
func (sc *scratch) spans(n *cnode) (lo, hi int) {
	switch n.op {
	case OpTerm:
		lo = len(sc.arena)
		for i := sc.firstHit(n); i >= 0; i = sc.hits[i].next {
			if h := &sc.hits[i]; h.field&n.fields != 0 {
				sc.arena = append(sc.arena, span{h.field, h.pos, h.endPos})
			}
		}
		return lo, len(sc.arena)
	case OpField:
		return sc.spans(n.kids[0])
	case OpOr:
		if len(n.kids) == 1 {
			return sc.spans(n.kids[0])
		}
		type rng struct{ lo, hi int }
		var small [8]rng
		rs := small[:0]
		for _, k := range n.kids {
			l, h := sc.spans(k)
			rs = append(rs, rng{l, h})
		}
		lo = len(sc.arena)
		for _, r := range rs {
			for i := r.lo; i < r.hi; i++ {
				sc.arena = append(sc.arena, sc.arena[i])
			}
		}
		return lo, len(sc.arena)
	case OpNear:
		l0, l1 := sc.spans(n.kids[0])
		if l0 == l1 {
			return l0, l0
		}
		r0, r1 := sc.spans(n.kids[1])
		// Sort the right spans so each left span only visits those that
		// can be near it: linear in the hits, not their product.
		right := sc.arena[r0:r1]
		maxLen := sortSpans(right)
		lo = len(sc.arena)
		for i := l0; i < l1; i++ {
			a := sc.arena[i]
			from := a.pos - n.n - maxLen - 1
			j, _ := slices.BinarySearchFunc(right, span{a.field, from, 0}, cmpSpan)
			for ; j < len(right) && right[j].field == a.field && right[j].pos <= a.end+n.n+1; j++ {
				b := right[j]
				var gap int32
				switch {
				case a.end < b.pos:
					gap = b.pos - a.end - 1
				case !n.ordered && b.end < a.pos:
					gap = a.pos - b.end - 1
				default:
					continue // overlapping, or out of order for ONEAR
				}
				if gap > n.n {
					continue
				}
				sc.arena = append(sc.arena, span{a.field, min(a.pos, b.pos), max(a.end, b.end)})
				if len(sc.arena)-lo >= maxSpans {
					return lo, len(sc.arena)
				}
			}
		}
		return lo, len(sc.arena)
	}
	return len(sc.arena), len(sc.arena)
}

func cmpSpan(x, y span) int {
	return cmp.Or(cmp.Compare(x.field, y.field), cmp.Compare(x.pos, y.pos))
}

// sortSpans sorts spans by field and position and returns the longest
// one's length (end - pos).
func sortSpans(ss []span) int32 {
	slices.SortFunc(ss, cmpSpan)
	var longest int32
	for _, x := range ss {
		longest = max(longest, x.end-x.pos)
	}
	return longest
}

func (sc *scratch) feedHas(ws []Word) bool {
	if !sc.feedDone {
		sc.feedDone = true
		sc.toks = fold.AppendTokens(sc.toks[:0], sc.feedName)
		for _, t := range sc.toks {
			sc.feed = append(sc.feed, t.Word)
		}
		clear(sc.toks)
	}
	for i := 0; i+len(ws) <= len(sc.feed); i++ {
		ok := true
		for j, w := range ws {
			f := sc.feed[i+j]
			if w.Prefix && !strings.HasPrefix(f, w.Text) || !w.Prefix && f != w.Text {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// explain builds the TopicMatch of a topic whose query is true: the
// evidence (hits in the branches that are true), the pruned branch and
// the score.
func (sc *scratch) explain(m *matcher, t *ctopic) pipeline.TopicMatch {
	sc.ev = sc.ev[:0]
	sc.arena = sc.arena[:0]
	branch := sc.collect(t.root)
	// Distinct occurrences: words matched by two terms (ukraine and
	// ukrain*), or inside a longer match ("guarantees" inside "security
	// guarantees"), count once, for the first or longest match.
	evh := sc.evh[:0]
	for _, i := range sc.ev {
		evh = append(evh, sc.hits[i])
	}
	slices.SortFunc(evh, func(x, y hit) int {
		return cmp.Or(cmp.Compare(x.field, y.field), cmp.Compare(x.start, y.start),
			cmp.Compare(y.end, x.end), cmp.Compare(x.phrase, y.phrase))
	})
	kept := evh[:0]
	for _, h := range evh {
		if n := len(kept); n > 0 && kept[n-1].field == h.field && h.end <= kept[n-1].end {
			continue
		}
		kept = append(kept, h)
	}
	evh = kept
	sc.evh = evh
	aggs := sc.termsSeen[:0]
	for _, h := range evh {
		i := slices.IndexFunc(aggs, func(a termAgg) bool { return a.phrase == h.phrase })
		if i < 0 {
			aggs = append(aggs, termAgg{phrase: h.phrase})
			i = len(aggs) - 1
		}
		aggs[i].occurrences++
		if h.field == uint8(FieldTitle) {
			aggs[i].title = true
		} else {
			aggs[i].text = true
		}
	}
	sc.termsSeen = aggs
	raw := 0.0
	for _, a := range aggs {
		if a.title {
			raw += weightTitle
		}
		if a.text {
			raw += weightText
		}
		raw += weightRepeat * float64(min(a.occurrences-1, maxRepeats))
	}
	score := Score(raw)
	tm := pipeline.TopicMatch{
		Name:     t.Name,
		Score:    score,
		Severity: t.severity(score),
		Branch:   branch.String(),
	}
	n := min(len(evh), MaxMatches)
	tm.Matches = make([]pipeline.Match, n)
	for i, h := range evh[:n] {
		src, field := sc.text, "text"
		if h.field == uint8(FieldTitle) {
			src, field = sc.title, "title"
		}
		tm.Matches[i] = pipeline.Match{
			Term:  m.phraseNames[h.phrase],
			Text:  src[h.start:h.end],
			Field: field,
			Start: int(h.start),
			End:   int(h.end),
		}
	}
	return tm
}

// Score maps the evidence weight of a match to [0, 1): 1 - 2^-raw, rounded
// to 4 decimals. raw sums, over the distinct terms that matched, 1.5 if the
// term is in the title, 1 if in the text, and 0.25 for each further
// occurrence up to 4. One mention in the text scores 0.5, one in the
// title 0.65, a term in both 0.82, two terms in the text 0.75.
func Score(raw float64) float64 {
	return math.Round((1-math.Exp2(-raw))*1e4) / 1e4
}

// collect appends the hits of the true branches under n to sc.ev and
// returns the branch that fired: n with the false kids of every OR
// removed.
func (sc *scratch) collect(n *cnode) *Expr {
	switch n.op {
	case OpTerm:
		for i := sc.firstHit(n); i >= 0; i = sc.hits[i].next {
			if sc.hits[i].field&n.fields != 0 {
				sc.ev = append(sc.ev, i)
			}
		}
		return n.expr
	case OpField:
		k := sc.collect(n.kids[0])
		if k == n.kids[0].expr {
			return n.expr
		}
		return &Expr{Op: OpField, Field: n.expr.Field, Kids: []*Expr{k}, Pos: n.expr.Pos}
	case OpAnd:
		// Exclusions that held (NOT kids) are left out of the branch: it
		// shows what matched.
		var kids []*Expr
		changed := false
		for _, k := range n.kids {
			if k.op == OpNot {
				changed = true
				continue
			}
			e := sc.collect(k)
			changed = changed || e != k.expr
			kids = append(kids, e)
		}
		if !changed {
			return n.expr
		}
		if len(kids) == 1 {
			return kids[0]
		}
		return &Expr{Op: OpAnd, Kids: flatten(OpAnd, kids), Pos: n.expr.Pos}
	case OpOr:
		var kids []*Expr
		for _, k := range n.kids {
			sc.arena = sc.arena[:0]
			if sc.eval(k) {
				kids = append(kids, sc.collect(k))
			}
		}
		if len(kids) == 1 {
			return kids[0]
		}
		return &Expr{Op: OpOr, Kids: flatten(OpOr, kids), Pos: n.expr.Pos}
	case OpNear:
		sc.arena = sc.arena[:0]
		lo, hi := sc.spans(n)
		sc.nearEvidence(n, sc.arena[lo:hi])
		return n.expr
	}
	return n.expr // NOT, source:, lang: carry no evidence
}

func flatten(op Op, kids []*Expr) []*Expr {
	var out []*Expr
	for _, k := range kids {
		out = appendFlat(out, op, k)
	}
	return out
}

// nearEvidence appends the hits of the terms under n that lie inside one
// of the spans where n matched.
func (sc *scratch) nearEvidence(n *cnode, spans []span) {
	longest := sortSpans(spans)
	sc.nearEvidenceIn(n, spans, longest)
}

func (sc *scratch) nearEvidenceIn(n *cnode, spans []span, longest int32) {
	if n.op != OpTerm {
		for _, k := range n.kids {
			sc.nearEvidenceIn(k, spans, longest)
		}
		return
	}
	for i := sc.firstHit(n); i >= 0; i = sc.hits[i].next {
		h := sc.hits[i]
		if h.field&n.fields == 0 {
			continue
		}
		// A span holding the hit starts at most longest words before it.
		j, _ := slices.BinarySearchFunc(spans, span{h.field, h.endPos - longest, 0}, cmpSpan)
		for ; j < len(spans) && spans[j].field == h.field && spans[j].pos <= h.pos; j++ {
			if h.endPos <= spans[j].end {
				sc.ev = append(sc.ev, i)
				break
			}
		}
	}
}
