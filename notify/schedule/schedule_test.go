package schedule

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Every input in testdata/inputs.txt, parsed, and its boundaries around
// fixed instants (one across the UK's spring DST change), against
// testdata/parse.golden.
func TestGolden(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "inputs.txt"))
	if err != nil {
		t.Fatal(err)
	}
	instants := []time.Time{
		time.Date(2026, 1, 6, 6, 59, 0, 0, time.UTC),
		time.Date(2026, 1, 6, 7, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC), // London springs forward at 01:00 UTC
		time.Date(2026, 7, 1, 6, 15, 0, 0, time.UTC),
	}
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimRight(string(in), "\n"), "\n") {
		kind, text, _ := strings.Cut(line, " ")
		fmt.Fprintf(&b, "%s %q\n", kind, text)
		switch kind {
		case "schedule":
			s, err := Parse(text)
			if err != nil {
				fmt.Fprintf(&b, "  error: %v\n", err)
				continue
			}
			fmt.Fprintf(&b, "  = %s\n", s)
			for _, at := range instants {
				fmt.Fprintf(&b, "  %s: prev %s next %s\n", at.Format(time.RFC3339), s.Prev(at).UTC().Format(time.RFC3339), s.Next(at).UTC().Format(time.RFC3339))
			}
		case "rate":
			r, err := ParseRate(text)
			if err != nil {
				fmt.Fprintf(&b, "  error: %v\n", err)
				continue
			}
			fmt.Fprintf(&b, "  = %d per %v; window of %s starts %s\n", r.N, r.Per, instants[3].Format(time.RFC3339), r.Window(instants[3]).Format(time.RFC3339))
		}
	}
	testkit.Golden(t, filepath.Join("testdata", "parse.golden"), b.String(), *update)
}

// Boundaries are consistent: Prev(t) <= t < Next(t), Next(Prev(t)) is
// the boundary after, and a London daily schedule lands at 07:00 local.
func TestBoundaries(t *testing.T) {
	s, err := Parse("daily 07:00 Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	london, _ := time.LoadLocation("Europe/London")
	for at := time.Date(2026, 3, 27, 0, 0, 0, 0, time.UTC); at.Before(time.Date(2026, 4, 2, 0, 0, 0, 0, time.UTC)); at = at.Add(47 * time.Minute) {
		p, n := s.Prev(at), s.Next(at)
		if p.After(at) || !n.After(at) || n.Sub(p) < 23*time.Hour || n.Sub(p) > 25*time.Hour {
			t.Fatalf("at %v: prev %v next %v", at, p, n)
		}
		if l := n.In(london); l.Hour() != 7 || l.Minute() != 0 {
			t.Fatalf("at %v: next %v is not 07:00 in London", at, l)
		}
	}
}

func checkSchedule(t *testing.T, s Schedule, at time.Time) {
	p, n := s.Prev(at), s.Next(at)
	if p.After(at) || !n.After(at) || !s.Next(p).Equal(n) && !p.Equal(at) {
		t.Fatalf("%q at %v: prev %v next %v, next(prev) %v", s, at, p, n, s.Next(p))
	}
}

// FuzzParse: no input panics or loops, and any accepted schedule has
// consistent boundaries; what it prints parses to the same schedule.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"every 30m", "daily 07:00 Europe/London", "daily 7:05", "every 1h30m", "daily 24:00", "every -5m", "daily 07:00 ../../etc/passwd", "weekly", ""} {
		f.Add(s)
	}
	at := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in string) {
		s, err := Parse(in)
		if err != nil {
			return
		}
		checkSchedule(t, s, at)
		again, err := Parse(s.String())
		if err != nil || !again.Next(at).Equal(s.Next(at)) {
			t.Fatalf("%q prints as %q, which parses to %v (%v)", in, s, again, err)
		}
	})
}

// FuzzParseRate: accepted rates are in range.
func FuzzParseRate(f *testing.F) {
	for _, s := range []string{"20/h", "1/s", "5/30m", "0/h", "20/", "/h", "9999999999999999999/h", "3/-1h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r, err := ParseRate(in)
		if err != nil {
			return
		}
		if r.N < 1 || r.Per < time.Second || r.Per > MaxEvery {
			t.Fatalf("%q parsed to %+v", in, r)
		}
	})
}
