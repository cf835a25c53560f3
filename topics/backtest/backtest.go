// Package backtest replays the archive of a running daemon (the ARTICLES
// stream) through a new or edited topic rule and compares what it would
// have tagged with what the rule in use tagged: counts per day, examples,
// and the articles added and removed. It is `wirewatch topics backtest`.
package backtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/topics"
)

// DefaultExamples is how many examples of each kind a Result keeps when
// Options.Examples is zero.
const DefaultExamples = 10

// Options say what to replay and against which rule.
type Options struct {
	// Topic is the topic to test; Rules must hold a topic of this name. The
	// current rule is what the archived articles were tagged with under
	// the same name.
	Topic string
	Rules *topics.Set
	// Since: articles archived at or after this time are replayed.
	Since time.Time
	// Examples is how many examples of each kind to keep (newest first);
	// DefaultExamples when zero, none when negative.
	Examples int
	// Progress, when set, is called after each article with how many have
	// been read and how many there are to read (the latter known from the
	// first article on; it grows if the daemon archives more meanwhile).
	Progress func(done, total int64)
}

// Result is what the new rule would have tagged, next to the current one.
type Result struct {
	Topic string    `json:"topic"`
	Query string    `json:"query"`
	Since time.Time `json:"since"`
	// Articles is how many archived articles were read; Duplicates of them
	// were skipped (duplicates never alert); Undecodable could not be read.
	Articles    int `json:"articles"`
	Duplicates  int `json:"duplicates"`
	Undecodable int `json:"undecodable"`
	// New is how many the new rule tags, Current how many the rule in use
	// tagged, Added those only the new one tags, Removed those only the
	// current one tagged.
	New     int   `json:"new"`
	Current int   `json:"current"`
	Added   int   `json:"added"`
	Removed int   `json:"removed"`
	Days    []Day `json:"days"`
	// Examples of articles the new rule tags, of those it adds and of
	// those it removes, newest first.
	Examples        []Example `json:"examples"`
	AddedExamples   []Example `json:"added_examples"`
	RemovedExamples []Example `json:"removed_examples"`
}

// Day is one UTC day of archive time (when the daemon archived the
// article, which is when it could have alerted).
type Day struct {
	Date     string `json:"date"` // 2006-01-02
	Articles int    `json:"articles"`
	New      int    `json:"new"`
	Current  int    `json:"current"`
	Added    int    `json:"added"`
	Removed  int    `json:"removed"`
}

// Example is one article, with the new rule's evidence when it tags it (or
// the current rule's, for a removed one).
type Example struct {
	ID        string           `json:"id"`
	Feed      string           `json:"feed"`
	Title     string           `json:"title"`
	URL       string           `json:"url,omitempty"`
	Archived  time.Time        `json:"archived"`
	Published time.Time        `json:"published,omitzero"`
	Score     float64          `json:"score"`
	Matches   []pipeline.Match `json:"matches"`
	Branch    string           `json:"branch,omitempty"`
	// Text is the article's normalised text, for snippets.
	Text string `json:"-"`
}

// Run replays the ARTICLES stream from o.Since to the last article archived
// when it started, and returns the comparison. It reads with an ordered
// consumer, so it leaves nothing behind on the server.
func Run(ctx context.Context, js jetstream.JetStream, o Options) (*Result, error) {
	if o.Rules == nil {
		return nil, errors.New("backtest: no rules")
	}
	i := slices.IndexFunc(o.Rules.Topics(), func(t topics.Topic) bool { return t.Name == o.Topic })
	if i < 0 {
		return nil, fmt.Errorf("backtest: topic %q is not in the rules", o.Topic)
	}
	tp := o.Rules.Topics()[i]
	rule, err := topics.Compile([]topics.Topic{tp})
	if err != nil {
		return nil, fmt.Errorf("backtest: topic %q: %w", o.Topic, err)
	}
	if o.Examples == 0 {
		o.Examples = DefaultExamples
	}
	res := &Result{Topic: o.Topic, Query: tp.Query, Since: o.Since.UTC(),
		Days: []Day{}, Examples: []Example{}, AddedExamples: []Example{}, RemovedExamples: []Example{}}

	stream, err := js.Stream(ctx, natsutil.StreamArticles)
	if err != nil {
		return nil, fmt.Errorf("backtest: stream %s: %w", natsutil.StreamArticles, err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("backtest: stream %s: %w", natsutil.StreamArticles, err)
	}
	last := info.State.LastSeq
	if info.State.Msgs == 0 || info.State.LastTime.Before(o.Since) {
		return res, nil // nothing archived since then
	}
	since := o.Since
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		DeliverPolicy: jetstream.DeliverByStartTimePolicy, OptStartTime: &since,
	})
	if err != nil {
		return nil, fmt.Errorf("backtest: read %s: %w", natsutil.StreamArticles, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fmt.Errorf("backtest: read %s: %w", natsutil.StreamArticles, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	days := map[string]*Day{}
	var first uint64
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("backtest: read %s: %w", natsutil.StreamArticles, err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, fmt.Errorf("backtest: read %s: %w", natsutil.StreamArticles, err)
		}
		seq := meta.Sequence.Stream
		if first == 0 {
			first = seq
		}
		res.add(m.Data(), meta.Timestamp, rule, o, days)
		if o.Progress != nil {
			o.Progress(int64(seq-first+1), int64(seq-first+1+meta.NumPending))
		}
		if seq >= last || meta.NumPending == 0 {
			break
		}
	}
	for _, d := range days {
		res.Days = append(res.Days, *d)
	}
	slices.SortFunc(res.Days, func(x, y Day) int {
		if x.Date < y.Date {
			return -1
		}
		if x.Date > y.Date {
			return 1
		}
		return 0
	})
	// Kept in archive order, oldest first: show newest first.
	slices.Reverse(res.Examples)
	slices.Reverse(res.AddedExamples)
	slices.Reverse(res.RemovedExamples)
	return res, nil
}

// add counts one archived article.
func (r *Result) add(data []byte, archived time.Time, rule *topics.Set, o Options, days map[string]*Day) {
	r.Articles++
	var a pipeline.Article
	if err := json.Unmarshal(data, &a); err != nil || a.Version != pipeline.ArticleVersion {
		r.Undecodable++
		return
	}
	if a.Duplicate != nil {
		r.Duplicates++
		return
	}
	date := archived.UTC().Format(time.DateOnly)
	d := days[date]
	if d == nil {
		d = &Day{Date: date}
		days[date] = d
	}
	d.Articles++

	var cur *pipeline.TopicMatch
	for k := range a.Topics {
		if a.Topics[k].Name == o.Topic {
			cur = &a.Topics[k]
		}
	}
	var next *pipeline.TopicMatch
	if ms := rule.Match(&a); len(ms) > 0 {
		next = &ms[0]
	}
	keep := func(list *[]Example, tm *pipeline.TopicMatch) {
		if o.Examples < 0 {
			return
		}
		ex := Example{ID: a.ID, Feed: a.Feed, Title: a.Title, URL: a.URL, Archived: archived.UTC(),
			Published: a.Published, Score: tm.Score, Matches: tm.Matches, Branch: tm.Branch, Text: a.Text}
		if len(*list) == o.Examples {
			*list = slices.Delete(*list, 0, 1)
		}
		*list = append(*list, ex)
	}
	if next != nil {
		r.New++
		d.New++
		keep(&r.Examples, next)
	}
	if cur != nil {
		r.Current++
		d.Current++
	}
	switch {
	case next != nil && cur == nil:
		r.Added++
		d.Added++
		keep(&r.AddedExamples, next)
	case next == nil && cur != nil:
		r.Removed++
		d.Removed++
		keep(&r.RemovedExamples, cur)
	}
}
