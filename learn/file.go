package learn

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
)

// The model file (extension .wwm), all integers little-endian:
//
//	magic    "WWM\x00"
//	version  uint32 (FormatVersion)
//	header   uint32 length + JSON {labels, bits, bigrams, meta}
//	rows     uint32 R, then R bucket ids as uvarint deltas
//	idf      R float32
//	weights  R*K float32, row-major
//	bias     K float32
//	crc      uint32 CRC-32 (IEEE) of everything before it
//
// A reader refuses another magic, a newer version, a bad checksum or
// counts that do not add up.
//
// Version 2 is version 1 with character n-grams (header char_grams); a
// model without them is still written as version 1.
const FormatVersion = 2

var magic = []byte("WWM\x00")

// ErrFormat means a model file is not one this version can read.
var ErrFormat = errors.New("not a valid wirewatch model")

type header struct {
	Labels  []string `json:"labels"`
	Bits    uint8    `json:"bits"`
	Bigrams bool     `json:"bigrams"`
	Chars   bool     `json:"char_grams,omitempty"`
	Meta    Meta     `json:"meta"`
}

// WriteTo writes the model in the file format.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	var b bytes.Buffer
	b.Write(magic)
	version := uint32(1)
	if m.CharGrams {
		version = 2
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, version))
	h, err := json.Marshal(header{Labels: m.Labels, Bits: m.Bits, Bigrams: m.Bigrams, Chars: m.CharGrams, Meta: m.Meta})
	if err != nil {
		return 0, fmt.Errorf("encoding model header: %w", err)
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(h))))
	b.Write(h)
	b.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(m.buckets))))
	var prev uint32
	var tmp []byte
	for _, x := range m.buckets {
		tmp = binary.AppendUvarint(tmp[:0], uint64(x-prev))
		b.Write(tmp)
		prev = x
	}
	for _, fs := range [][]float32{m.idf, m.w, m.bias} {
		for _, f := range fs {
			b.Write(binary.LittleEndian.AppendUint32(tmp[:0], math.Float32bits(f)))
		}
	}
	b.Write(binary.LittleEndian.AppendUint32(nil, crc32.ChecksumIEEE(b.Bytes())))
	n, err := w.Write(b.Bytes())
	return int64(n), err
}

// Save writes the model to path atomically (a temporary file renamed).
func (m *Model) Save(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".wwm-*")
	if err != nil {
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	bw := bufio.NewWriter(f)
	if _, err := m.WriteTo(bw); err != nil {
		f.Close()
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("saving model %s: %w", path, err)
	}
	return nil
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("loading model: %w", err)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("loading model %s: %w", path, err)
	}
	return m, nil
}

// Decode parses a model file's bytes.
func Decode(b []byte) (*Model, error) {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
	if len(b) < 16 || !bytes.Equal(b[:4], magic) {
		return nil, bad("no WWM magic")
	}
	if v := binary.LittleEndian.Uint32(b[4:]); v < 1 || v > FormatVersion {
		return nil, bad("format version %d (this build reads %d)", v, FormatVersion)
	}
	body, sum := b[:len(b)-4], binary.LittleEndian.Uint32(b[len(b)-4:])
	if crc32.ChecksumIEEE(body) != sum {
		return nil, bad("checksum mismatch (truncated or damaged)")
	}
	p := body[8:]
	u32 := func() (uint32, bool) {
		if len(p) < 4 {
			return 0, false
		}
		v := binary.LittleEndian.Uint32(p)
		p = p[4:]
		return v, true
	}
	hl, ok := u32()
	if !ok || uint64(hl) > uint64(len(p)) {
		return nil, bad("header length")
	}
	var h header
	if err := json.Unmarshal(p[:hl], &h); err != nil {
		return nil, bad("header: %v", err)
	}
	p = p[hl:]
	K := len(h.Labels)
	if K < 2 || !slices.IsSorted(h.Labels) || h.Bits < 12 || h.Bits > 24 {
		return nil, bad("header: %d labels, bits %d", K, h.Bits)
	}
	R, ok := u32()
	// Each row takes at least 1 + 4 + 4K bytes.
	if !ok || uint64(R)*uint64(5+4*K) > uint64(len(p)) {
		return nil, bad("row count")
	}
	m := &Model{Labels: h.Labels, Bits: h.Bits, Bigrams: h.Bigrams, CharGrams: h.Chars, Meta: h.Meta}
	m.buckets = make([]uint32, R)
	var prev uint64
	for r := range m.buckets {
		d, n := binary.Uvarint(p)
		if n <= 0 || (r > 0 && d == 0) || prev+d >= 1<<h.Bits {
			return nil, bad("bucket %d", r)
		}
		prev += d
		m.buckets[r] = uint32(prev)
		p = p[n:]
	}
	floats := func(n int) ([]float32, error) {
		if len(p) < 4*n {
			return nil, bad("truncated weights")
		}
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(p[4*i:]))
		}
		p = p[4*n:]
		return out, nil
	}
	var err error
	if m.idf, err = floats(int(R)); err != nil {
		return nil, err
	}
	if m.w, err = floats(int(R) * K); err != nil {
		return nil, err
	}
	if m.bias, err = floats(K); err != nil {
		return nil, err
	}
	if len(p) != 0 {
		return nil, bad("%d trailing bytes", len(p))
	}
	m.init()
	return m, nil
}
