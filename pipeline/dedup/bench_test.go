package dedup

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"testing"

	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// BenchmarkIndexed is the cost of deduplicating one new article (a short
// feed item of 60 words) with 10k, 100k (and, with WIREWATCH_BENCH_1M=1,
// 1M) articles already in the in-memory index, and the heap the index
// holds per article.
func BenchmarkIndexed(b *testing.B) {
	sizes := []int{10_000, 100_000}
	if os.Getenv("WIREWATCH_BENCH_1M") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("indexed=%d", n), func(b *testing.B) {
			ctx := context.Background()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			store := NewMemoryStore()
			st := New(store, metrics.NewUnregistered())
			for i := range n {
				a := &pipeline.Article{ID: fmt.Sprintf("%032x", i), Title: "t", Text: storyText(i, 60)}
				if err := st.Process(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
			runtime.GC()
			runtime.ReadMemStats(&after)
			perArticle := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				a := &pipeline.Article{ID: fmt.Sprintf("new%032x", i), Title: "t", Text: storyText(n+i, 60)}
				if err := st.Process(ctx, a); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(perArticle, "heap-B/indexed")
		})
	}
}
