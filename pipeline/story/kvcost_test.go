package story

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
)

// countingKV counts the round trips the dedup and story stages make to
// the KV bucket.
type countingKV struct {
	jetstream.KeyValue
	trips atomic.Int64
}

func (c *countingKV) Create(ctx context.Context, k string, v []byte, o ...jetstream.KVCreateOpt) (uint64, error) {
	c.trips.Add(1)
	return c.KeyValue.Create(ctx, k, v, o...)
}

func (c *countingKV) Get(ctx context.Context, k string) (jetstream.KeyValueEntry, error) {
	c.trips.Add(1)
	return c.KeyValue.Get(ctx, k)
}

func (c *countingKV) Update(ctx context.Context, k string, v []byte, rev uint64) (uint64, error) {
	c.trips.Add(1)
	return c.KeyValue.Update(ctx, k, v, rev)
}

func kvText(r, n int) string {
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

// BenchmarkKVCost is what one article costs the shared index in the
// daemon's setting (dedup then story over the JetStream KV bucket, 60-word
// feed items, one in five a near copy from another outlet): KV round
// trips, messages stored and bytes stored in ww_dedup per article.
func BenchmarkKVCost(b *testing.B) {
	ctx := context.Background()
	_, _, js := natsutil.StartTestServer(b)
	res, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	ckv := &countingKV{KeyValue: res.Dedup}
	store := dedup.NewKVStore(ckv)
	m := metrics.NewUnregistered()
	stages := []pipeline.Stage{dedup.New(store, m), New(store, Config{}, m)}
	b.ResetTimer()
	n := 0
	for i := 0; b.Loop(); i++ {
		base := i
		title := fmt.Sprintf("Headline %d", i)
		text := kvText(base, 60)
		if i%5 == 4 { // a copy of the previous article, another outlet
			base = i - 1
			title = fmt.Sprintf("Other outlet: headline %d", base)
			text = "From our wire desk. " + kvText(base, 60) + " Read more."
		}
		a := &pipeline.Article{ID: fmt.Sprintf("%032x", i), Feed: fmt.Sprintf("feed%d", i%7), Title: title, Text: text,
			CanonicalURL: fmt.Sprintf("https://outlet%d.example/%d", i%7, i)}
		for _, s := range stages {
			if err := s.Process(ctx, a); err != nil {
				b.Fatal(err)
			}
		}
		n++
	}
	b.StopTimer()
	info, err := res.Dedup.Status(ctx)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(ckv.trips.Load())/float64(n), "trips/article")
	b.ReportMetric(float64(info.Values())/float64(n), "msgs/article")
	b.ReportMetric(float64(info.Bytes())/float64(n), "stored-B/article")
}
