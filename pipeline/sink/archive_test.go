package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// The archive copy of every article is stored as the article was, with its
// deterministic Nats-Msg-Id, from concurrent workers:
// articles of very different sizes, read back from
// ARTICLES.
func TestArchiveCopiesIntactUnderReuse(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	s := New(js, Config{}, metrics.New(prometheus.NewRegistry()))
	const workers, each = 8, 40
	want := map[string]pipeline.Article{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				a := pipeline.Article{
					Version: pipeline.ArticleVersion, ID: fmt.Sprintf("w%d-%d", w, i), FeedKey: "f",
					Title: fmt.Sprintf("Article %d of worker %d <&>", i, w), Content: "<p>dropped</p>",
					Text:     strings.Repeat(fmt.Sprintf("w%d-%d é ", w, i), 1+(i*37+w*11)%300),
					Entities: []pipeline.Entity{{Type: "place", Name: fmt.Sprint("Place ", i)}},
				}
				if err := s.Process(ctx, &a); err != nil {
					t.Error(err)
					return
				}
				a.Content = ""
				mu.Lock()
				want[a.ID] = a
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	cons, err := js.OrderedConsumer(ctx, natsutil.StreamArticles, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for range workers * each {
		m, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatal(err)
		}
		var got pipeline.Article
		if err := json.Unmarshal(m.Data(), &got); err != nil {
			t.Fatalf("archived copy does not decode: %v\n%.200s", err, m.Data())
		}
		if id := m.Headers().Get(jetstream.MsgIDHeader); id != "article:"+got.ID {
			t.Errorf("archived copy of %s has Nats-Msg-Id %q, want %q", got.ID, id, "article:"+got.ID)
		}
		if w, ok := want[got.ID]; !ok || !reflect.DeepEqual(got, w) {
			t.Fatalf("archived copy of %s:\n got %+v\nwant %+v", got.ID, got, w)
		}
		delete(want, got.ID)
	}
	if len(want) != 0 {
		t.Errorf("%d articles not archived", len(want))
	}
}
