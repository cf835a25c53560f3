package dedup

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/nats-io/nats.go/jetstream"
)

// KVStore keeps fingerprints in a JetStream KV bucket whose TTL is the
// dedup horizon, shared by every worker of every daemon.
type KVStore struct{ kv jetstream.KeyValue }

// NewKVStore returns a Store over kv.
func NewKVStore(kv jetstream.KeyValue) *KVStore { return &KVStore{kv: kv} }

// Claim creates key = id atomically; if the key exists, it returns the
// stored owner.
func (s *KVStore) Claim(ctx context.Context, key, id string) (string, error) {
	for {
		_, err := s.kv.Create(ctx, key, []byte(id))
		if err == nil {
			return id, nil
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

// MemoryStore keeps fingerprints in memory, for `wirewatch inspect` and
// tests. It never expires entries: an inspect run is short.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore { return &MemoryStore{m: map[string]string{}} }

// Claim records id as owner of key unless it has one.
func (s *MemoryStore) Claim(_ context.Context, key, id string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if owner, ok := s.m[key]; ok {
		return owner, nil
	}
	s.m[key] = id
	return id, nil
}
