// Package ledger decides duplicates and stories for every worker of every
// daemon at once, with at most one stored message per article.
//
// Each article's identities (exact keys, near-duplicate bands and
// signature, story bands and signature: hashes, never text) go as one
// Record to the ledger, a JetStream stream; the records a process's
// workers append at about the same moment share one message, and a
// record's position is its message's sequence and its index in the
// message (Pos). Every process tails the whole
// ledger into an in-memory Index, in ledger order, and the verdict on a
// record is a function of the records before it: the article earliest in
// the ledger is the original, later copies are its duplicates, and the
// first article of a story names it. Two copies processed at the same
// moment by two workers or two daemons are ordered by the stream, so
// exactly one survives, without a lock or a round trip per key; every
// process reaches the same verdicts, and a restarted one rebuilds its
// index by replaying the ledger (which keeps the dedup horizon).
//
// Memory is the in-process variant (one process, `wirewatch inspect`, the
// evaluation): the same Index behind a mutex.
package ledger

import (
	"context"
	"sync"
	"time"
)

// Memory is a ledger held in one process: records are ordered by a mutex.
type Memory struct {
	mu    sync.Mutex
	seq   uint64
	index *Index
	now   func() time.Time
}

// NewMemory returns an empty in-process ledger; now stamps the records
// (time.Now when nil).
func NewMemory(r Rules, now func() time.Time) *Memory {
	if now == nil {
		now = time.Now
	}
	return &Memory{index: NewIndex(r), now: now}
}

// Append orders r after every record appended before and returns its
// verdict.
func (m *Memory) Append(_ context.Context, r *Record) (Result, error) {
	if err := r.check(); err != nil { // as the stream's Encode would
		return Result{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	return m.index.Apply(Pos(m.seq, 0), m.now(), r), nil
}

// Index is the ledger's index.
func (m *Memory) Index() *Index { return m.index }
