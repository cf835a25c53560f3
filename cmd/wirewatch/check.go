package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/sources"
)

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", stderr)
	path := fs.String("config", "wirewatch.yaml", "config file")
	fetch := fs.Bool("fetch", false, "also fetch and parse every feed once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stdout, err)
		return errors.New("config has problems")
	}
	problems := 0
	report := func(err error) {
		problems++
		fmt.Fprintln(stdout, err)
	}
	set, err := daemon.LoadTopics(cfg)
	if err != nil {
		report(err)
	}
	if _, err := daemon.LoadGazetteer(cfg); err != nil {
		report(err)
	}
	feeds, err := daemon.Feeds(cfg)
	if err != nil {
		report(err)
	}
	if *fetch {
		fetcher := sources.NewFetcher(daemon.FetcherConfig(cfg))
		for _, f := range feeds {
			fctx, cancel := context.WithTimeout(ctx, cfg.Fetch.Timeout+5*time.Second)
			arts, err := sources.ReadSource(fctx, fetcher, f.URL)
			cancel()
			if err != nil {
				report(fmt.Errorf("feed %s: %s: %w", f.URL, sources.ReasonOf(err), err))
				continue
			}
			fmt.Fprintf(stdout, "feed %s: ok, %d items\n", f.URL, len(arts))
		}
	}
	if problems > 0 {
		return fmt.Errorf("%d problem(s)", problems)
	}
	ntopics := 0
	if set != nil {
		ntopics = len(set.Topics())
	}
	fmt.Fprintf(stdout, "%s: ok (%d feeds, %d topics)\n", *path, len(feeds), ntopics)
	return nil
}
