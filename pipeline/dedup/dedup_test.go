package dedup

import (
	"context"
	"sync"
	"testing"

	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// The conformance suite every Store implementation must pass.
func TestStores(t *testing.T) {
	impls := map[string]func(t *testing.T) Store{
		"memory": func(t *testing.T) Store { return NewMemoryStore() },
		"jetstream-kv": func(t *testing.T) Store {
			_, _, js := natsutil.StartTestServer(t)
			r, err := natsutil.EnsureResources(context.Background(), js, natsutil.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			return NewKVStore(r.Dedup)
		},
	}
	for name, mk := range impls {
		t.Run(name, func(t *testing.T) {
			t.Run("first claim wins", func(t *testing.T) { testFirstClaimWins(t, mk(t)) })
			t.Run("reclaim by owner", func(t *testing.T) { testReclaimByOwner(t, mk(t)) })
			t.Run("get", func(t *testing.T) { testGet(t, mk(t)) })
			t.Run("update is atomic", func(t *testing.T) { testUpdateAtomic(t, mk(t)) })
		})
	}
}

func testFirstClaimWins(t *testing.T, s Store) {
	ctx := context.Background()
	if o, err := s.Claim(ctx, "url.a", "A"); err != nil || o != "A" {
		t.Fatalf("first claim = %q, %v", o, err)
	}
	if o, err := s.Claim(ctx, "url.a", "B"); err != nil || o != "A" {
		t.Fatalf("second claim = %q, %v; want owner A", o, err)
	}
}

func testReclaimByOwner(t *testing.T, s Store) {
	ctx := context.Background()
	for range 2 {
		if o, err := s.Claim(ctx, "content.x", "A"); err != nil || o != "A" {
			t.Fatalf("claim = %q, %v", o, err)
		}
	}
}

func testGet(t *testing.T, s Store) {
	ctx := context.Background()
	if _, ok, err := s.Get(ctx, "sig.none"); err != nil || ok {
		t.Fatalf("get of a missing key = %v, %v", ok, err)
	}
	bin := string([]byte{0, 1, 2, 255, 254})
	if _, err := s.Claim(ctx, "sig.a", bin); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, "sig.a"); err != nil || !ok || v != bin {
		t.Fatalf("get = %q, %v, %v; want the binary value back", v, ok, err)
	}
}

// Concurrent read-modify-writes never lose an update.
func testUpdateAtomic(t *testing.T, s Store) {
	const writers, each = 4, 10
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := s.Update(ctx, "story.x", func(old string, _ bool) (string, error) {
					return old + "+", nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	v, _, err := s.Get(ctx, "story.x")
	if err != nil || len(v) != writers*each {
		t.Fatalf("after %d updates the value has %d marks (%v)", writers*each, len(v), err)
	}
	if got, err := s.Update(ctx, "story.x", func(string, bool) (string, error) { return "", ErrNoChange }); err != nil || got != v {
		t.Fatalf("ErrNoChange update = %q, %v; want the value unchanged", got, err)
	}
}
