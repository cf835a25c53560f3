package ledger

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Kind is what a key identifies an article by.
type Kind byte

// The kinds of keys, in the order a record lists them.
const (
	KindURL     Kind = 1 // the canonical URL
	KindGUID    Kind = 2 // a globally unique GUID
	KindContent Kind = 3 // the normalised text, exactly
	KindNear    Kind = 4 // a MinHash band or the lead of the text
)

func (k Kind) String() string {
	switch k {
	case KindURL:
		return "url"
	case KindGUID:
		return "guid"
	case KindContent:
		return "content"
	case KindNear:
		return "near"
	}
	return fmt.Sprintf("kind(%d)", byte(k))
}

// Key is one identity of an article: a 64-bit hash of what it identifies.
type Key struct {
	Kind Kind
	Hash uint64
}

// Record is what the ledger holds of an article: its identities in the
// order they are compared, its near-duplicate signature and its story
// sketch. It carries hashes, never text.
type Record struct {
	Article string // the article id
	Feed    string // the source (feed key) that carried it
	// Keys are the exact keys then the near keys (lead, bands), in order:
	// the first key an earlier article owns decides, for exact kinds; a
	// near key is a candidate, verified against NearSig.
	Keys []Key
	// NearSig is the near-duplicate signature entry (dedup.EncodeEntry
	// layout), empty when the text is too short to sketch.
	NearSig []byte
	// StoryKeys are the story band hashes; StorySig is the story
	// signature entry. Both empty when the article has no story sketch.
	StoryKeys []uint64
	StorySig  []byte
}

// recordVersion starts every encoded record; a record of another version
// is rejected, never misread.
const recordVersion = 1

// Limits on decoded sizes: a record is small, and a hostile or corrupt
// message must not make the decoder allocate much.
const (
	maxString = 1024
	maxKeys   = 255
	maxSig    = 4096
)

// check reports a record past the limits: it could not be encoded, and
// the index keeps its fields' lengths in 16 bits.
func (r *Record) check() error {
	if len(r.Article) > maxString || len(r.Feed) > maxString {
		return fmt.Errorf("record of %.40q: id or feed longer than %d bytes", r.Article, maxString)
	}
	if len(r.Keys) > maxKeys || len(r.StoryKeys) > maxKeys || len(r.NearSig) > maxSig || len(r.StorySig) > maxSig {
		return fmt.Errorf("record of %.40q: too many keys or signature too long", r.Article)
	}
	return nil
}

// Encode appends the binary form of r to b.
func (r *Record) Encode(b []byte) ([]byte, error) {
	if err := r.check(); err != nil {
		return nil, err
	}
	b = append(b, recordVersion)
	b = appendBytes(b, []byte(r.Article))
	b = appendBytes(b, []byte(r.Feed))
	b = append(b, byte(len(r.Keys)))
	for _, k := range r.Keys {
		b = append(b, byte(k.Kind))
		b = binary.LittleEndian.AppendUint64(b, k.Hash)
	}
	b = appendBytes(b, r.NearSig)
	b = append(b, byte(len(r.StoryKeys)))
	for _, h := range r.StoryKeys {
		b = binary.LittleEndian.AppendUint64(b, h)
	}
	return appendBytes(b, r.StorySig), nil
}

func appendBytes(b, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("malformed ledger record")

// Decode parses a record encoded by Encode.
func Decode(b []byte) (*Record, error) {
	d := decoder{b: b}
	if v := d.byte(); v != recordVersion {
		if d.err != nil {
			return nil, d.err
		}
		return nil, fmt.Errorf("%w: version %d, this daemon reads %d", ErrMalformed, v, recordVersion)
	}
	r := &Record{Article: string(d.bytes(maxString)), Feed: string(d.bytes(maxString))}
	if n := int(d.byte()); n > 0 && d.err == nil {
		r.Keys = make([]Key, 0, min(n, len(d.b)/9))
		for range n {
			k := Key{Kind: Kind(d.byte()), Hash: d.uint64()}
			if d.err != nil {
				break
			}
			if k.Kind < KindURL || k.Kind > KindNear {
				d.fail("unknown key kind %d", byte(k.Kind))
				break
			}
			r.Keys = append(r.Keys, k)
		}
	}
	r.NearSig = d.bytes(maxSig)
	if n := int(d.byte()); n > 0 && d.err == nil {
		r.StoryKeys = make([]uint64, 0, min(n, len(d.b)/8))
		for range n {
			h := d.uint64()
			if d.err != nil {
				break
			}
			r.StoryKeys = append(r.StoryKeys, h)
		}
	}
	r.StorySig = d.bytes(maxSig)
	if d.err == nil && len(d.b) > 0 {
		d.fail("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	if r.Article == "" {
		return nil, fmt.Errorf("%w: no article id", ErrMalformed)
	}
	return r, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (d *decoder) byte() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 1 {
		d.fail("truncated")
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) uint64() uint64 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 8 {
		d.fail("truncated")
		return 0
	}
	v := binary.LittleEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *decoder) bytes(limit int) []byte {
	if d.err != nil {
		return nil
	}
	n, w := binary.Uvarint(d.b)
	var min [binary.MaxVarintLen64]byte
	if w <= 0 || w != binary.PutUvarint(min[:], n) || n > uint64(limit) || n > uint64(len(d.b)-w) {
		d.fail("bad length")
		return nil
	}
	v := d.b[w : w+int(n)]
	d.b = d.b[w+int(n):]
	if n == 0 {
		return nil
	}
	return append([]byte(nil), v...)
}

// A ledger message holds a batch of records: the records several workers
// appended at about the same moment, stored and delivered as one message.
// Its layout: batchVersion, the count, then each encoded record with its
// length.
const (
	batchVersion = 2
	// MaxBatch is the most records one message holds.
	MaxBatch = 128
)

// Pos is the position of the i-th record of the message at stream
// sequence seq: the order the index applies records in.
func Pos(seq uint64, i int) uint64 { return seq<<8 | uint64(i) }

// EncodeBatch is the ledger message of the encoded records recs.
func EncodeBatch(recs [][]byte) ([]byte, error) {
	if len(recs) == 0 || len(recs) > MaxBatch {
		return nil, fmt.Errorf("a ledger message holds 1 to %d records, not %d", MaxBatch, len(recs))
	}
	n := 2
	for _, r := range recs {
		n += binary.MaxVarintLen32 + len(r)
	}
	b := make([]byte, 0, n)
	b = append(b, batchVersion)
	b = binary.AppendUvarint(b, uint64(len(recs)))
	for _, r := range recs {
		b = appendBytes(b, r)
	}
	return b, nil
}

// maxRecord bounds one encoded record (ids, keys and signatures at their
// limits).
const maxRecord = 1 + 2*(binary.MaxVarintLen32+maxString) + 1 + maxKeys*9 + 2*(binary.MaxVarintLen32+maxSig) + 1 + maxKeys*8

// DecodeBatch parses a ledger message into its records.
func DecodeBatch(b []byte) ([]*Record, error) {
	d := decoder{b: b}
	if v := d.byte(); v != batchVersion {
		if d.err != nil {
			return nil, d.err
		}
		return nil, fmt.Errorf("%w: message version %d, this daemon reads %d", ErrMalformed, v, batchVersion)
	}
	n, w := binary.Uvarint(d.b)
	var min [binary.MaxVarintLen64]byte
	if w <= 0 || w != binary.PutUvarint(min[:], n) || n == 0 || n > MaxBatch {
		return nil, fmt.Errorf("%w: bad record count", ErrMalformed)
	}
	d.b = d.b[w:]
	recs := make([]*Record, 0, n)
	for i := range int(n) {
		raw := d.bytes(maxRecord)
		if d.err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i+1, n, d.err)
		}
		r, err := Decode(raw)
		if err != nil {
			return nil, fmt.Errorf("record %d of %d: %w", i+1, n, err)
		}
		recs = append(recs, r)
	}
	if len(d.b) > 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", ErrMalformed, len(d.b))
	}
	return recs, nil
}
