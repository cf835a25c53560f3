package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Entry states in the notification log.
const (
	stateSending = "sending" // claimed by Owner until Until
	stateSent    = "sent"
	stateDead    = "dead"   // dead-lettered: other topic-alerts of the article are not retried
	stateQueued  = "queued" // in the digest bucket, to be sent with the next digest
)

type logEntry struct {
	State string    `json:"state"`
	Owner string    `json:"owner,omitempty"`
	Until time.Time `json:"until,omitzero"`
	At    time.Time `json:"at"`
	Alert string    `json:"alert,omitempty"` // the alert id that was delivered
}

type claimResult int

const (
	claimed claimResult = iota
	alreadySent
	alreadyDead
	busy // another worker holds an unexpired lease
	alreadyQueued
)

// notifyLog is the notification log: one key per subscription and
// delivery, claimed atomically (KV create, or compare-and-set over an
// expired lease), so two workers that get two topic-alerts of one article
// at once send it once.
type notifyLog struct {
	kv  jetstream.KeyValue
	now func() time.Time
}

// claim tries to take key for owner for lease. It returns the revision
// to release with, or why not, and for busy how long the lease has left.
func (l *notifyLog) claim(ctx context.Context, key, owner, alertID string, lease time.Duration) (uint64, claimResult, time.Duration, error) {
	for range 5 {
		now := l.now()
		val, _ := json.Marshal(logEntry{State: stateSending, Owner: owner, Until: now.Add(lease), At: now, Alert: alertID})
		rev, err := l.kv.Create(ctx, key, val)
		if err == nil {
			return rev, claimed, 0, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return 0, 0, 0, fmt.Errorf("notification log: claim %s: %w", key, err)
		}
		e, err := l.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // released meanwhile
		}
		if err != nil {
			return 0, 0, 0, fmt.Errorf("notification log: read %s: %w", key, err)
		}
		var cur logEntry
		if err := json.Unmarshal(e.Value(), &cur); err != nil {
			cur = logEntry{State: stateSending} // unreadable: treat as an expired lease
		}
		switch cur.State {
		case stateSent:
			return 0, alreadySent, 0, nil
		case stateDead:
			return 0, alreadyDead, 0, nil
		case stateQueued:
			return 0, alreadyQueued, 0, nil
		}
		if left := cur.Until.Sub(now); left > 0 {
			return 0, busy, left, nil
		}
		// The holder's lease ran out (it crashed, or gave up): take over
		// only if nobody else did first.
		rev, err = l.kv.Update(ctx, key, val, e.Revision())
		if err == nil {
			return rev, claimed, 0, nil
		}
	}
	return 0, busy, 0, nil
}

// finish records the outcome (sent or dead). It is a plain put: the
// destination accepted, so that is now the truth whoever holds the lease.
func (l *notifyLog) finish(ctx context.Context, key, state, alertID string) error {
	val, _ := json.Marshal(logEntry{State: state, At: l.now(), Alert: alertID})
	if _, err := l.kv.Put(ctx, key, val); err != nil {
		return fmt.Errorf("notification log: record %s as %s: %w", key, state, err)
	}
	return nil
}

// release drops a claim that did not deliver, if it is still ours.
func (l *notifyLog) release(ctx context.Context, key string, rev uint64) {
	_ = l.kv.Delete(ctx, key, jetstream.LastRevision(rev))
}

// state is the recorded state of key ("" when none).
func (l *notifyLog) state(ctx context.Context, key string) (string, error) {
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("notification log: read %s: %w", key, err)
	}
	var cur logEntry
	_ = json.Unmarshal(e.Value(), &cur)
	return cur.State, nil
}
