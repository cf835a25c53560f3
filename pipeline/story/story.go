// Package story is the story stage: articles about the same event from
// different outlets (looser than a near duplicate) share a story id, with
// the time the story was first seen and the number of distinct sources
// (feeds) that carried it. A story whose sources jump (BreakingSources
// within BreakingWindow) is breaking.
//
// Stories live in the same shared index as duplicates (dedup.Store: the
// KV bucket ww_dedup, entries expire after the dedup horizon). An article
// is matched by MinHash with LSH over the content words of its headline
// and lead; it first reads the band keys to join an existing story, then
// claims them in order, so of two articles of a new story processed at
// the same moment the one that loses the first shared band joins the
// other's story. The story record (first seen, sources in order with the
// time each joined) is updated by compare-and-set; a redelivered article
// finds its source already there and gets the same answer.
package story

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// Config tunes the stage.
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
	// MaxSources bounds the sources a story record lists (default 200);
	// beyond it the count still grows.
	MaxSources int
	Now        func() time.Time
}

func (c Config) withDefaults() Config {
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
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// params are the story sketch's: single content words, 10 bands of 2
// (candidates from Jaccard about 0.3), no lead fingerprint.
var params = dedup.Params{Shingle: 1, Bands: 10, Rows: 2, Threshold: 1, LeadWords: -1, MinWords: 5, ShortWords: 1}

// Stage assigns stories.
type Stage struct {
	store dedup.Store
	cfg   Config
	m     *metrics.Metrics
}

// New returns the story stage over store.
func New(store dedup.Store, cfg Config, m *metrics.Metrics) *Stage {
	return &Stage{store: store, cfg: cfg.withDefaults(), m: m}
}

// Name is "story".
func (s *Stage) Name() string { return "story" }

// Words are the words a story is recognised by: the content words (four
// letters or more, digits kept) of the headline and the lead.
func (s *Stage) Words(a *pipeline.Article) []string {
	lead := fold.Words(a.Text)
	lead = lead[:min(len(lead), s.cfg.LeadWords)]
	seen := map[string]bool{}
	var out []string
	for _, w := range append(fold.Words(a.Title), lead...) {
		if (len(w) >= 4 || strings.ContainsAny(w, "0123456789")) && !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}

// record is the stored story.
type record struct {
	First   time.Time `json:"first"`
	Count   int       `json:"n"`
	Sources []source  `json:"s"`
}

type source struct {
	Feed    string    `json:"f"`
	Article string    `json:"a"`
	Joined  time.Time `json:"t"`
}

// Process sets a.Story.
func (s *Stage) Process(ctx context.Context, a *pipeline.Article) error {
	a.Story = nil
	sk, ok := params.SketchWords(s.Words(a))
	if !ok {
		return nil
	}
	mine := dedup.EncodeEntry(sk)
	keys := make([]string, len(sk.Bands))
	for b, h := range sk.Bands {
		keys[b] = fmt.Sprintf("sband.%d.%016x", b, h)
	}
	checked := map[string]bool{}
	story := ""
	// Read first: join a story already under way. A band's value never
	// changes once claimed, so a band read here is not claimed again.
	found := make([]bool, len(keys))
	for i, key := range keys {
		v, ok, err := s.store.Get(ctx, key)
		if err != nil {
			return fmt.Errorf("read %s: %w", key, err)
		}
		if !ok {
			continue
		}
		found[i] = true
		if story, err = s.match(ctx, a.ID, mine, v, checked); err != nil {
			return err
		}
		if story != "" {
			break
		}
	}
	// Then claim in order; a new story that loses the first shared band
	// to a similar article of the same moment joins that article's story.
	// The signature is stored before the first claim, so whoever finds
	// a's id on a band can compare with it; an article that claims
	// nothing (every band taken) stores no signature.
	sigStored := false
	for i, key := range keys {
		if found[i] {
			continue
		}
		if !sigStored {
			if _, err := s.store.Claim(ctx, "ssig."+token(a.ID), mine); err != nil {
				return fmt.Errorf("store story signature of %s: %w", a.ID, err)
			}
			sigStored = true
		}
		cand := story
		if cand == "" {
			cand = a.ID
		}
		v, err := s.store.Claim(ctx, key, token(cand)+" "+token(a.ID))
		if err != nil {
			return fmt.Errorf("claim %s: %w", key, err)
		}
		if story != "" {
			continue
		}
		if story, err = s.match(ctx, a.ID, mine, v, checked); err != nil {
			return err
		}
	}
	event := "joined"
	if story == "" {
		story, event = token(a.ID), "new"
	}
	ref, added, err := s.join(ctx, story, a)
	if err != nil {
		return err
	}
	a.Story = ref
	if added {
		s.m.Stories.WithLabelValues(event).Inc()
		if ref.Breaking {
			s.m.Stories.WithLabelValues("breaking").Inc()
		}
	}
	return nil
}

// match returns the story of the band value v ("<story> <article>") when
// that article is not a and its signature is similar to mine.
func (s *Stage) match(ctx context.Context, id, mine, v string, checked map[string]bool) (string, error) {
	story, owner, ok := strings.Cut(v, " ")
	if !ok || owner == token(id) || checked[owner] {
		return "", nil
	}
	checked[owner] = true
	theirs, ok, err := s.store.Get(ctx, "ssig."+owner)
	if err != nil {
		return "", fmt.Errorf("read story signature of %s: %w", owner, err)
	}
	if !ok {
		return "", nil
	}
	p := params
	p.Threshold = s.cfg.Threshold
	if _, same := p.Verdict(mine, theirs); !same {
		return "", nil
	}
	return story, nil
}

// join adds a's feed to the story record and returns the reference: the
// source count when a's feed joined (the current count when it had
// joined before with another article), and whether a added a source.
func (s *Stage) join(ctx context.Context, story string, a *pipeline.Article) (*pipeline.StoryRef, bool, error) {
	feed := a.FeedKey
	if feed == "" {
		feed = a.Feed
	}
	var rec record
	key := "story." + story
	if story == token(a.ID) {
		// A new story: create its record in one step (a redelivery finds
		// it there and goes through the update below).
		now := s.cfg.Now().UTC()
		rec = record{First: now, Count: 1, Sources: []source{{Feed: feed, Article: a.ID, Joined: now}}}
		b, err := json.Marshal(&rec)
		if err != nil {
			return nil, false, fmt.Errorf("encode story %s: %w", story, err)
		}
		v, err := s.store.Claim(ctx, key, string(b))
		if err != nil {
			return nil, false, fmt.Errorf("create story %s: %w", story, err)
		}
		if v == string(b) {
			return &pipeline.StoryRef{ID: story, FirstSeen: now, Sources: 1, Breaking: s.cfg.BreakingSources <= 1}, true, nil
		}
	}
	v, err := s.store.Update(ctx, key, func(old string, exists bool) (string, error) {
		rec = record{}
		if exists {
			if err := json.Unmarshal([]byte(old), &rec); err != nil {
				return "", fmt.Errorf("decode story %s: %w", story, err)
			}
		}
		for _, src := range rec.Sources {
			if src.Feed == feed {
				return "", dedup.ErrNoChange
			}
		}
		now := s.cfg.Now().UTC()
		if rec.First.IsZero() {
			rec.First = now
		}
		rec.Count++
		if len(rec.Sources) < s.cfg.MaxSources {
			rec.Sources = append(rec.Sources, source{Feed: feed, Article: a.ID, Joined: now})
		}
		b, err := json.Marshal(&rec)
		return string(b), err
	})
	if err != nil {
		return nil, false, fmt.Errorf("update story %s: %w", story, err)
	}
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return nil, false, fmt.Errorf("decode story %s: %w", story, err)
	}
	ref := &pipeline.StoryRef{ID: story, FirstSeen: rec.First, Sources: rec.Count}
	added := false
	for i, src := range rec.Sources {
		if src.Feed != feed {
			continue
		}
		if src.Article == a.ID { // a brought this source: its count then
			ref.Sources, added = i+1, true
		}
		// Breaking: BreakingSources joined within the window ending now.
		n := 0
		for _, o := range rec.Sources[:min(ref.Sources, len(rec.Sources))] {
			if !o.Joined.Before(src.Joined.Add(-s.cfg.BreakingWindow)) {
				n++
			}
		}
		ref.Breaking = n >= s.cfg.BreakingSources
		break
	}
	return ref, added, nil
}

// token makes an id a valid key token (ids are hex in the daemon).
func token(id string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, id)
}
