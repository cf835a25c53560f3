package ledger

import (
	"bytes"
	"encoding/hex"
	"errors"
	"flag"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func sampleRecord() *Record {
	return &Record{
		Article: "0123456789abcdef", Feed: "bbc-world",
		Keys: []Key{
			{KindURL, 0x1111111111111111}, {KindGUID, 0x2222222222222222},
			{KindNear, 0x3333333333333333}, {KindNear, 0x4444444444444444},
		},
		NearSig:   []byte{2, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
		StoryKeys: []uint64{0x5555555555555555, 0x6666666666666666},
		StorySig:  []byte{2, 9, 8, 7},
	}
}

// The wire form is stable: a record encodes to the committed bytes (a
// change to the layout needs a new recordVersion, and the golden file
// rewritten with -update), and decodes back to itself.
func TestRecordGolden(t *testing.T) {
	r := sampleRecord()
	b, err := r.Encode(nil)
	if err != nil {
		t.Fatal(err)
	}
	testkit.Golden(t, filepath.Join("testdata", "record-v1.hex"), hex.Dump(b), *update)
	back, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, r) {
		t.Fatalf("decoded %+v, want %+v", back, r)
	}
}

// Every malformed record is rejected with ErrMalformed and a reason.
func TestRecordMalformed(t *testing.T) {
	good, _ := sampleRecord().Encode(nil)
	cases := map[string][]byte{
		"empty":          nil,
		"other version":  append([]byte{9}, good[1:]...),
		"truncated":      good[:len(good)-3],
		"trailing bytes": append(append([]byte{}, good...), 0),
		"huge length":    {recordVersion, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"no article id":  {recordVersion, 0, 0, 0, 0, 0, 0},
		"unknown kind":   {recordVersion, 1, 'a', 0, 1, 9, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0},
	}
	for name, b := range cases {
		_, err := Decode(b)
		if !errors.Is(err, ErrMalformed) || len(strings.TrimPrefix(err.Error(), ErrMalformed.Error())) < 3 {
			t.Errorf("%s: err %v, want ErrMalformed with a reason", name, err)
		}
	}
	if _, err := (&Record{Article: strings.Repeat("x", maxString+1)}).Encode(nil); err == nil {
		t.Error("an id longer than the limit encoded")
	}
}

// Decode never panics, and what it accepts encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	good, _ := sampleRecord().Encode(nil)
	f.Add(good)
	f.Add([]byte{recordVersion, 1, 'a', 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Decode(b)
		if err != nil {
			return
		}
		again, err := r.Encode(nil)
		if err != nil {
			t.Fatalf("decoded record does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the bytes:\n%x\n%x", b, again)
		}
		// Any record the ledger can hold is applied without a panic,
		// after and before a well-formed one sharing its keys, and its
		// second appearance is a repeat with the first one's verdict.
		x := NewIndex(Rules{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		other := sampleRecord()
		other.Keys = append(other.Keys, r.Keys...)
		other.StoryKeys = append(other.StoryKeys, r.StoryKeys...)
		x.Apply(1, at, other)
		first := x.Apply(2, at.Add(time.Second), r)
		x.Apply(3, at.Add(2*time.Second), other)
		again2 := x.Apply(4, at.Add(3*time.Second), r)
		if !again2.Repeat || !reflect.DeepEqual(again2.Duplicate, first.Duplicate) {
			t.Fatalf("a record applied twice: %+v then %+v; want a repeat of the first verdict", first, again2)
		}
	})
}

// A message of records decodes to its records; a malformed one is
// rejected with ErrMalformed, never half-applied.
func TestBatch(t *testing.T) {
	one, _ := sampleRecord().Encode(nil)
	msg, err := EncodeBatch([][]byte{one, one})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := DecodeBatch(msg)
	if err != nil || len(recs) != 2 || !reflect.DeepEqual(recs[1], sampleRecord()) {
		t.Fatalf("DecodeBatch = %d records, %v", len(recs), err)
	}
	if _, err := EncodeBatch(nil); err == nil {
		t.Error("an empty batch encoded")
	}
	bad := map[string][]byte{
		"a single record":  one,
		"no count":         {batchVersion},
		"zero records":     {batchVersion, 0},
		"too many":         {batchVersion, MaxBatch + 1, 0},
		"short":            msg[:len(msg)-1],
		"trailing":         append(append([]byte{}, msg...), 1),
		"bad inner record": append([]byte{batchVersion, 1, 3}, 9, 9, 9),
	}
	for name, b := range bad {
		if recs, err := DecodeBatch(b); !errors.Is(err, ErrMalformed) || recs != nil {
			t.Errorf("%s: %d records, err %v; want ErrMalformed", name, len(recs), err)
		}
	}
}

// DecodeBatch never panics, and what it accepts encodes back to the same
// bytes.
func FuzzDecodeBatch(f *testing.F) {
	one, _ := sampleRecord().Encode(nil)
	msg, _ := EncodeBatch([][]byte{one, one})
	f.Add(msg)
	f.Add([]byte{batchVersion, 1, 8, recordVersion, 1, 'a', 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := DecodeBatch(b)
		if err != nil {
			return
		}
		var raw [][]byte
		for _, r := range recs {
			e, err := r.Encode(nil)
			if err != nil {
				t.Fatalf("decoded record does not encode: %v", err)
			}
			raw = append(raw, e)
		}
		again, err := EncodeBatch(raw)
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("round trip changed the bytes (%v):\n%x\n%x", err, b, again)
		}
	})
}
