// Package story says what makes two articles the same story: articles
// about the same event from different outlets (looser than a near
// duplicate) share a story id, with the time the story was first seen and
// the number of distinct sources (feeds) that carried it. A story whose
// sources jump (BreakingSources within BreakingWindow) is breaking.
//
// An article is recognised by MinHash with LSH over the content words of
// its headline and lead (Sketch); two articles tell the same story when
// their signatures are similar enough (Same). The ledger
// (pipeline/ledger) keeps the stories and assigns them in ledger order.
package story

import (
	"slices"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// Config tunes stories.
type Config struct {
	// Threshold is the estimated Jaccard similarity of the headline and
	// lead words from which two articles tell the same story (default
	// 0.3).
	Threshold float64
	// LeadWords is how many words of the text count with the headline
	// (default 40).
	LeadWords int
	// BreakingSources within BreakingWindow mark a story breaking
	// (defaults 5 and 30m).
	BreakingSources int
	BreakingWindow  time.Duration
	// MaxSources bounds the sources a story lists (default 200); beyond
	// it the count still grows.
	MaxSources int
	// Bits is how many bits of each story hash an index keeps, 1 to 8
	// (default 8; dedup.Params.Bits).
	Bits int
}

// WithDefaults fills the zero fields.
func (c Config) WithDefaults() Config {
	if c.Threshold <= 0 {
		c.Threshold = 0.3
	}
	if c.LeadWords <= 0 {
		c.LeadWords = 40
	}
	if c.BreakingSources <= 0 {
		c.BreakingSources = 5
	}
	if c.BreakingWindow <= 0 {
		c.BreakingWindow = 30 * time.Minute
	}
	if c.MaxSources <= 0 {
		c.MaxSources = 200
	}
	if c.Bits < 1 || c.Bits > 8 {
		c.Bits = 8
	}
	return c
}

// params are the story sketch's: single content words, 10 bands of 2
// (candidates from Jaccard about 0.3) over 20 hashes, no lead
// fingerprint.
var params = dedup.Params{Shingle: 1, Bands: 10, Rows: 2, Hashes: 20, Threshold: 1, LeadWords: -1, MinWords: 5, ShortWords: 1}

// Words are the words a story is recognised by: the content words (four
// letters or more, digits kept) of the headline and the lead, from the
// article's folded words.
func (c Config) Words(w dedup.Words) []string {
	c = c.WithDefaults()
	lead := w.Text[:min(len(w.Text), c.LeadWords)]
	seen := map[string]bool{}
	var out []string
	for _, w := range slices.Concat(w.Title, lead) {
		if (len(w) >= 4 || strings.ContainsAny(w, "0123456789")) && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// Sketch returns the story band hashes and signature entry of an article
// with folded words w; ok is false when the headline and lead have too
// few content words.
func (c Config) Sketch(w dedup.Words) (bands []uint64, sig []byte, ok bool) {
	sk, ok := params.SketchWords(c.Words(w))
	if !ok {
		return nil, nil, false
	}
	return sk.Bands, dedup.EncodeEntry(sk), true
}

// Pack appends the form of a story signature entry an index keeps
// (dedup.Params.Pack).
func (c Config) Pack(dst, sig []byte) []byte {
	p := params
	p.Bits = c.WithDefaults().Bits
	return p.Pack(dst, sig)
}

// Same reports whether two story signature entries, packed (Pack), tell
// the same story.
func (c Config) Same(mine, theirs []byte) bool {
	p := params
	p.Threshold = c.WithDefaults().Threshold
	_, same, _ := p.PackedVerdict(mine, theirs)
	return same
}

// Judge is Same with its threshold turned once into how many of a
// signature's values must agree: an index compares each new article with
// several earlier ones (more the more it holds), and counting is most of
// the cost that leaves.
type Judge struct {
	c        Config
	n, nb    int // the values of the signatures Pack makes, and their bits
	agreeing int // of n, that tell the same story (dedup.Params.MinAgreeing)
}

// Judge returns c's judge.
func (c Config) Judge() Judge {
	c = c.WithDefaults()
	p := params
	p.Threshold = c.Threshold
	return Judge{c: c, n: params.Hashes, nb: c.Bits, agreeing: p.MinAgreeing(params.Hashes, c.Bits)}
}

// Same is Config.Same.
func (j Judge) Same(mine, theirs []byte) bool {
	eq, n, nb, lead, ok := dedup.Agreement(mine, theirs)
	if ok && !lead && n == j.n && nb == j.nb {
		return eq >= j.agreeing
	}
	return j.c.Same(mine, theirs) // not a signature of this configuration
}
