package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/schollz/progressbar/v3"

	evaldedup "github.com/wirewatch/wirewatch/eval/dedup"
	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/story"
)

// cmdEvalDedup is `wirewatch eval dedup`: near-duplicate detection
// (MinHash + LSH) against a 64-bit SimHash baseline on synthetic
// syndication of bbc-news and on the cross-outlet copies of rss-2026-01.
func cmdEvalDedup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("eval dedup", stderr)
	datasets := fs.String("datasets", "", "the datasets folder (default $"+corpus.DatasetsEnv+", else ../shared/datasets)")
	limit := fs.Int("rss-limit", 0, "read at most this many rss-2026-01 entries (0: all)")
	def := dedup.DefaultParams()
	bands := fs.Int("bands", def.Bands, "LSH bands")
	rows := fs.Int("rows", def.Rows, "hashes per band")
	hashes := fs.Int("hashes", def.Hashes, "signature length (at least bands x rows)")
	shingle := fs.Int("shingle", def.Shingle, "words per shingle")
	threshold := fs.Float64("threshold", def.Threshold, "estimated Jaccard similarity from which a candidate is a duplicate")
	lead := fs.Int("lead", def.LeadWords, "lead length in words (-1: no lead fingerprint)")
	nearBits := fs.Int("bits", def.Bits, "bits of each near-duplicate minimum hash the index keeps (1-8)")
	storyBits := fs.Int("story-bits", story.Config{}.WithDefaults().Bits, "bits of each story minimum hash the index keeps (1-8)")
	quiet := fs.Bool("q", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	dir, err := datasetsDir(*datasets)
	if err != nil {
		return err
	}
	p := def
	p.Bands, p.Rows, p.Shingle, p.Threshold, p.LeadWords = *bands, *rows, *shingle, *threshold, *lead
	p.Hashes, p.Bits = max(*hashes, p.Bands*p.Rows), *nearBits
	var bar *progressbar.ProgressBar
	o := evaldedup.Options{Datasets: dir, Params: p, Story: story.Config{Bits: *storyBits}, RSSLimit: *limit}
	if !*quiet {
		o.Progress = func(total int) {
			bar = newBar(stderr, "eval dedup", int64(total))
		}
		o.Step = func() { _ = bar.Add(1) }
	}
	start := time.Now()
	res, err := evaldedup.Run(ctx, o)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return fmt.Errorf("eval dedup: %w", err)
	}
	fmt.Fprintf(stdout, "near duplicates: MinHash %d hashes (%d bits kept), %d bands x %d rows, %d-word shingles, Jaccard >= %.2f, lead %d words; stories: %d bits kept; %s\n\n",
		p.Hashes, p.Bits, p.Bands, p.Rows, p.Shingle, p.Threshold, p.LeadWords, *storyBits, time.Since(start).Round(time.Second))
	return evaldedup.Print(stdout, res)
}
