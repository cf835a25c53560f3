package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wirewatch/wirewatch/bench"
	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/pipeline"
)

// cmdBench measures the broker's one-hop limit and the full daemon in one
// run (see BENCHMARKS.md).
func cmdBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench", stderr)
	articles := fs.Int("articles", 500_000, "articles replayed through the pipeline (rss-2026-01, repeated with fresh ids)")
	oneHop := fs.Int("one-hop", 200_000, "messages for the raw JetStream one-hop rate")
	latRate := fs.Int("latency-rate", 1000, "offered load (articles/s) for the latency run")
	latFor := fs.Duration("latency-for", 60*time.Second, "length of the latency run")
	workers := fs.Int("workers", 0, "pipeline workers (0: config default)")
	farmFeeds := fs.Int("farm-feeds", 10_000, "feeds in the local poll farm (0: skip)")
	farmEvery := fs.Duration("farm-interval", 30*time.Second, "poll interval in the farm (compressed time; CPU is scaled to a 5-minute cadence)")
	farmFor := fs.Duration("farm-for", 90*time.Second, "length of the farm run")
	stored := fs.Int("restart-stored", 1_000_000, "articles stored before the kill -9 restart measurement (0: skip)")
	quick := fs.Bool("quick", false, "a short run (20k articles, 50k one-hop, 5 s latency, 1,000-feed farm for 15 s, restart with 50k stored)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file")
	dir := fs.String("dir", "", "JetStream directory (default: temporary)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *quick {
		// Short defaults for every size the user did not set.
		set := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
		short := func(name string, apply func()) {
			if !set[name] {
				apply()
			}
		}
		short("articles", func() { *articles = 20_000 })
		short("one-hop", func() { *oneHop = 50_000 })
		short("latency-for", func() { *latFor = 5 * time.Second })
		short("farm-feeds", func() { *farmFeeds = 1000 })
		short("farm-interval", func() { *farmEvery = 5 * time.Second })
		short("farm-for", func() { *farmFor = 15 * time.Second })
		short("restart-stored", func() { *stored = 50_000 })
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("restart measurement needs this binary: %w", err)
	}
	datasets, err := corpus.Locate(corpus.DatasetsEnv, "datasets")
	if err != nil {
		return fmt.Errorf("the replay needs ../shared/datasets/rss-2026-01: %w", err)
	}
	entries, err := corpus.ReadRSS2026(datasets, 0)
	if err != nil {
		return err
	}
	arts := make([]*pipeline.Article, 0, len(entries))
	for _, e := range entries {
		arts = append(arts, e.Article())
	}
	last := time.Time{}
	res, err := bench.Run(ctx, bench.Options{
		Articles: *articles, OneHop: *oneHop, LatencyRate: *latRate, LatencyFor: *latFor,
		Workers: *workers, Corpus: arts, Dir: *dir,
		Farm:    bench.FarmOptions{Feeds: *farmFeeds, Interval: *farmEvery, Duration: *farmFor},
		Restart: bench.RestartOptions{Binary: self, Stored: *stored},
		Progress: func(stage string, done, total int) {
			if time.Since(last) > time.Second {
				last = time.Now()
				fmt.Fprintf(stderr, "\r%-10s %3d%%", stage, 100*done/max(total, 1))
			}
		},
	})
	fmt.Fprint(stderr, "\r               \r")
	if err != nil {
		return err
	}
	fmt.Fprint(stdout, res.Table())
	if *jsonOut != "" {
		data, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonOut, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *jsonOut, err)
		}
	}
	return nil
}
