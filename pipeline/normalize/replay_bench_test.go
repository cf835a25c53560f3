package normalize

import (
	"context"
	"log/slog"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// BenchmarkProcessReplay normalises real feed entries (rss-2026-01: short
// descriptions, en/pl/de), the daemon's common case.
func BenchmarkProcessReplay(b *testing.B) {
	arts := corpus.RSSArticles(b, 20000)
	n := New(slog.New(slog.DiscardHandler))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		a := *arts[i%len(arts)]
		_ = n.Process(context.Background(), &a)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "articles/s")
}
