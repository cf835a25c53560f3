package story

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
)

func stores(t *testing.T) map[string]func(t *testing.T) dedup.Store {
	return map[string]func(t *testing.T) dedup.Store{
		"memory": func(t *testing.T) dedup.Store { return dedup.NewMemoryStore() },
		"jetstream-kv": func(t *testing.T) dedup.Store {
			_, _, js := natsutil.StartTestServer(t)
			r, err := natsutil.EnsureResources(context.Background(), js, natsutil.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			return dedup.NewKVStore(r.Dedup)
		},
	}
}

const event = "Flooding in Valencia forced the evacuation of 4000 residents on Tuesday as the river Turia burst its banks after record rainfall, regional officials said."

// Outlets covering one event at the same moment share one story; every
// round, the source count is the number of outlets, and with five or more
// within the window the story is breaking. A redelivered article gets the
// same answer.
func TestConcurrentOutlets(t *testing.T) {
	for name, mk := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := New(mk(t), Config{}, metrics.NewUnregistered())
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
					wg.Go(func() { <-start; errs[o] = st.Process(context.Background(), a) })
				}
				close(start)
				wg.Wait()
				ids := map[string]bool{}
				maxSources := 0
				for o, a := range arts {
					if errs[o] != nil {
						t.Fatal(errs[o])
					}
					if a.Story == nil {
						t.Fatalf("round %d: %s has no story", r, a.ID)
					}
					ids[a.Story.ID] = true
					maxSources = max(maxSources, a.Story.Sources)
				}
				if len(ids) != 1 {
					t.Fatalf("round %d: %d stories %v, want 1", r, len(ids), ids)
				}
				if maxSources != outlets {
					t.Fatalf("round %d: %d sources, want %d", r, maxSources, outlets)
				}
				last := arts[0]
				for _, a := range arts {
					if a.Story.Sources == outlets {
						last = a
					}
				}
				if !last.Story.Breaking {
					t.Errorf("round %d: %d sources at once, story not breaking", r, outlets)
				}
				again := *last
				if err := st.Process(context.Background(), &again); err != nil || *again.Story != *last.Story {
					t.Fatalf("redelivery: %+v, want %+v (%v)", again.Story, last.Story, err)
				}
			}
		})
	}
}

// Sources joining slowly do not make a story breaking; the same feed twice
// is one source.
func TestBreakingWindow(t *testing.T) {
	now := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	st := New(dedup.NewMemoryStore(), Config{Now: func() time.Time { return now }}, metrics.NewUnregistered())
	var last *pipeline.Article
	for i := range 6 {
		now = now.Add(20 * time.Minute)
		feed := fmt.Sprintf("outlet %d", i)
		if i == 5 {
			feed = "outlet 4"
		}
		last = &pipeline.Article{ID: fmt.Sprint(i), Feed: feed, Title: "Valencia floods force thousands from homes", Text: event}
		if err := st.Process(context.Background(), last); err != nil {
			t.Fatal(err)
		}
	}
	if last.Story.Sources != 5 || last.Story.Breaking {
		t.Fatalf("story %+v: want 5 sources over 100 minutes, not breaking", last.Story)
	}
}

// Seeds 000 and 001 are both about talks in London, but different events.
func TestSeedStories(t *testing.T) {
	norm := normalize.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	st := New(dedup.NewMemoryStore(), Config{}, metrics.NewUnregistered())
	got := map[string]string{}
	for _, id := range []string{"000", "001", "002"} {
		title, body := corpus.SplitTitle(corpus.ReadSeed(t, id))
		a := &pipeline.Article{ID: "seed" + id, Feed: "feed" + id, Title: title, Content: body}
		if err := norm.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		if err := st.Process(context.Background(), a); err != nil {
			t.Fatal(err)
		}
		got[id] = a.Story.ID
	}
	if got["000"] == got["001"] || got["001"] == got["002"] || got["000"] == got["002"] {
		t.Fatalf("seeds share stories: %v", got)
	}
}
