package ledger

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

// ledgers are the implementations the conformance suite runs against. Each
// returns the stage worker w uses: one in-process ledger; one JetStream
// ledger; and two JetStream ledgers with their own connections and
// indexes, as two daemons on one NATS, the workers split between them.
func ledgers(t *testing.T) map[string]func(t *testing.T, r Rules) func(w int) *Stage {
	stage := func(l Appender, r Rules) *Stage { return NewStage(l, r, true, metrics.NewUnregistered()) }
	streams := func(t *testing.T, r Rules, n int) func(w int) *Stage {
		emb, _, js := natsutil.StartTestServer(t)
		if _, err := natsutil.EnsureResources(context.Background(), js, natsutil.Limits{}); err != nil {
			t.Fatal(err)
		}
		stages := make([]*Stage, n)
		for i := range n {
			js := js
			if i > 0 {
				js = natsutil.ConnectTest(t, emb.ClientURL())
			}
			l := NewStream(StreamConfig{JS: js, Rules: r})
			runInBackground(t, l.Run)
			stages[i] = stage(l, r)
		}
		return func(w int) *Stage { return stages[w%n] }
	}
	return map[string]func(t *testing.T, r Rules) func(w int) *Stage{
		"memory": func(t *testing.T, r Rules) func(int) *Stage {
			s := stage(NewMemory(r, nil), r)
			return func(int) *Stage { return s }
		},
		"jetstream":             func(t *testing.T, r Rules) func(int) *Stage { return streams(t, r, 1) },
		"jetstream-two-daemons": func(t *testing.T, r Rules) func(int) *Stage { return streams(t, r, 2) },
	}
}

// runInBackground runs fn until the test ends, and fails the test if fn
// fails.
func runInBackground(t *testing.T, fn func(context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ledger tail: %v", err)
		}
	})
}

func TestConformance(t *testing.T) {
	for name, mk := range ledgers(t) {
		t.Run(name, func(t *testing.T) {
			t.Run("kinds", func(t *testing.T) { testKinds(t, mk(t, Rules{})) })
			t.Run("concurrent copies", func(t *testing.T) { testConcurrentCopies(t, mk(t, Rules{})) })
			t.Run("concurrent near copies", func(t *testing.T) { testConcurrentNearCopies(t, mk(t, Rules{})) })
			t.Run("concurrent outlets", func(t *testing.T) { testConcurrentOutlets(t, mk(t, Rules{})) })
		})
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

// race processes arts on one goroutine each (worker w on stage(w)),
// released together, and returns the one survivor, failing unless there
// is exactly one.
func race(t *testing.T, stage func(int) *Stage, arts []*pipeline.Article) string {
	t.Helper()
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(arts))
	for w, a := range arts {
		wg.Go(func() {
			<-start
			errs[w] = stage(w).Process(context.Background(), a)
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

// N workers see N copies of a story (same text, each outlet's URL and
// headline) released together: exactly one survives, every round, and
// the others are content duplicates of it. A redelivered copy gets the
// same verdict again.
func testConcurrentCopies(t *testing.T, stage func(int) *Stage) {
	const workers, rounds = 8, 50
	for round := range rounds {
		arts := make([]*pipeline.Article, workers)
		for w := range workers {
			arts[w] = &pipeline.Article{
				ID:           fmt.Sprintf("r%d-w%d", round, w),
				Feed:         fmt.Sprintf("outlet %d", w),
				Title:        fmt.Sprintf("Headline %d from outlet %d", round, w),
				Text:         storyText(1000+round, 40),
				CanonicalURL: fmt.Sprintf("https://outlet%d.example/story-%d", w, round),
			}
		}
		winner := race(t, stage, arts)
		for _, a := range arts {
			if a.ID != winner && (a.Duplicate.Of != winner || a.Duplicate.Kind != "content") {
				t.Fatalf("round %d: %s duplicate of %+v, want content duplicate of %s", round, a.ID, a.Duplicate, winner)
			}
		}
		for w, a := range arts[:2] {
			again := *a
			if err := stage(w+1).Process(context.Background(), &again); err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(again.Duplicate) != fmt.Sprint(a.Duplicate) {
				t.Fatalf("round %d: redelivered %s got %+v, first time %+v", round, a.ID, again.Duplicate, a.Duplicate)
			}
		}
	}
}

// N workers see N near copies of a story (new headline, an outlet's
// boilerplate before and after) released together: exactly one survives,
// every round, and the others are near duplicates of it.
func testConcurrentNearCopies(t *testing.T, stage func(int) *Stage) {
	const workers, rounds = 8, 40
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
		winner := race(t, stage, arts)
		for _, a := range arts {
			if a.ID != winner && (a.Duplicate.Of != winner || a.Duplicate.Kind != "near" || a.Duplicate.Similarity < 0.5) {
				t.Fatalf("round %d: %s duplicate %+v, want a near duplicate of %s", round, a.ID, a.Duplicate, winner)
			}
		}
	}
}

// Each kind of identity makes a duplicate of the first article; the first
// article redelivered is not a duplicate of itself; a short numeric GUID
// is not an identity across feeds.
func testKinds(t *testing.T, stage func(int) *Stage) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st := stage(0)
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
	again := *first
	if err := stage(1).Process(ctx, &again); err != nil || again.Duplicate != nil {
		t.Errorf("redelivered original marked %+v (err %v)", again.Duplicate, err)
	}
}

const event = "Flooding in Valencia forced the evacuation of 4000 residents on Tuesday as the river Turia burst its banks after record rainfall, regional officials said."

// Outlets covering one event at the same moment share one story; every
// round, the last to join counts every outlet, and with five or more
// within the window the story is breaking. A redelivered article gets the
// same answer.
func testConcurrentOutlets(t *testing.T, stage func(int) *Stage) {
	const outlets, rounds = 6, 15
	for r := range rounds {
		arts := make([]*pipeline.Article, outlets)
		for o := range arts {
			arts[o] = &pipeline.Article{
				ID: fmt.Sprintf("r%d-o%d", r, o), Feed: fmt.Sprintf("outlet %d", o),
				Title: fmt.Sprintf("Round %d: Valencia floods force thousands from homes (outlet %d)", r, o),
				Text:  fmt.Sprintf("Story %d%d%d. %s Outlet %d reporting.", r, r, r, event, o),
			}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		errs := make([]error, outlets)
		for o, a := range arts {
			wg.Go(func() { <-start; errs[o] = stage(o).Process(context.Background(), a) })
		}
		close(start)
		wg.Wait()
		ids := map[string]bool{}
		var last *pipeline.Article
		for o, a := range arts {
			if errs[o] != nil {
				t.Fatal(errs[o])
			}
			if a.Story == nil {
				t.Fatalf("round %d: %s has no story", r, a.ID)
			}
			ids[a.Story.ID] = true
			if last == nil || a.Story.Sources > last.Story.Sources {
				last = a
			}
		}
		if len(ids) != 1 {
			t.Fatalf("round %d: %d stories %v, want 1", r, len(ids), ids)
		}
		if last.Story.Sources != outlets {
			t.Fatalf("round %d: %d sources, want %d", r, last.Story.Sources, outlets)
		}
		if !last.Story.Breaking {
			t.Errorf("round %d: %d sources at once, story not breaking", r, outlets)
		}
		again := *last
		if err := stage(1).Process(context.Background(), &again); err != nil || *again.Story != *last.Story {
			t.Fatalf("redelivery: %+v, want %+v (%v)", again.Story, last.Story, err)
		}
	}
}
