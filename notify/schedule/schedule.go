// Package schedule parses and evaluates the digest schedules and rate
// limits of subscriptions: "daily 07:00 Europe/London", "every 30m" and
// "20/h". The texts come from the config file, so the parsers are strict
// and fuzzed; a parsed value is immutable.
package schedule

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	_ "time/tzdata" // zones resolve in minimal containers too
)

// Limits of what a schedule may say.
const (
	MinEvery = time.Minute
	MaxEvery = 7 * 24 * time.Hour
)

// Schedule says when a digest period ends. Boundaries are instants: for
// "every D", the multiples of D since the zero time (so "every 30m" ends
// periods at :00 and :30 UTC, "every 24h" at 00:00 UTC); for "daily HH:MM
// ZONE", HH:MM wall-clock time in ZONE each day (a time skipped by a DST
// change is normalised forward, as time.Date does).
type Schedule struct {
	every     time.Duration
	hour, min int
	loc       *time.Location
	text      string
}

// Parse reads "every DURATION" (a Go duration between 1m and 168h) or
// "daily HH:MM [ZONE]" (an IANA zone name; default UTC).
func Parse(s string) (Schedule, error) {
	f := strings.Fields(s)
	if len(f) == 0 {
		return Schedule{}, errors.New(`empty schedule: want "every 30m" or "daily 07:00 Europe/London"`)
	}
	switch strings.ToLower(f[0]) {
	case "every":
		if len(f) != 2 {
			return Schedule{}, fmt.Errorf("%q: want \"every DURATION\", e.g. every 30m", s)
		}
		d, err := time.ParseDuration(f[1])
		if err != nil {
			return Schedule{}, fmt.Errorf("%q: %w", s, err)
		}
		if d < MinEvery || d > MaxEvery {
			return Schedule{}, fmt.Errorf("%q: the period must be between %v and %v", s, MinEvery, MaxEvery)
		}
		return Schedule{every: d, text: "every " + f[1]}, nil
	case "daily":
		if len(f) < 2 || len(f) > 3 {
			return Schedule{}, fmt.Errorf("%q: want \"daily HH:MM [ZONE]\", e.g. daily 07:00 Europe/London", s)
		}
		h, m, ok := clock(f[1])
		if !ok {
			return Schedule{}, fmt.Errorf("%q: %q is not a time of day HH:MM", s, f[1])
		}
		loc := time.UTC
		if len(f) == 3 {
			if strings.ContainsAny(f[2], `\`) || strings.Contains(f[2], "..") || strings.HasPrefix(f[2], "/") || strings.EqualFold(f[2], "local") {
				return Schedule{}, fmt.Errorf("%q: %q is not a time zone name", s, f[2])
			}
			var err error
			if loc, err = time.LoadLocation(f[2]); err != nil {
				return Schedule{}, fmt.Errorf("%q: unknown time zone %q", s, f[2])
			}
		}
		return Schedule{hour: h, min: m, loc: loc, text: strings.Join(append([]string{"daily"}, f[1:]...), " ")}, nil
	}
	return Schedule{}, fmt.Errorf("%q: want \"every DURATION\" or \"daily HH:MM [ZONE]\"", s)
}

func clock(s string) (int, int, bool) {
	hh, mm, ok := strings.Cut(s, ":")
	if !ok || len(hh) < 1 || len(hh) > 2 || len(mm) != 2 {
		return 0, 0, false
	}
	h, err1 := strconv.Atoi(hh)
	m, err2 := strconv.Atoi(mm)
	if err1 != nil || err2 != nil || h < 0 || h > 23 || m < 0 || m > 59 || hh[0] == '+' || hh[0] == '-' || mm[0] == '+' || mm[0] == '-' {
		return 0, 0, false
	}
	return h, m, true
}

// String is the schedule as written (normalised spacing).
func (s Schedule) String() string { return s.text }

// IsZero reports an unset schedule.
func (s Schedule) IsZero() bool { return s.every == 0 && s.loc == nil }

// Prev is the latest boundary at or before t.
func (s Schedule) Prev(t time.Time) time.Time {
	if s.every > 0 {
		return t.Truncate(s.every)
	}
	lt := t.In(s.loc)
	b := time.Date(lt.Year(), lt.Month(), lt.Day(), s.hour, s.min, 0, 0, s.loc)
	for i := 0; b.After(t) && i < 3; i++ {
		lt = lt.AddDate(0, 0, -1)
		b = time.Date(lt.Year(), lt.Month(), lt.Day(), s.hour, s.min, 0, 0, s.loc)
	}
	return b
}

// Next is the earliest boundary strictly after t.
func (s Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		return t.Truncate(s.every).Add(s.every)
	}
	lt := t.In(s.loc)
	b := time.Date(lt.Year(), lt.Month(), lt.Day(), s.hour, s.min, 0, 0, s.loc)
	for i := 0; !b.After(t) && i < 3; i++ {
		lt = lt.AddDate(0, 0, 1)
		b = time.Date(lt.Year(), lt.Month(), lt.Day(), s.hour, s.min, 0, 0, s.loc)
	}
	return b
}

// Rate is a rate limit: at most N messages per fixed window of length
// Per (windows are multiples of Per since the zero time, e.g. clock hours).
type Rate struct {
	N   int
	Per time.Duration
}

// ParseRate reads "N/UNIT" with UNIT s, m, h or d (or a Go duration such
// as 30m): "20/h" is 20 an hour. N is 1 to 1,000,000; the window 1s to 7d.
func ParseRate(s string) (Rate, error) {
	ns, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	if !ok {
		return Rate{}, fmt.Errorf("%q: want N/UNIT, e.g. 20/h", s)
	}
	n, err := strconv.Atoi(strings.TrimSpace(ns))
	if err != nil || n < 1 || n > 1_000_000 {
		return Rate{}, fmt.Errorf("%q: the count must be a whole number from 1 to 1000000", s)
	}
	per = strings.TrimSpace(per)
	var d time.Duration
	switch per {
	case "s":
		d = time.Second
	case "m", "min":
		d = time.Minute
	case "h":
		d = time.Hour
	case "d":
		d = 24 * time.Hour
	default:
		if d, err = time.ParseDuration(per); err != nil {
			return Rate{}, fmt.Errorf("%q: %q is not s, m, h, d or a duration", s, per)
		}
	}
	if d < time.Second || d > MaxEvery {
		return Rate{}, fmt.Errorf("%q: the window must be between 1s and %v", s, MaxEvery)
	}
	return Rate{N: n, Per: d}, nil
}

// Window is the start of the window t is in.
func (r Rate) Window(t time.Time) time.Time { return t.Truncate(r.Per) }

// Schedule is the schedule that ends each window: "every Per".
func (r Rate) Schedule() Schedule {
	return Schedule{every: r.Per, text: "every " + r.Per.String()}
}

func (r Rate) String() string { return strconv.Itoa(r.N) + "/" + r.Per.String() }
