package tag

import (
	"context"
	"slices"
	"strings"
	"sync"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Tagger is the "tag" pipeline stage. It is safe for concurrent use.
type Tagger struct {
	g    *Gazetteer
	pool sync.Pool // of *collector, reused from article to article
}

var _ pipeline.Stage = (*Tagger)(nil)

// New returns a tagger over g; a nil g means Default().
func New(g *Gazetteer) *Tagger {
	if g == nil {
		g = Default()
	}
	return &Tagger{g: g}
}

// Name returns the stage name, "tag".
func (t *Tagger) Name() string { return "tag" }

// Process sets a.Entities from the article's Title and Text (its Content,
// with HTML tags blanked out, when Text is empty). It replaces whatever
// a.Entities held, so processing an article twice gives the same result.
func (t *Tagger) Process(ctx context.Context, a *pipeline.Article) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	body := a.Text
	if body == "" {
		body = blankTags(a.Content)
	}
	a.Entities = t.Tag(a.Title, body)
	return nil
}

// Tag returns the entities named in title and text, each once, in their
// canonical form. They are ordered by type (person, place, org), then by
// first appearance (the title comes before the text). It returns nil when
// there are none.
func (t *Tagger) Tag(title, text string) []pipeline.Entity {
	c, _ := t.pool.Get().(*collector)
	if c == nil {
		c = &collector{seen: make([]uint64, (len(t.g.entities)+63)/64)}
	}
	defer t.pool.Put(c)
	defer c.reset()
	t.g.scan(title, c)
	t.g.scan(text, c)
	if len(c.found) == 0 {
		return nil
	}
	slices.SortStableFunc(c.found, func(x, y int32) int {
		return typeRank(t.g.entities[x].Type) - typeRank(t.g.entities[y].Type)
	})
	out := make([]pipeline.Entity, len(c.found))
	for i, id := range c.found {
		out[i] = t.g.entities[id]
	}
	return out
}

// collector records entities in order of first appearance. It holds the
// token buffer too, so that a pooled collector tags without allocating
// for the words.
type collector struct {
	seen  []uint64 // bit per entity id
	found []int32
	toks  []fold.Token
}

// reset empties c for the next article.
func (c *collector) reset() {
	for _, id := range c.found {
		c.seen[id/64] = 0
	}
	c.found = c.found[:0]
}

func (c *collector) add(id int32) {
	w, bit := id/64, uint64(1)<<(id%64)
	if c.seen[w]&bit != 0 {
		return
	}
	c.seen[w] |= bit
	c.found = append(c.found, id)
}

// scan walks the words of s once. At each word it tries the aliases that
// start with it, longest first; on a match it records the entity and skips
// the matched words, otherwise it moves on one word.
func (g *Gazetteer) scan(s string, c *collector) {
	c.toks = fold.AppendTokens(c.toks[:0], s)
	toks := c.toks
	defer clear(toks) // keep no article alive in the pool
	for i := 0; i < len(toks); {
		step := 1
		for _, ai := range g.index[toks[i].Word] {
			a := &g.aliases[ai]
			if a.matchAt(s, toks, i) {
				c.add(a.entity)
				step = len(a.words)
				break
			}
		}
		i += step
	}
}

// matchAt reports whether the alias matches the words of s from toks[i].
func (a *alias) matchAt(s string, toks []fold.Token, i int) bool {
	if i+len(a.words) > len(toks) {
		return false
	}
	for j, w := range a.words {
		tok := toks[i+j]
		if tok.Word != w {
			return false
		}
		if a.orig != nil && s[tok.Start:tok.End] != a.orig[j] {
			return false
		}
		if j > 0 && !gapOK(s[toks[i+j-1].End:tok.Start], a.gaps[j-1]) {
			return false
		}
	}
	return true
}

// gapOK reports whether what the text has between two words of an alias is
// acceptable: spaces, hyphens, and the punctuation the alias itself writes
// there. A line break or any other punctuation (a full stop, a comma) ends
// the name.
func gapOK(text, allowed string) bool {
	for _, r := range text {
		switch r {
		case ' ', '\t', '\u00a0', '-', '\u2010', '\u2011':
			continue
		case '\n', '\r':
			return false
		}
		if !strings.ContainsRune(allowed, r) {
			return false
		}
	}
	return true
}

// blankTags returns s with every HTML tag or comment ("<p>", "</a>",
// "<!-- -->") replaced by spaces of the same length, so tag names and
// attributes are not read as words while byte offsets stay the same. A '<'
// not followed by a letter, '/', '!' or '?', or never closed, is text.
func blankTags(s string) string {
	if strings.IndexByte(s, '<') < 0 {
		return s
	}
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '<' || i+1 == len(s) || !tagStart(s[i+1]) {
			continue
		}
		end := strings.IndexByte(s[i+1:], '>')
		if end < 0 {
			break
		}
		end += i + 1
		if b == nil {
			b = []byte(s)
		}
		for j := i; j <= end; j++ {
			b[j] = ' '
		}
		i = end
	}
	if b == nil {
		return s
	}
	return string(b)
}

func tagStart(c byte) bool {
	return c == '/' || c == '!' || c == '?' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}
