package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/topics"
	"github.com/wirewatch/wirewatch/topics/backtest"
)

// cmdTopicsBacktest is `wirewatch topics backtest`: replays the archive of
// a running daemon through a new or edited rule and compares it with the
// rule in use.
func cmdTopicsBacktest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("topics backtest", stderr)
	topic := fs.String("topic", "", "the topic to test (required)")
	file := fs.String("topic-file", "", "the topic file holding the new rule (default: the config's, else the default pack)")
	query := fs.String("query", "", "the new rule as a query (instead of a topic file)")
	threshold := fs.Float64("threshold", topics.DefaultThreshold, "with --query: the score needed to tag")
	var since sinceFlag = sinceFlag(7 * 24 * time.Hour)
	fs.Var(&since, "since", "replay articles archived this long ago and later (e.g. 7d, 36h)")
	path := fs.String("config", "", "config file (its nats.url, or the embedded server's nats.listen; its topic file)")
	url := fs.String("nats", "", "NATS URL (overrides the config)")
	examples := fs.Int("n", backtest.DefaultExamples, "examples of each kind")
	asJSON := fs.Bool("json", false, "print the result as one JSON object")
	noColor := fs.Bool("no-color", false, "mark matches with [[ ]] even on a terminal")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *topic == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "wirewatch topics backtest: name the topic with --topic (and no other arguments)")
		return errUsage
	}
	if *query != "" && *file != "" {
		fmt.Fprintln(stderr, "wirewatch topics backtest: --query excludes --topic-file")
		return errUsage
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	var rules *topics.Set
	if *query != "" {
		set, err := topicsRuleSet(cfg, *query, *threshold, "", nil)
		if err != nil {
			return err
		}
		t := set.Topics()[0]
		t.Name = *topic
		if rules, err = topics.Compile([]topics.Topic{t}); err != nil {
			return err
		}
	} else if rules, err = topicsRuleSet(cfg, "", 0, *file, []string{*topic}); err != nil {
		return err
	}

	nc, js, err := connectJetStream(cfg, *url, "wirewatch-backtest", stderrLogger(stderr))
	if err != nil {
		return err
	}
	defer nc.Close()

	o := backtest.Options{Topic: *topic, Rules: rules, Since: time.Now().Add(-time.Duration(since)), Examples: *examples}
	var bar *progressbar.ProgressBar
	if isTerminalWriter(stderr) {
		o.Progress = func(done, total int64) {
			if bar == nil {
				bar = newBar(stderr, "backtest "+*topic, total,
					progressbar.OptionShowIts(), progressbar.OptionSetItsString("articles"))
			}
			if total > bar.GetMax64() {
				bar.ChangeMax64(total)
			}
			_ = bar.Set64(done)
		}
	}
	res, err := backtest.Run(ctx, js, o)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(res)
	}
	_, err = io.WriteString(stdout, formatBacktest(res, highlightMarks(stdout, *noColor)))
	return err
}

// formatBacktest is the text report of a backtest.
func formatBacktest(r *backtest.Result, mk hlMarks) string {
	var b strings.Builder
	fmt.Fprintf(&b, "topic %s, new rule: %s\n", r.Topic, hlClean(r.Query))
	fmt.Fprintf(&b, "archive since %s: %d articles read", r.Since.Format("2006-01-02 15:04 MST"), r.Articles)
	if r.Duplicates > 0 || r.Undecodable > 0 {
		fmt.Fprintf(&b, " (%d duplicates and %d undecodable skipped)", r.Duplicates, r.Undecodable)
	}
	fmt.Fprintf(&b, "\nnew rule tags %d, current rule tagged %d: %d added, %d removed\n\n", r.New, r.Current, r.Added, r.Removed)
	if len(r.Days) > 0 {
		fmt.Fprintf(&b, "%-10s  %8s  %5s  %7s  %5s  %7s\n", "day", "articles", "new", "current", "added", "removed")
		for _, d := range r.Days {
			fmt.Fprintf(&b, "%-10s  %8d  %5d  %7d  %5s  %7s\n", d.Date, d.Articles, d.New, d.Current, "+"+strconv.Itoa(d.Added), "-"+strconv.Itoa(d.Removed))
		}
		b.WriteByte('\n')
	}
	section := func(name string, n int, xs []backtest.Example) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (newest first, %d of %d):\n", name, len(xs), n)
		for _, x := range xs {
			a := &pipeline.Article{Feed: x.Feed, Title: x.Title, Text: x.Text, URL: x.URL, Published: x.Published,
				Topics: []pipeline.TopicMatch{{Name: r.Topic, Score: x.Score, Matches: x.Matches, Branch: x.Branch}}}
			fmt.Fprintf(&b, "  archived %s  ", x.Archived.Format("2006-01-02 15:04"))
			b.WriteString(indentRest(formatTaggedArticle(a, mk), "  "))
		}
	}
	section("tagged by the new rule", r.New, r.Examples)
	section("added (the new rule tags, the current did not)", r.Added, r.AddedExamples)
	section("removed (the current rule tagged, the new does not)", r.Removed, r.RemovedExamples)
	return b.String()
}

// indent indents every line after the first.
func indentRest(s, pre string) string {
	return strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n"+pre) + "\n"
}

// sinceFlag is a duration that also accepts days: 7d, 1d12h, 36h.
type sinceFlag time.Duration

func (f *sinceFlag) String() string { return time.Duration(*f).String() }

func (f *sinceFlag) Set(v string) error {
	var days time.Duration
	if i := strings.IndexByte(v, 'd'); i > 0 {
		n, err := strconv.Atoi(v[:i])
		if err != nil || n < 0 {
			return fmt.Errorf("bad duration %q", v)
		}
		days, v = time.Duration(n)*24*time.Hour, v[i+1:]
	}
	var rest time.Duration
	if v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return err
		}
		rest = d
	}
	if days+rest <= 0 {
		return fmt.Errorf("duration must be positive")
	}
	*f = sinceFlag(days + rest)
	return nil
}
