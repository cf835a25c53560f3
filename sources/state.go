package sources

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// minSeen is the least number of published item keys a State remembers.
const minSeen = 500

// State is what survives restarts about one feed. It is stored as JSON in
// the KV bucket natsutil.BucketFeeds under Feed.Key().
type State struct {
	URL          string `json:"url,omitempty"`
	ETag         string `json:"etag,omitempty"`
	LastModified string `json:"last_modified,omitempty"`
	// Errors counts consecutive failed polls (0 after a success).
	Errors     int    `json:"errors,omitempty"`
	LastError  string `json:"last_error,omitempty"`
	LastReason string `json:"last_reason,omitempty"`

	NextPoll    time.Time `json:"next_poll,omitzero"`
	LastPoll    time.Time `json:"last_poll,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// Interval is the current adaptive poll interval.
	Interval time.Duration `json:"interval,omitempty"`

	// Seen holds the keys of items already published, oldest first,
	// bounded to max(2 × items in the last feed, 500).
	Seen []string `json:"seen,omitempty"`

	// Owner is the member that claimed the last poll (cluster mode, see
	// ownership.go); LeaseUntil is when its claim lapses if its poll never
	// finishes (zero once the poll is saved).
	Owner      string    `json:"owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

// StateName is the feed state label used by the FeedsByState metric.
func (s *State) StateName() string {
	switch {
	case s.Errors >= failingAfter:
		return "failing"
	case s.Errors > 0:
		return "backing_off"
	}
	return "ok"
}

// failingAfter is the number of consecutive errors that makes a feed
// "failing" rather than "backing_off".
const failingAfter = 5

// remember records keys (the items of the current feed, in feed order,
// new and old) as the most recent, keeping max(2×len(current), 500).
func (s *State) remember(current []string, itemsInFeed int) {
	in := make(map[string]bool, len(current))
	for _, k := range current {
		in[k] = true
	}
	seen := slices.DeleteFunc(slices.Clone(s.Seen), func(k string) bool { return in[k] })
	for _, k := range current {
		if in[k] {
			seen = append(seen, k)
			delete(in, k) // once
		}
	}
	limit := max(2*itemsInFeed, minSeen)
	if len(seen) > limit {
		seen = slices.Clone(seen[len(seen)-limit:])
	}
	s.Seen = seen
}

// StateStore reads and writes feed state in a JetStream KV bucket.
type StateStore struct {
	kv jetstream.KeyValue
}

// NewStateStore wraps the feed-state bucket.
func NewStateStore(kv jetstream.KeyValue) *StateStore { return &StateStore{kv: kv} }

// Put stores the state of the feed with this key.
func (s *StateStore) Put(ctx context.Context, key string, st State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("feed state %s: encode: %w", key, err)
	}
	if _, err := s.kv.Put(ctx, key, b); err != nil {
		return fmt.Errorf("feed state %s: %w", key, err)
	}
	return nil
}

// GetRev returns the state of the feed with this key and the entry's KV
// revision, for Update; the state is zero and rev 0 when there is none
// yet.
func (s *StateStore) GetRev(ctx context.Context, key string) (st State, rev uint64, err error) {
	e, err := s.kv.Get(ctx, key)
	if natsutil.IsNotFound(err) {
		return State{}, 0, nil
	}
	if err != nil {
		return State{}, 0, fmt.Errorf("feed state %s: %w", key, err)
	}
	if err := json.Unmarshal(e.Value(), &st); err != nil {
		return State{}, e.Revision(), fmt.Errorf("feed state %s: decode: %w", key, err)
	}
	return st, e.Revision(), nil
}

// ErrStateChanged is returned by Update when the state was written by
// someone else since it was read.
var ErrStateChanged = errors.New("feed state changed since read")

// Update stores the state only if the entry is still at revision rev (0:
// only if there is none), and returns the new revision. A lost race is
// ErrStateChanged.
func (s *StateStore) Update(ctx context.Context, key string, st State, rev uint64) (uint64, error) {
	b, err := json.Marshal(st)
	if err != nil {
		return 0, fmt.Errorf("feed state %s: encode: %w", key, err)
	}
	var n uint64
	if rev == 0 {
		n, err = s.kv.Create(ctx, key, b)
	} else {
		n, err = s.kv.Update(ctx, key, b, rev)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return 0, fmt.Errorf("feed state %s: %w", key, ErrStateChanged)
	}
	if err != nil {
		return 0, fmt.Errorf("feed state %s: %w", key, err)
	}
	return n, nil
}

// isWrongSequence reports the JetStream "wrong last sequence" error of a
// compare-and-set that lost (its code differs on replicated streams).
func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant)
}

// All returns every stored state by key, reading the bucket in one pass
// (for start-up with many feeds). Entries that do not decode are skipped.
func (s *StateStore) All(ctx context.Context) (map[string]State, error) {
	w, err := s.kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, fmt.Errorf("feed states: %w", err)
	}
	defer func() { _ = w.Stop() }()
	out := map[string]State{}
	for {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("feed states: %w", ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return out, nil
			}
			if e == nil { // initial values done
				return out, nil
			}
			var st State
			if json.Unmarshal(e.Value(), &st) == nil {
				out[e.Key()] = st
			}
		}
	}
}
