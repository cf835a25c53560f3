package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/daemon"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/sources"
	"github.com/wirewatch/wirewatch/topics"
)

// queryTopic is the name of the one topic `--query` builds.
const queryTopic = "query"

// cmdTopicsTest is `wirewatch topics test`: runs the offline stages with the
// given rules over sources and prints what they tag, matches highlighted.
func cmdTopicsTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("topics test", stderr)
	query := fs.String("query", "", "a query to try (a one-topic set named \"query\")")
	file := fs.String("topic-file", "", "a topic file to try (default: the config's, else the default pack)")
	var only multiFlag
	fs.Var(&only, "topic", "with --topic-file: only this topic (repeatable, or comma-separated)")
	threshold := fs.Float64("threshold", topics.DefaultThreshold, "with --query: the score needed to tag")
	path := fs.String("config", "", "config file (topic file, gazetteer, fetch settings)")
	asJSON := fs.Bool("json", false, "one JSON object per tagged article (as `wirewatch inspect`)")
	noColor := fs.Bool("no-color", false, "mark matches with [[ ]] even on a terminal")
	all := fs.Bool("all", false, "also list the articles nothing tagged")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *query != "" && (*file != "" || len(only) > 0) {
		fmt.Fprintln(stderr, "wirewatch topics test: --query excludes --topic-file and --topic")
		return errUsage
	}
	if fs.NArg() == 0 {
		fmt.Fprintln(stderr, "wirewatch topics test: name at least one SOURCE (feed file, directory, URL or .txt article)")
		return errUsage
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	set, err := topicsRuleSet(cfg, *query, *threshold, *file, only)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	chain, err := daemon.OfflineChainFor(cfg, set, log)
	if err != nil {
		return err
	}
	fetcher := sources.NewFetcher(daemon.FetcherConfig(cfg))

	mk := highlightMarks(stdout, *noColor)
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	var failed error
	total, tagged := 0, 0
	for _, src := range fs.Args() {
		arts, err := sources.ReadSource(ctx, fetcher, src)
		if err != nil {
			fmt.Fprintf(stderr, "wirewatch topics test: %s: %v\n", src, err)
			failed = errors.Join(failed, fmt.Errorf("%s: %w", src, err))
		}
		for _, a := range arts {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			out := inspect(ctx, chain, a, false)
			total++
			if len(a.Topics) > 0 {
				tagged++
			} else if !*all {
				continue
			}
			if *asJSON {
				if err := enc.Encode(out); err != nil {
					return err
				}
				continue
			}
			if _, err := io.WriteString(stdout, formatTaggedArticle(a, mk)); err != nil {
				return err
			}
		}
	}
	if !*asJSON {
		fmt.Fprintf(stdout, "%d of %d articles tagged (%s)\n", tagged, total, strings.Join(setTopicNames(set), ", "))
	}
	if failed != nil {
		return errors.New("some sources could not be read (see above)")
	}
	return nil
}

// ruleSet builds the rules to try: a one-topic set from query, or the
// topic file (file, else the config's, else the default pack) restricted
// to the topics in only. A bad query is a *topics.SyntaxError located as
// query:line:col.
func topicsRuleSet(cfg *config.Config, query string, threshold float64, file string, only []string) (*topics.Set, error) {
	if query != "" {
		expr, err := topics.ParseQuery(query)
		if err != nil {
			var se *topics.SyntaxError
			if errors.As(err, &se) {
				se.File = "query"
			}
			return nil, err
		}
		set, err := topics.Compile([]topics.Topic{{Name: queryTopic, Query: query, Expr: expr, Threshold: threshold}})
		if err != nil {
			return nil, fmt.Errorf("query: %w", err)
		}
		return set, nil
	}
	var set *topics.Set
	var err error
	if file != "" {
		set, err = topics.LoadFile(file)
	} else {
		set, err = daemon.LoadTopics(cfg)
	}
	if err != nil {
		return nil, err
	}
	if len(only) == 0 {
		return set, nil
	}
	var keep []topics.Topic
	for _, name := range only {
		i := slices.IndexFunc(set.Topics(), func(t topics.Topic) bool { return t.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("topic %q is not in %s (it has %s)", name, setLabel(set), strings.Join(setTopicNames(set), ", "))
		}
		keep = append(keep, set.Topics()[i])
	}
	sub, err := topics.Compile(keep)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", setLabel(set), err)
	}
	return sub, nil
}

func setLabel(s *topics.Set) string {
	if s.File() != "" {
		return s.File()
	}
	return "the default pack"
}

func setTopicNames(s *topics.Set) []string {
	var out []string
	for _, t := range s.Topics() {
		out = append(out, t.Name)
	}
	return out
}

// isTerminal reports whether w is a terminal.
func isTerminalWriter(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// hlMarks open and close a highlighted span.
type hlMarks struct{ open, close string }

var (
	hlPlain = hlMarks{"[[", "]]"}
	hlANSI  = hlMarks{"\x1b[1;7m", "\x1b[0m"}
)

// formatTagged is the text report of one article: where it is from, its
// title and a snippet of its text with the matched words marked, and one
// line per topic with its score, matched words and the branch that fired.
func formatTaggedArticle(a *pipeline.Article, mk hlMarks) string {
	var titleSpans, textSpans [][2]int
	for _, t := range a.Topics {
		for _, m := range t.Matches {
			switch m.Field {
			case "title":
				titleSpans = append(titleSpans, [2]int{m.Start, m.End})
			case "text":
				textSpans = append(textSpans, [2]int{m.Start, m.End})
			}
		}
	}
	var b strings.Builder
	head := a.Feed
	if !a.Published.IsZero() {
		head += "  " + a.Published.UTC().Format("2006-01-02 15:04")
	}
	if a.DuplicateOf() != "" {
		head += "  (duplicate of " + a.DuplicateOf() + ")"
	}
	fmt.Fprintf(&b, "%s\n  %s\n", hlClean(head), hlSpans(a.Title, titleSpans, mk))
	if snip := hlSnippet(a.Text, textSpans, mk, 70, 3); snip != "" {
		fmt.Fprintf(&b, "  %s\n", snip)
	}
	if a.URL != "" {
		fmt.Fprintf(&b, "  %s\n", hlClean(a.URL))
	}
	if len(a.Topics) == 0 {
		b.WriteString("    (no topic)\n")
	}
	for _, t := range a.Topics {
		var why []string
		for _, m := range t.Matches {
			why = append(why, fmt.Sprintf("%q (%s)", hlClean(m.Text), m.Field))
		}
		fmt.Fprintf(&b, "    %-20s %.2f  why: %s\n", t.Name, t.Score, strings.Join(why, ", "))
		if t.Branch != "" {
			fmt.Fprintf(&b, "    %-20s       branch: %s\n", "", hlClean(t.Branch))
		}
	}
	b.WriteByte('\n')
	return b.String()
}

// clean replaces control characters (terminal escapes, newlines) with
// spaces and folds runs of spaces, without trimming, so text from a feed
// cannot drive the terminal and pieces can be joined.
func hlClean(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
			continue
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}

// normSpans keeps the spans that are valid byte ranges of s on rune
// boundaries, sorted and merged.
func hlNormSpans(s string, spans [][2]int) [][2]int {
	var ok [][2]int
	for _, sp := range spans {
		if sp[0] < 0 || sp[1] > len(s) || sp[0] >= sp[1] {
			continue
		}
		if (sp[0] < len(s) && !utf8.RuneStart(s[sp[0]])) || (sp[1] < len(s) && !utf8.RuneStart(s[sp[1]])) {
			continue
		}
		ok = append(ok, sp)
	}
	slices.SortFunc(ok, func(x, y [2]int) int { return x[0] - y[0] })
	var out [][2]int
	for _, sp := range ok {
		if n := len(out); n > 0 && sp[0] <= out[n-1][1] {
			out[n-1][1] = max(out[n-1][1], sp[1])
			continue
		}
		out = append(out, sp)
	}
	return out
}

// highlight returns s cleaned, with the spans (byte offsets into s)
// wrapped in mk.
func hlSpans(s string, spans [][2]int, mk hlMarks) string {
	return hlRange(s, 0, len(s), hlNormSpans(s, spans), mk)
}

// highlightRange is highlight of s[lo:hi], spans already normalised.
func hlRange(s string, lo, hi int, spans [][2]int, mk hlMarks) string {
	var b strings.Builder
	at := lo
	for _, sp := range spans {
		if sp[1] <= lo || sp[0] >= hi {
			continue
		}
		st, en := max(sp[0], lo), min(sp[1], hi)
		b.WriteString(hlClean(s[at:st]))
		b.WriteString(mk.open)
		b.WriteString(hlClean(s[st:en]))
		b.WriteString(mk.close)
		at = en
	}
	b.WriteString(hlClean(s[at:hi]))
	return b.String()
}

// snippet shows the parts of s around the spans: ctx bytes either side
// (widened to whole words), at most n parts, joined by " … ".
func hlSnippet(s string, spans [][2]int, mk hlMarks, ctx, n int) string {
	spans = hlNormSpans(s, spans)
	if len(spans) == 0 {
		return ""
	}
	var wins [][2]int
	for _, sp := range spans {
		lo, hi := hlWordStart(s, sp[0]-ctx), hlWordEnd(s, sp[1]+ctx)
		if k := len(wins); k > 0 && lo <= wins[k-1][1] {
			wins[k-1][1] = max(wins[k-1][1], hi)
			continue
		}
		if len(wins) == n {
			break
		}
		wins = append(wins, [2]int{lo, hi})
	}
	var parts []string
	for _, w := range wins {
		p := strings.TrimSpace(hlRange(s, w[0], w[1], spans, mk))
		if w[0] > 0 {
			p = "…" + p
		}
		if w[1] < len(s) {
			p += "…"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, " ")
}

// wordStart moves i back to the start of the word it is in (0 if i < 0).
func hlWordStart(s string, i int) int {
	if i <= 0 {
		return 0
	}
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	for stop := i - 40; i > 0 && i > stop; {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			break
		}
		i -= size
	}
	return i
}

// wordEnd moves i forward to the end of the word it is in (len(s) at most).
func hlWordEnd(s string, i int) int {
	if i >= len(s) {
		return len(s)
	}
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	for stop := i + 40; i < len(s) && i < stop; {
		r, size := utf8.DecodeRuneInString(s[i:])
		if unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}
