package dedup

import (
	"bytes"
	"testing"
)

// Entries of every shape come back from PackEntry as they went in, and
// the lead and content hashes cost nothing when unset.
func TestPackEntry(t *testing.T) {
	p := Params{Hashes: 16}
	words := p.Words("", "the talks in london went on into the night with no agreement on a ceasefire line")
	sk, ok := p.SketchWords(words)
	if !ok || sk.Lead != 0 {
		t.Fatalf("sketch ok %v lead %x: want a sketch without a lead", ok, sk.Lead)
	}
	withLead := sk
	withLead.Lead = 0x0123456789abcdef
	for _, c := range []struct {
		name  string
		entry []byte
		size  int // packed
	}{
		{"no lead, no content", encodeEntry(sk), 1 + 4 + 32},
		{"lead", encodeEntry(withLead), 1 + 8 + 4 + 32},
		{"content", encodeEntryContent(sk, 42), 1 + 8 + 4 + 32},
		{"lead and content", encodeEntryContent(withLead, 42), 1 + 16 + 4 + 32},
		{"another version", append([]byte{entryVersion + 1}, make([]byte, 40)...), 1 + 41},
		{"too short", []byte{entryVersion, 1, 2}, 1 + 3},
		{"empty", nil, 0},
	} {
		packed := PackEntry(nil, c.entry)
		if len(packed) != c.size {
			t.Errorf("%s: packed %d bytes into %d, want %d", c.name, len(c.entry), len(packed), c.size)
		}
		if got := UnpackEntry(nil, packed); !bytes.Equal(got, c.entry) {
			t.Errorf("%s: unpacked\n%x\nwant\n%x", c.name, got, c.entry)
		}
	}
}

func FuzzPackEntry(f *testing.F) {
	f.Add(encodeEntryContent(Sketch{Sig: []uint64{1, 2, 3}, Shingles: 9, Lead: 7}, 5))
	f.Add([]byte{entryVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, v []byte) {
		packed := PackEntry([]byte("x"), v)
		if len(packed) > 1+len(v)+1 {
			t.Fatalf("packed %d bytes into %d", len(v), len(packed)-1)
		}
		if got := UnpackEntry(nil, packed[1:]); !bytes.Equal(got, v) {
			t.Fatalf("unpacked %x, want %x", got, v)
		}
		UnpackEntry(nil, v) // any bytes: no panic
	})
}
