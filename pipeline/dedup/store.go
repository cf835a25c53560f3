package dedup

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// Store is the shared index: keys with values, created atomically, read,
// and updated by compare-and-set. Keys are dot-separated tokens of
// [A-Za-z0-9_-]. Entries expire after the dedup horizon (KVStore).
type Store interface {
	// Claim records value under key unless key has a value already; it
	// returns the stored value (value itself when the claim succeeded).
	Claim(ctx context.Context, key, value string) (owner string, err error)
	// Get returns the value of key; ok is false when there is none.
	Get(ctx context.Context, key string) (value string, ok bool, err error)
	// Update replaces the value of key with fn(old, exists) atomically,
	// retrying fn when another writer got there first, and returns what
	// it stored. fn returning ErrNoChange leaves the value as it is.
	Update(ctx context.Context, key string, fn func(old string, exists bool) (string, error)) (string, error)
}

// ErrNoChange, returned by an Update function, leaves the value unchanged.
var ErrNoChange = errors.New("no change")

// KVStore keeps the index in a JetStream KV bucket whose TTL is the dedup
// horizon, shared by every worker of every daemon.
type KVStore struct{ kv jetstream.KeyValue }

// NewKVStore returns a Store over kv.
func NewKVStore(kv jetstream.KeyValue) *KVStore { return &KVStore{kv: kv} }

// Claim creates key = value atomically; if the key exists, it returns the
// stored value.
func (s *KVStore) Claim(ctx context.Context, key, value string) (string, error) {
	for {
		_, err := s.kv.Create(ctx, key, []byte(value))
		if err == nil {
			return value, nil
		}
		if !errors.Is(err, jetstream.ErrKeyExists) {
			return "", fmt.Errorf("kv create %s: %w", key, err)
		}
		e, err := s.kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // expired between create and get: claim again
		}
		if err != nil {
			return "", fmt.Errorf("kv get %s: %w", key, err)
		}
		return string(e.Value()), nil
	}
}

// Get reads key.
func (s *KVStore) Get(ctx context.Context, key string) (string, bool, error) {
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return "", false, nil
	}
	if err != nil {
		return "", false, fmt.Errorf("kv get %s: %w", key, err)
	}
	return string(e.Value()), true, nil
}

// Update is a compare-and-set loop over the key's revision.
func (s *KVStore) Update(ctx context.Context, key string, fn func(string, bool) (string, error)) (string, error) {
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		var old string
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return "", fmt.Errorf("kv get %s: %w", key, err)
		default:
			old, rev = string(e.Value()), e.Revision()
		}
		v, err := fn(old, rev != 0)
		if errors.Is(err, ErrNoChange) {
			return old, nil
		}
		if err != nil {
			return "", err
		}
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, []byte(v))
			if errors.Is(err, jetstream.ErrKeyExists) {
				continue
			}
		} else {
			_, err = s.kv.Update(ctx, key, []byte(v), rev)
			if errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
				continue
			}
		}
		if err != nil {
			return "", fmt.Errorf("kv write %s: %w", key, err)
		}
		return v, nil
	}
}

// MemoryStore keeps the index in memory, for `wirewatch inspect`, the
// evaluation and tests. It never expires entries: such runs are short.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]string{}} }

// Claim records value under key unless it has one.
func (s *MemoryStore) Claim(_ context.Context, key, value string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner, ok := s.m[key]; ok {
		return owner, nil
	}
	s.m[key] = value
	return value, nil
}

// Get reads key.
func (s *MemoryStore) Get(_ context.Context, key string) (string, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	return v, ok, nil
}

// Update applies fn under the lock.
func (s *MemoryStore) Update(_ context.Context, key string, fn func(string, bool) (string, error)) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.m[key]
	v, err := fn(old, ok)
	if errors.Is(err, ErrNoChange) {
		return old, nil
	}
	if err != nil {
		return "", err
	}
	s.m[key] = v
	return v, nil
}

// Len is the number of entries (for the benchmarks).
func (s *MemoryStore) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
