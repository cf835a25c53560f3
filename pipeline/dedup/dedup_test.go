package dedup

import (
	"context"
	"fmt"
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
			t.Run("concurrent copies", func(t *testing.T) { testConcurrentCopies(t, mk(t)) })
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

// N workers see N copies of a story released together: exactly one
// survives, every round.
func testConcurrentCopies(t *testing.T, s Store) {
	const workers, rounds = 8, 50
	m := metrics.NewUnregistered()
	st := New(s, m)
	text := strings.Repeat("the same wire story republished by many outlets today ", 3)
	for round := range rounds {
		var wg sync.WaitGroup
		start := make(chan struct{})
		arts := make([]*pipeline.Article, workers)
		errs := make([]error, workers)
		for w := range workers {
			arts[w] = &pipeline.Article{
				ID:           fmt.Sprintf("r%d-w%d", round, w),
				Title:        fmt.Sprintf("Headline %d from outlet %d", round, w),
				Text:         fmt.Sprintf("round %d: %s", round, text),
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
