// Package dedup says what makes two articles the same: an article whose
// canonical URL, globally unique GUID or normalised text an earlier one
// had is a duplicate of it (kinds url, guid, content); one whose text is
// nearly the same as an earlier one's is a near duplicate (kind near):
// MinHash over word shingles with LSH banding, plus a lead fingerprint for
// copies cut to a summary (Identify, Verdict).
//
// The ledger (pipeline/ledger) applies these identities in one order
// shared by every worker of every daemon, so of several copies exactly one
// survives. Store is a small shared key-value index (JetStream KV) the
// sink uses to alert once per story.
package dedup

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
	"strings"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Identity is what duplicate detection knows of an article: its exact
// fingerprints in claim order and, for a text long enough, its MinHash
// sketch as lead and band hashes and a signature entry.
type Identity struct {
	Exact []Fingerprint
	// Lead then Bands are the near-duplicate candidate keys (Lead 0:
	// none); Entry is the signature entry candidates are verified
	// against (empty when the text is too short to sketch).
	Lead  uint64
	Bands []uint64
	Entry []byte
}

// Words are an article's folded words, computed once for every
// fingerprint and sketch.
type Words struct{ Title, Text []string }

// WordsOf folds a's title and text into words.
func WordsOf(a *pipeline.Article) Words {
	return Words{Title: fold.Words(a.Title), Text: fold.Words(a.Text)}
}

// Identify computes a's identity from its words w; near false leaves out
// the sketch.
func (p Params) Identify(a *pipeline.Article, w Words, near bool) Identity {
	p = p.withDefaults()
	var id Identity
	var sk Sketch
	sketched, plain := false, false
	if near {
		words := w.Text
		plain = len(words) >= max(p.ShortWords, minContentWords)
		if len(words) < p.ShortWords {
			words = slices.Concat(w.Title, words)
		}
		sk, sketched = p.SketchWords(words)
	}
	content := uint64(0)
	for _, fp := range fingerprints(a, w) {
		// A text long enough to be sketched on its own words carries its
		// content hash in its signature entry instead of a key of its
		// own: an exact copy has the same sketch, so it meets the
		// original on the lead or the first band and is told apart by
		// the hash.
		if fp.Kind == "content" && sketched && plain {
			content = fp.Hash
			continue
		}
		id.Exact = append(id.Exact, fp)
	}
	if sketched {
		id.Lead, id.Bands, id.Entry = sk.Lead, sk.Bands, encodeEntryContent(sk, content)
	}
	return id
}

// Verdict decides from two stored entries whether the texts are near
// duplicates, and how similar they are: the estimated Jaccard similarity
// reaches Threshold, or the texts share their lead and the shorter is
// mostly contained in the longer (then the similarity is the
// containment). It is symmetric, so whichever of two racing copies checks
// the other reaches the same verdict.
func (p Params) Verdict(mine, theirs []byte) (similarity float64, dup bool) {
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
func encodeEntry(sk Sketch) []byte { return encodeEntryContent(sk, 0) }

func encodeEntryContent(sk Sketch, content uint64) []byte {
	b := make([]byte, 0, 17+4+2*len(sk.Sig))
	b = append(b, entryVersion)
	b = binary.LittleEndian.AppendUint64(b, sk.Lead)
	b = binary.LittleEndian.AppendUint64(b, content)
	return sk.AppendCompact(b)
}

func decodeEntry(v []byte) (sig []byte, lead uint64, ok bool) {
	if len(v) < 17+6 || v[0] != entryVersion {
		return nil, 0, false
	}
	return v[17:], binary.LittleEndian.Uint64(v[1:9]), true
}

// PackEntry appends entry v to dst in fewer bytes, for holding in memory
// (the ledger's index keeps one or two for every article): the lead and
// content hashes only when they are set, which a header byte says in
// place of the version. UnpackEntry gives the entry back; an empty entry
// stays empty, and one of another layout is kept as it is.
func PackEntry(dst, v []byte) []byte {
	if len(v) == 0 {
		return dst
	}
	if len(v) < 17 || v[0] != entryVersion {
		return append(append(dst, packRaw), v...)
	}
	lead, content := binary.LittleEndian.Uint64(v[1:9]), binary.LittleEndian.Uint64(v[9:17])
	var h byte
	if lead != 0 {
		h |= packLead
	}
	if content != 0 {
		h |= packContent
	}
	dst = append(dst, h)
	if lead != 0 {
		dst = append(dst, v[1:9]...)
	}
	if content != 0 {
		dst = append(dst, v[9:17]...)
	}
	return append(dst, v[17:]...)
}

// The header byte of a packed entry.
const (
	packLead    = 1 << 0 // the lead hash follows
	packContent = 1 << 1 // the content hash follows
	packRaw     = 0xff   // an entry of another layout follows as it is
)

// UnpackEntry appends to dst the entry p packs (PackEntry).
func UnpackEntry(dst, p []byte) []byte {
	if len(p) == 0 {
		return dst
	}
	h, p := p[0], p[1:]
	if h == packRaw {
		return append(dst, p...)
	}
	dst = append(dst, entryVersion)
	for _, bit := range []byte{packLead, packContent} {
		if h&bit != 0 && len(p) >= 8 {
			dst, p = append(dst, p[:8]...), p[8:]
		} else {
			dst = binary.LittleEndian.AppendUint64(dst, 0)
		}
	}
	return append(dst, p...)
}

// EntryContent is the content hash an entry carries (0: none).
func EntryContent(v []byte) uint64 {
	if len(v) < 17 || v[0] != entryVersion {
		return 0
	}
	return binary.LittleEndian.Uint64(v[9:17])
}

// EncodeEntry exposes the stored form of a sketch (for the evaluation).
func EncodeEntry(sk Sketch) []byte { return encodeEntry(sk) }

// Fingerprint is one identity of an article.
type Fingerprint struct {
	Kind string // url, guid, content
	Key  string // store key: <kind>.<hex>
	Hash uint64 // the first 8 bytes of the digest, never 0
}

// minContentWords is how many words a text needs before its hash is
// trusted as an identity; shorter texts add the title.
const minContentWords = 15

// Fingerprints lists the identities of a, in claim order.
func Fingerprints(a *pipeline.Article) []Fingerprint { return fingerprints(a, WordsOf(a)) }

func fingerprints(a *pipeline.Article, w Words) []Fingerprint {
	var out []Fingerprint
	add := func(kind, v string) {
		sum := sha256.Sum256([]byte(v))
		out = append(out, Fingerprint{Kind: kind, Key: kind + "." + hex.EncodeToString(sum[:16]), Hash: binary.LittleEndian.Uint64(sum[:8]) | 1})
	}
	if a.CanonicalURL != "" {
		add("url", a.CanonicalURL)
	}
	if globalGUID(a.GUID) {
		add("guid", a.GUID)
	}
	words := w.Text
	if len(words) < minContentWords {
		words = slices.Concat(w.Title, words)
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
