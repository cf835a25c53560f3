package dedup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// A packed entry is as long as its shape says: the lead and content
// hashes cost nothing when unset, nor the shingle count without a lead
// (only a shared lead reads it), values take Bits bits each.
func TestPack(t *testing.T) {
	p := Params{Hashes: 16}
	words := p.Words("", "the talks in london went on into the night with no agreement on a ceasefire line")
	sk, ok := p.SketchWords(words)
	if !ok || sk.Lead != 0 {
		t.Fatalf("sketch ok %v lead %x: want a sketch without a lead", ok, sk.Lead)
	}
	withLead := sk
	withLead.Lead = 0x0123456789abcdef
	lowZero := sk
	lowZero.Lead = 0xabcd0000
	odd := sk
	odd.Sig = sk.Sig[:9]
	for _, c := range []struct {
		name  string
		bits  int
		entry []byte
		size  int
	}{
		{"no lead, no content", 8, encodeEntry(sk), 1 + 16},
		{"lead", 8, encodeEntry(withLead), 1 + 2 + 2 + 16},
		{"content", 8, encodeEntryContent(sk, 42), 1 + 2 + 16},
		{"lead and content", 8, encodeEntryContent(withLead, 42), 1 + 4 + 2 + 16},
		{"lead and content, low 16 bits 0", 8, encodeEntryContent(lowZero, 1<<40), 1 + 4 + 2 + 16},
		{"4 bits", 4, encodeEntry(sk), 1 + 8},
		{"4 bits, 9 values", 4, encodeEntry(odd), 1 + 5},
		{"1 bit, 9 values", 1, encodeEntry(odd), 1 + 2},
		{"5 bits, 9 values", 5, encodeEntry(odd), 1 + 6},
		{"3 bits", 3, encodeEntry(sk), 1 + 6},
		{"another version", 8, append([]byte{entryVersion + 1}, make([]byte, 40)...), 1 + 41},
		{"too short", 8, []byte{entryVersion, 1, 2}, 1 + 3},
		{"empty", 8, nil, 0},
	} {
		p.Bits = c.bits
		packed := p.Pack(nil, c.entry)
		if len(packed) != c.size {
			t.Errorf("%s: packed %d bytes into %d, want %d", c.name, len(c.entry), len(packed), c.size)
		}
		if c.size > 0 && packed[0] != packRaw {
			if sim, dup, _ := p.PackedVerdict(packed, packed); !dup || sim != 1 {
				t.Errorf("%s: itself: similarity %v, duplicate %v", c.name, sim, dup)
			}
		} else if _, dup, _ := p.PackedVerdict(packed, packed); dup {
			t.Errorf("%s: an entry of another layout is a duplicate", c.name)
		}
	}
	// A lead or content hash is kept by its low 16 bits, and is there
	// whatever they are.
	p.Bits = 8
	if e, ok := unpacked(p.Pack(nil, encodeEntryContent(lowZero, 1<<40))); !ok || e.lead == 0 || e.content == 0 || e.shingles != lowZero.Shingles {
		t.Errorf("lead %x, content 1<<40: unpacked %+v, %v; want both there, with the shingle count", lowZero.Lead, e, ok)
	}
}

// Pack keeps each value's lowest bits, in order, back to back from the
// first byte's lowest bit, at every width.
func TestPackValues(t *testing.T) {
	sk := Sketch{Sig: []uint64{0x1234, 0xffff, 0, 0xabcd, 0x5a5a, 0x0f0f, 0x7777, 0x8001, 0x3c3c}, Shingles: 9}
	for bits := 1; bits <= 8; bits++ {
		e, ok := unpacked(Params{Bits: bits}.Pack(nil, encodeEntry(sk)))
		if !ok || e.bits != bits || e.n != len(sk.Sig) {
			t.Fatalf("bits %d: unpacked %+v, %v", bits, e, ok)
		}
		for i, v := range sk.Sig {
			var got uint64
			for k := range bits {
				at := i*bits + k
				got |= uint64(e.values[at/8]>>(at%8)&1) << k
			}
			if want := v & (1<<bits - 1); got != want {
				t.Errorf("bits %d: value %d is %#x, want %#x", bits, i, got, want)
			}
		}
	}
}

// The similarity estimated from packed entries is the one estimated from
// whole values, give or take the noise of the bits dropped: over many
// pairs of texts from unrelated to identical, its mean error is near 0
// (the correction for values agreeing by chance works) and it decides as
// whole values do on clear cases. A content hash tells exact copies.
func TestPackedVerdict(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := func(n int) []string {
		w := make([]string, n)
		for i := range w {
			w[i] = fmt.Sprint("w", rng.IntN(3000))
		}
		return w
	}
	base := DefaultParams()
	sketch := func(words []string) Sketch {
		sk, ok := base.SketchWords(words)
		if !ok {
			t.Fatal("no sketch")
		}
		return sk
	}
	entry := func(words []string, content uint64) []byte { return encodeEntryContent(sketch(words), content) }
	// The rule on whole 64-bit values: the share that agree, or the
	// containment it implies when the leads agree. far says whether the
	// deciding estimate is clear of its threshold (by 0.2), where the
	// noise of dropped bits should not change the verdict.
	wholeVerdict := func(a, b Sketch) (sim float64, dup, far bool) {
		eq := 0
		for i := range a.Sig {
			if a.Sig[i] == b.Sig[i] {
				eq++
			}
		}
		j := float64(eq) / float64(len(a.Sig))
		far = math.Abs(j-base.Threshold) > 0.2
		if j >= base.Threshold {
			return j, true, far
		}
		if a.Lead != 0 && a.Lead == b.Lead {
			c := min(1, j*float64(a.Shingles+b.Shingles)/(1+j)/float64(min(a.Shingles, b.Shingles)))
			far = far && math.Abs(c-base.MinContainment) > 0.2
			if c >= base.MinContainment {
				return c, true, far
			}
		}
		return j, false, far
	}
	for _, bits := range []int{8, 5, 4, 3} {
		p := base
		p.Bits = bits
		var sum, n float64
		for i := range 400 {
			a := text(120)
			b := append([]string(nil), a...)
			keep := i % 11 // 0 to 10 tenths of the words kept
			for k := keep * len(b) / 10; k < len(b); k++ {
				b[k] = fmt.Sprint("x", rng.IntN(3000))
			}
			ska, skb := sketch(a), sketch(b)
			ea, eb := encodeEntry(ska), encodeEntry(skb)
			whole, wholeDup, far := wholeVerdict(ska, skb)
			sim, dup, same := p.PackedVerdict(p.Pack(nil, ea), p.Pack(nil, eb))
			if same {
				t.Fatalf("bits %d: texts without content hashes are the same", bits)
			}
			if far && dup != wholeDup {
				t.Errorf("bits %d, %d tenths kept: packed %.3f %v, whole values %.3f %v", bits, keep, sim, dup, whole, wholeDup)
			}
			if sim2, dup2, _ := p.PackedVerdict(p.Pack(nil, eb), p.Pack(nil, ea)); sim2 != sim || dup2 != dup {
				t.Errorf("bits %d: not symmetric: %.3f %v, %.3f %v", bits, sim, dup, sim2, dup2)
			}
			if whole > 0.1 && whole < 0.9 { // the clamp at 0 and 1 aside
				sum += sim - whole
				n++
			}
		}
		if bias := sum / n; math.Abs(bias) > 0.02 {
			t.Errorf("bits %d: packed estimates are off by %.3f on average", bits, bias)
		}
		a := text(60)
		if sim, dup, same := p.PackedVerdict(p.Pack(nil, entry(a, 7)), p.Pack(nil, entry(a, 7))); !dup || !same || sim != 1 {
			t.Errorf("bits %d: an exact copy: similarity %v, duplicate %v, same %v", bits, sim, dup, same)
		}
	}
}

func FuzzPack(f *testing.F) {
	f.Add(encodeEntryContent(Sketch{Sig: []uint64{1, 2, 3}, Shingles: 9, Lead: 7}, 5), []byte{0xff}, uint8(8))
	f.Add([]byte{entryVersion}, []byte{}, uint8(4))
	f.Add([]byte{}, []byte{0x63, 1, 0, 7}, uint8(1))
	f.Fuzz(func(t *testing.T, v, other []byte, bits uint8) {
		p := Params{Bits: int(bits)}
		packed := p.Pack([]byte("x"), v)[1:]
		if len(packed) > 1+len(v) {
			t.Fatalf("packed %d bytes into %d", len(v), len(packed))
		}
		// Any bytes: no panic, and the same verdict either way round.
		s1, d1, c1 := p.PackedVerdict(packed, other)
		s2, d2, c2 := p.PackedVerdict(other, packed)
		if s1 != s2 || d1 != d2 || c1 != c2 {
			t.Fatalf("not symmetric: %v %v %v, %v %v %v", s1, d1, c1, s2, d2, c2)
		}
		p.PackedVerdict(v, other)
	})
}

// agreeing counts what a value-by-value reading of the packed bits
// counts, at every width and length, whatever the bits past the last
// value in its byte.
func TestAgreeing(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for nb := 1; nb <= 8; nb++ {
		for n := 1; n <= 80; n++ {
			size := (n*nb + 7) / 8
			x, y := make([]byte, size), make([]byte, size)
			for range 20 {
				for i := range x {
					x[i] = byte(rng.Uint32())
					y[i] = x[i]
					if rng.IntN(3) == 0 { // some values differ, some agree
						y[i] ^= byte(1 << rng.IntN(8))
					}
				}
				want := 0
				for k := range n {
					same := true
					for b := range nb {
						at := k*nb + b
						same = same && x[at/8]>>(at%8)&1 == y[at/8]>>(at%8)&1
					}
					if same {
						want++
					}
				}
				if got := agreeing(x, y, nb, n); got != want {
					t.Fatalf("%d values of %d bits: %d agree, want %d", n, nb, got, want)
				}
			}
		}
	}
}

// Of n values, eq agreeing reach the threshold exactly when eq is at
// least MinAgreeing, at every width, length and count, for entries with
// and without a content hash (Agreement's two ways), and Agreement counts
// as PackedVerdict does.
func TestMinAgreeing(t *testing.T) {
	for _, th := range []float64{0.05, 0.3, 0.5, 0.77, 1} {
		p := Params{Threshold: th}
		for nb := 1; nb <= 8; nb++ {
			p.Bits = nb
			for _, n := range []int{1, 2, 7, 20, 33, 64} {
				need := p.MinAgreeing(n, nb)
				for eq := 0; eq <= n; eq++ {
					a, b := Sketch{Sig: make([]uint64, n)}, Sketch{Sig: make([]uint64, n)}
					for i := range n {
						a.Sig[i], b.Sig[i] = uint64(i), uint64(i)
						if i >= eq {
							b.Sig[i]++ // differs in its lowest bit
						}
					}
					for _, content := range [][2]uint64{{0, 0}, {99, 100}} {
						x, y := p.Pack(nil, encodeEntryContent(a, content[0])), p.Pack(nil, encodeEntryContent(b, content[1]))
						_, dup, _ := p.PackedVerdict(x, y)
						if dup != (eq >= need) {
							t.Fatalf("threshold %v, %d values of %d bits, %d agree: duplicate %v, MinAgreeing %d", th, n, nb, eq, dup, need)
						}
						if got, gn, gb, lead, ok := Agreement(x, y); !ok || got != eq || gn != n || gb != nb || lead {
							t.Fatalf("%d values of %d bits, %d agree: Agreement %d of %d, %d bits, lead %v, ok %v", n, nb, eq, got, gn, gb, lead, ok)
						}
					}
				}
			}
		}
	}
}

// BenchmarkPackedVerdict is the cost of comparing two packed near
// signatures (64 values of 5 bits); pipeline/story's BenchmarkSame is a
// story signature's, with the story package's own parameters.
func BenchmarkPackedVerdict(b *testing.B) {
	words := func(seed uint64) []string {
		rng := rand.New(rand.NewPCG(seed, 9))
		w := make([]string, 60)
		for i := range w {
			w[i] = fmt.Sprint("w", rng.IntN(3000))
		}
		return w
	}
	p := DefaultParams()
	ska, _ := p.SketchWords(words(1))
	skb, _ := p.SketchWords(words(2))
	x, y := p.Pack(nil, encodeEntry(ska)), p.Pack(nil, encodeEntry(skb))
	for b.Loop() {
		p.PackedVerdict(x, y)
	}
}
