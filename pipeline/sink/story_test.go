package sink

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// With stories on, a story alerts once per topic, then an update each
// time more sources joined; an article adding no source, a duplicate
// opening nothing and a redelivery publish nothing more; a breaking story
// is high.
func TestStoryAlerts(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := New(js, Config{Stories: dedup.NewKVStore(res.Dedup)}, metrics.New(reg))
	first := time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)
	art := func(id string, sources int, breaking bool, dup bool) *pipeline.Article {
		a := &pipeline.Article{Version: 1, ID: id, FeedKey: "f" + id, Title: "Ceasefire agreed", Text: "text",
			Topics: []pipeline.TopicMatch{{Name: "ceasefire", Score: 0.6}},
			Story:  &pipeline.StoryRef{ID: "s1", FirstSeen: first, Sources: sources, Breaking: breaking}}
		if dup {
			a.Duplicate = &pipeline.Duplicate{Of: "a", Kind: "near", Similarity: 0.9}
		}
		return a
	}
	// A duplicate before any alert opens nothing.
	steps := []*pipeline.Article{
		art("d0", 1, false, true),
		art("a", 1, false, false), art("a", 1, false, false), // redelivered
		art("b", 2, false, false), art("b", 2, false, false),
		art("c", 2, false, false), // same sources: nothing new
		art("d", 3, false, true),  // a duplicate from a third outlet: update
		art("e", 5, true, false),  // breaking
	}
	for _, a := range steps {
		if err := s.Process(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(t, js, natsutil.StreamAlerts, ""); n != 4 {
		t.Fatalf("ALERTS holds %d, want 4 (new, update 2, update 3, breaking update 5)", n)
	}
	if n := count(t, js, natsutil.StreamAlerts, "ww.alert.ceasefire.high"); n != 1 {
		t.Errorf("high alerts %d, want 1 (the breaking update)", n)
	}
	st, _ := js.Stream(ctx, natsutil.StreamAlerts)
	var updates []bool
	var sources []int
	for seq := uint64(1); seq <= 4; seq++ {
		m, err := st.GetMsg(ctx, seq)
		if err != nil {
			t.Fatal(err)
		}
		var al pipeline.Alert
		if err := json.Unmarshal(m.Data, &al); err != nil {
			t.Fatal(err)
		}
		if al.Story == nil || al.Story.ID != "s1" {
			t.Fatalf("alert %d has story %+v", seq, al.Story)
		}
		updates, sources = append(updates, al.Update), append(sources, al.Story.Sources)
	}
	if want := []bool{false, true, true, true}; !equal(updates, want) {
		t.Errorf("update flags %v, want %v", updates, want)
	}
	if want := []int{1, 2, 3, 5}; !equal(sources, want) {
		t.Errorf("sources %v, want %v", sources, want)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
