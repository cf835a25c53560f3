// Package dedup is the exact-duplicate stage: an article whose canonical
// URL, globally unique GUID or normalised text was already seen within the
// horizon is marked as a duplicate of the first article that had it.
//
// Fingerprints are claimed in a Store with an atomic create, always in the
// same order (url, guid, content), so when several workers — in one process
// or in many daemons — see copies of a story at the same moment, exactly
// one claims the first shared fingerprint and survives; the others become
// its duplicates. A redelivered article finds its own id on its
// fingerprints and is not a duplicate of itself.
package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Store remembers which article first had a fingerprint.
type Store interface {
	// Claim records id as the owner of key unless key has an owner
	// already; it returns the owner (id itself when the claim succeeded).
	Claim(ctx context.Context, key, id string) (owner string, err error)
}

// Stage marks duplicates.
type Stage struct {
	store   Store
	metrics *metrics.Metrics
}

// New returns the dedup stage over store.
func New(store Store, m *metrics.Metrics) *Stage { return &Stage{store: store, metrics: m} }

// Name is "dedup".
func (s *Stage) Name() string { return "dedup" }

// Process claims the article's fingerprints and sets a.Duplicate when an
// earlier article owns one of them.
func (s *Stage) Process(ctx context.Context, a *pipeline.Article) error {
	a.Duplicate = nil
	for _, fp := range Fingerprints(a) {
		owner, err := s.store.Claim(ctx, fp.Key, a.ID)
		if err != nil {
			return fmt.Errorf("claim %s fingerprint of %s: %w", fp.Kind, a.ID, err)
		}
		if owner != a.ID {
			a.Duplicate = &pipeline.Duplicate{Of: owner, Kind: fp.Kind, Similarity: 1}
			s.metrics.Duplicates.WithLabelValues(fp.Kind).Inc()
			return nil
		}
	}
	return nil
}

// Fingerprint is one identity of an article.
type Fingerprint struct {
	Kind string // url, guid, content
	Key  string // store key: <kind>.<hex>
}

// minContentWords is how many words a text needs before its hash is
// trusted as an identity; shorter texts add the title.
const minContentWords = 15

// Fingerprints lists the identities of a, in claim order.
func Fingerprints(a *pipeline.Article) []Fingerprint {
	var out []Fingerprint
	add := func(kind, v string) {
		sum := sha256.Sum256([]byte(v))
		out = append(out, Fingerprint{Kind: kind, Key: kind + "." + hex.EncodeToString(sum[:16])})
	}
	if a.CanonicalURL != "" {
		add("url", a.CanonicalURL)
	}
	if globalGUID(a.GUID) {
		add("guid", a.GUID)
	}
	words := fold.Words(a.Text)
	if len(words) < minContentWords {
		words = append(fold.Words(a.Title), words...)
	}
	if len(words) >= 5 {
		add("content", strings.Join(words, " "))
	}
	return out
}

// globalGUID reports whether a GUID identifies an item across feeds (a URL,
// URN or other long structured id) rather than only within its feed (a
// number, a short slug).
func globalGUID(g string) bool {
	return len(g) >= 16 && strings.ContainsAny(g, ":/")
}
