// Package dedup is the duplicate stage: an article whose canonical URL,
// globally unique GUID or normalised text was already seen within the
// horizon is marked as a duplicate of the first article that had it (kinds
// url, guid, content); one whose text is nearly the same as an earlier
// one's is a near duplicate (kind near): MinHash over word shingles with
// LSH banding, plus a lead fingerprint for copies cut to a summary.
//
// Keys are claimed in a Store with an atomic create, always in the same
// order (url, guid, content, then lead and bands), so when several workers
// — in one process or in many daemons — see copies of a story at the same
// moment, exactly one claims the first shared key and survives; the others
// become its duplicates. For near duplicates an article stores its
// signature before it claims anything, so the loser of a band always finds
// the winner's signature and verifies the similarity (a band shared by
// chance is not a duplicate); the verdict depends only on the two
// signatures, so it is the same whichever of the two checks it. A
// redelivered article finds its own id on its keys and is not a duplicate
// of itself.
package dedup

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Stage marks duplicates.
type Stage struct {
	store   Store
	metrics *metrics.Metrics
	params  Params
	near    bool
}

// New returns the dedup stage over store, near duplicates included, with
// the default parameters.
func New(store Store, m *metrics.Metrics) *Stage { return NewWith(store, m, DefaultParams(), true) }

// NewWith returns the dedup stage with near-duplicate parameters p; near
// false detects exact duplicates only.
func NewWith(store Store, m *metrics.Metrics, p Params, near bool) *Stage {
	return &Stage{store: store, metrics: m, params: p.withDefaults(), near: near}
}

// Params returns the near-duplicate parameters in use.
func (s *Stage) Params() Params { return s.params }

// Name is "dedup".
func (s *Stage) Name() string { return "dedup" }

// Process claims the article's fingerprints and sets a.Duplicate when an
// earlier article owns one of them.
func (s *Stage) Process(ctx context.Context, a *pipeline.Article) error {
	a.Duplicate = nil
	d, err := s.find(ctx, a)
	if err != nil {
		return err
	}
	root := a.ID
	if d != nil {
		if d.Of, err = s.root(ctx, d.Of); err != nil {
			return err
		}
		root = d.Of
	}
	// The verdict, for later copies that lose a key to this article.
	if _, err := s.store.Claim(ctx, verdictKey(a.ID), root); err != nil {
		return fmt.Errorf("store verdict of %s: %w", a.ID, err)
	}
	if d != nil {
		a.Duplicate = d
		s.metrics.Duplicates.WithLabelValues(d.Kind).Inc()
	}
	return nil
}

// find claims the article's keys and returns what it duplicates, with Of
// the article that owns the first shared key.
func (s *Stage) find(ctx context.Context, a *pipeline.Article) (*pipeline.Duplicate, error) {
	var sk Sketch
	sketched, plain := false, false
	if s.near {
		words := fold.Words(a.Text)
		plain = len(words) >= max(s.params.ShortWords, minContentWords)
		if len(words) < s.params.ShortWords {
			words = append(fold.Words(a.Title), words...)
		}
		sk, sketched = s.params.SketchWords(words)
	}
	content := uint64(0)
	for _, fp := range Fingerprints(a) {
		// A text long enough to be sketched on its own words carries its
		// content hash in its signature entry instead of a key of its
		// own: an exact copy has the same sketch, so it meets the
		// original on the lead or the first band and is told apart by
		// the hash (one stored message less per article).
		if fp.Kind == "content" && sketched && plain {
			content = fp.hash
			continue
		}
		owner, err := s.store.Claim(ctx, fp.Key, a.ID)
		if err != nil {
			return nil, fmt.Errorf("claim %s fingerprint of %s: %w", fp.Kind, a.ID, err)
		}
		if owner != a.ID {
			return &pipeline.Duplicate{Of: owner, Kind: fp.Kind, Similarity: 1}, nil
		}
	}
	if !sketched {
		return nil, nil
	}
	return s.nearDuplicate(ctx, a, sk, content)
}

// root follows the verdict of owner to the original it belongs to, so
// duplicate_of names the first article seen. A copy processed at the same
// moment may not have stored its verdict yet: root waits for it (it comes
// within milliseconds) up to ResolveWait, then settles for owner.
func (s *Stage) root(ctx context.Context, owner string) (string, error) {
	deadline := time.Now().Add(s.params.ResolveWait)
	wait := time.Millisecond
	for {
		v, ok, err := s.store.Get(ctx, verdictKey(owner))
		if err != nil {
			return "", fmt.Errorf("read verdict of %s: %w", owner, err)
		}
		if ok {
			return v, nil
		}
		if time.Now().After(deadline) {
			return owner, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// verdictKey is the store key of an article's verdict: its original's id
// (its own when it is an original).
func verdictKey(id string) string { return "of." + keyToken(id) }

// nearDuplicate stores the article's signature, then claims its lead and
// band keys in order; the first key owned by another article whose
// signature is similar enough makes it a near duplicate of that article.
func (s *Stage) nearDuplicate(ctx context.Context, a *pipeline.Article, sk Sketch, content uint64) (*pipeline.Duplicate, error) {
	mine := encodeEntryContent(sk, content)
	if _, err := s.store.Claim(ctx, sigKey(a.ID), mine); err != nil {
		return nil, fmt.Errorf("store signature of %s: %w", a.ID, err)
	}
	keys := make([]string, 0, len(sk.Bands)+1)
	if sk.Lead != 0 {
		keys = append(keys, fmt.Sprintf("lead.%016x", sk.Lead))
	}
	for b, h := range sk.Bands {
		keys = append(keys, fmt.Sprintf("near.%d.%016x", b, h))
	}
	checked := map[string]bool{}
	for _, key := range keys {
		owner, err := s.store.Claim(ctx, key, a.ID)
		if err != nil {
			return nil, fmt.Errorf("claim %s of %s: %w", key, a.ID, err)
		}
		if owner == a.ID || checked[owner] {
			continue
		}
		checked[owner] = true
		theirs, ok, err := s.store.Get(ctx, sigKey(owner))
		if err != nil {
			return nil, fmt.Errorf("read signature of %s: %w", owner, err)
		}
		if !ok {
			continue // expired
		}
		if sim, dup := s.params.Verdict(mine, theirs); dup {
			kind := "near"
			if c := entryContent(theirs); content != 0 && c == content {
				kind, sim = "content", 1
			}
			return &pipeline.Duplicate{Of: owner, Kind: kind, Similarity: sim}, nil
		}
	}
	return nil, nil
}

// Verdict decides from two stored entries whether the texts are near
// duplicates, and how similar they are: the estimated Jaccard similarity
// reaches Threshold, or the texts share their lead and the shorter is
// mostly contained in the longer (then the similarity is the
// containment). It is symmetric, so whichever of two racing copies checks
// the other reaches the same verdict.
func (p Params) Verdict(mine, theirs string) (similarity float64, dup bool) {
	p = p.withDefaults()
	sigA, leadA, okA := decodeEntry(mine)
	sigB, leadB, okB := decodeEntry(theirs)
	if !okA || !okB {
		return 0, false
	}
	j, c, err := Similarity(sigA, sigB)
	if err != nil {
		return 0, false
	}
	if j >= p.Threshold {
		return round3(j), true
	}
	if leadA != 0 && leadA == leadB && c >= p.MinContainment {
		return round3(c), true
	}
	return round3(j), false
}

func round3(x float64) float64 { return float64(int(x*1000+0.5)) / 1000 }

// entryVersion starts every stored signature entry; an entry of another
// layout (an older release's) is never taken for a duplicate.
const entryVersion = 2

// encodeEntry is the stored value of an article's signature: a version
// byte, the lead hash (8 bytes), the content hash (8 bytes, 0 when the
// content has a key of its own) then the compact signature.
func encodeEntry(sk Sketch) string { return encodeEntryContent(sk, 0) }

func encodeEntryContent(sk Sketch, content uint64) string {
	b := make([]byte, 0, 17+4+2*len(sk.Sig))
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, sk.Lead)
	b = binary.LittleEndian.AppendUint64(b, content)
	return string(sk.AppendCompact(b))
}

func decodeEntry(v string) (sig []byte, lead uint64, ok bool) {
	if len(v) < 17+6 || v[0] != entryVersion {
		return nil, 0, false
	}
	return []byte(v[17:]), binary.LittleEndian.Uint64([]byte(v[1:9])), true
}

// entryContent is the content hash an entry carries (0: none).
func entryContent(v string) uint64 {
	if len(v) < 17 || v[0] != entryVersion {
		return 0
	}
	return binary.LittleEndian.Uint64([]byte(v[9:17]))
}

// EncodeEntry exposes the stored form of a sketch (for the evaluation).
func EncodeEntry(sk Sketch) string { return encodeEntry(sk) }

// sigKey is the store key of an article's signature.
func sigKey(id string) string { return "sig." + keyToken(id) }

// keyToken is id when it is a valid key token, else a hash of it.
func keyToken(id string) string {
	ok := id != ""
	for i := 0; i < len(id) && ok; i++ {
		c := id[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if ok {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h" + hex.EncodeToString(sum[:16])
}

// Fingerprint is one identity of an article.
type Fingerprint struct {
	Kind string // url, guid, content
	Key  string // store key: <kind>.<hex>
	hash uint64 // the first 8 bytes of the digest
}

// minContentWords is how many words a text needs before its hash is
// trusted as an identity; shorter texts add the title.
const minContentWords = 15

// Fingerprints lists the identities of a, in claim order.
func Fingerprints(a *pipeline.Article) []Fingerprint {
	var out []Fingerprint
	add := func(kind, v string) {
		sum := sha256.Sum256([]byte(v))
		out = append(out, Fingerprint{Kind: kind, Key: kind + "." + hex.EncodeToString(sum[:16]), hash: binary.LittleEndian.Uint64(sum[:8]) | 1})
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
