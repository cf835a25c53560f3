package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
)

// inspected is one line of `wirewatch inspect` output.
type inspected struct {
	ID          string              `json:"id"`
	Feed        string              `json:"feed"`
	GUID        string              `json:"guid"`
	URL         string              `json:"url"`
	Title       string              `json:"title"`
	Published   *time.Time          `json:"published"`
	Language    string              `json:"language"`
	DuplicateOf string              `json:"duplicate_of"`
	Duplicate   *pipeline.Duplicate `json:"duplicate,omitempty"`
	Story       *inspStory          `json:"story,omitempty"`
	Topics      []inspTopic         `json:"topics"`
	Entities    []pipeline.Entity   `json:"entities"`
	Text        *string             `json:"text,omitempty"`
	Error       string              `json:"error,omitempty"`
}

// inspStory is the story an article belongs to: its id, the distinct
// sources that carried it so far, and whether it is breaking.
type inspStory struct {
	ID        string    `json:"id"`
	FirstSeen time.Time `json:"first_seen"`
	Sources   int       `json:"sources"`
	Breaking  bool      `json:"breaking"`
}

type inspTopic struct {
	Name    string           `json:"name"`
	Score   float64          `json:"score"`
	Matches []pipeline.Match `json:"matches"`
	Branch  string           `json:"branch,omitempty"`
}

func cmdInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", stderr)
	path := fs.String("config", "", "config file (topics, gazetteer, fetch settings)")
	withText := fs.Bool("text", false, "include the normalised text")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "wirewatch inspect: name at least one SOURCE (feed file, directory, URL or .txt article)")
		return errUsage
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	chain, err := daemon.OfflineChain(cfg, log)
	if err != nil {
		return err
	}
	fetcher := sources.NewFetcher(daemon.FetcherConfig(cfg))
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var failed error
	for _, src := range fs.Args() {
		// A directory yields the articles of its good files and the errors
		// of its bad ones: print the first, report the second.
		arts, err := sources.ReadSource(ctx, fetcher, src)
		if err != nil {
			fmt.Fprintf(stderr, "wirewatch inspect: %s: %v\n", src, err)
			failed = errors.Join(failed, fmt.Errorf("%s: %w", src, err))
		}
		for _, a := range arts {
			out := inspect(ctx, chain, a, *withText)
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
	}
	if failed != nil {
		return errors.New("some sources could not be read (see above)")
	}
	return nil
}

func inspect(ctx context.Context, chain pipeline.Chain, a *pipeline.Article, withText bool) inspected {
	err := chain.Process(ctx, a)
	out := inspected{
		ID: a.ID, Feed: a.Feed, GUID: a.GUID, URL: a.URL, Title: a.Title, Language: a.Language,
		DuplicateOf: a.DuplicateOf(), Duplicate: a.Duplicate,
		Topics: []inspTopic{}, Entities: a.Entities,
	}
	if !a.Published.IsZero() {
		out.Published = &a.Published
	}
	if st := a.Story; st != nil {
		out.Story = &inspStory{ID: st.ID, FirstSeen: st.FirstSeen, Sources: st.Sources, Breaking: st.Breaking}
	}
	if out.Entities == nil {
		out.Entities = []pipeline.Entity{}
	}
	for _, t := range a.Topics {
		out.Topics = append(out.Topics, inspTopic{Name: t.Name, Score: t.Score, Matches: t.Matches, Branch: t.Branch})
	}
	if withText {
		out.Text = &a.Text
	}
	if err != nil {
		out.Error = err.Error()
	}
	return out
}
