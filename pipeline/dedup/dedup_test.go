package dedup

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
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
			t.Run("concurrent copies", func(t *testing.T) { testConcurrentCopies(t, mk(t)) })
			t.Run("concurrent near copies", func(t *testing.T) { testConcurrentNearCopies(t, mk(t)) })
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

// storyText is a distinct made-up story of n words for round r.
func storyText(r, n int) string {
	rng := rand.New(rand.NewPCG(uint64(r), 7))
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "w%d", rng.IntN(5000))
	}
	return b.String()
}

// N workers see N near copies of a story (new headline, an outlet's
// boilerplate before and after) released together: exactly one survives,
// every round, and the others are near duplicates of it.
func testConcurrentNearCopies(t *testing.T, s Store) {
	const workers, rounds = 8, 40
	st := New(s, metrics.NewUnregistered())
	for round := range rounds {
		base := storyText(round, 150)
		arts := make([]*pipeline.Article, workers)
		for w := range workers {
			arts[w] = &pipeline.Article{
				ID:    fmt.Sprintf("near-r%d-w%d", round, w),
				Title: fmt.Sprintf("Outlet %d headline %d", w, round),
				Text:  fmt.Sprintf("From outlet%d desk. %s Read more at outlet%d.", w, base, w),
			}
		}
		winner := race(t, st, arts)
		for _, a := range arts {
			if a.ID != winner && (a.Duplicate.Of != winner || a.Duplicate.Kind != "near" || a.Duplicate.Similarity < 0.5) {
				t.Fatalf("round %d: %s duplicate %+v, want a near duplicate of %s", round, a.ID, a.Duplicate, winner)
			}
		}
	}
}

// race processes arts on one goroutine each, released together, and
// returns the one survivor, failing unless there is exactly one.
func race(t *testing.T, st *Stage, arts []*pipeline.Article) string {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(arts))
	for w, a := range arts {
		wg.Go(func() {
			<-start
			errs[w] = st.Process(context.Background(), a)
		})
	}
	close(start)
	wg.Wait()
	var survivors []string
	for w, a := range arts {
		if errs[w] != nil {
			t.Fatal(errs[w])
		}
		if a.Duplicate == nil {
			survivors = append(survivors, a.ID)
		}
	}
	if len(survivors) != 1 {
		t.Fatalf("%d survivors %v, want exactly 1", len(survivors), survivors)
	}
	return survivors[0]
}

// N workers see N copies of a story released together: exactly one
// survives, every round.
func testConcurrentCopies(t *testing.T, s Store) {
	const workers, rounds = 8, 50
	m := metrics.NewUnregistered()
	st := New(s, m)
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		arts := make([]*pipeline.Article, workers)
		errs := make([]error, workers)
		for w := range workers {
			arts[w] = &pipeline.Article{
				ID:           fmt.Sprintf("r%d-w%d", round, w),
				Title:        fmt.Sprintf("Headline %d from outlet %d", round, w),
				Text:         storyText(1000+round, 40),
				CanonicalURL: fmt.Sprintf("https://outlet%d.example/story-%d", w, round),
			}
			wg.Go(func() {
				<-start
				errs[w] = st.Process(context.Background(), arts[w])
			})
		}
		close(start)
		wg.Wait()
		survivors := 0
		var winner string
		for w, a := range arts {
			if errs[w] != nil {
				t.Fatal(errs[w])
			}
			if a.Duplicate == nil {
				survivors++
				winner = a.ID
			}
		}
		if survivors != 1 {
			t.Fatalf("round %d: %d survivors, want exactly 1", round, survivors)
		}
		for _, a := range arts {
			if a.Duplicate != nil && (a.Duplicate.Of != winner || a.Duplicate.Kind != "content") {
				t.Fatalf("round %d: %s duplicate of %+v, want content duplicate of %s", round, a.ID, a.Duplicate, winner)
			}
		}
	}
}

func TestKinds(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := New(NewMemoryStore(), metrics.NewUnregistered())
	body := "Leaders met in London on Monday to discuss security guarantees for Ukraine after any ceasefire deal."
	first := &pipeline.Article{ID: "1", Title: "Talks in London", Text: body, CanonicalURL: "https://a.example/x", GUID: "urn:uuid:6f0c6a7e-1111-2222-3333-444455556666"}
	cases := []struct {
		a    *pipeline.Article
		kind string
	}{
		{first, ""},
		{&pipeline.Article{ID: "2", Title: "Other", Text: "different body text entirely about other things happening", CanonicalURL: "https://a.example/x"}, "url"},
		{&pipeline.Article{ID: "3", Title: "Other 2", Text: "yet another different body about markets and weather today", GUID: first.GUID}, "guid"},
		{&pipeline.Article{ID: "4", Title: "New headline, same body", Text: body, CanonicalURL: "https://b.example/y"}, "content"},
		{&pipeline.Article{ID: "5", Title: "Distinct", Text: "a distinct story with its own words about a storm in the north", CanonicalURL: "https://c.example/z", GUID: "42"}, ""},
		// A short numeric GUID is only unique within its feed: not an identity across feeds.
		{&pipeline.Article{ID: "6", Title: "Another distinct", Text: "more words on a separate subject, the harvest and the prices", GUID: "42"}, ""},
	}
	for _, c := range cases {
		if err := st.Process(ctx, c.a); err != nil {
			t.Fatal(err)
		}
		got := ""
		if c.a.Duplicate != nil {
			got = c.a.Duplicate.Kind
			if c.a.Duplicate.Of != "1" {
				t.Errorf("article %s duplicate of %s, want 1", c.a.ID, c.a.Duplicate.Of)
			}
		}
		if got != c.kind {
			t.Errorf("article %s: kind %q, want %q", c.a.ID, got, c.kind)
		}
	}
	// Redelivery of the original: not a duplicate of itself.
	again := *first
	if err := st.Process(ctx, &again); err != nil || again.Duplicate != nil {
		t.Errorf("redelivered original marked %+v (err %v)", again.Duplicate, err)
	}
}
