package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/schollz/progressbar/v3"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
)

// The label folders `topics label` writes: what `topics train` reads and
// what a topic's model_label defaults to.
const (
	labelYes = "yes"
	labelNo  = "no"
)

// cmdTopicsLabel is `wirewatch topics label`: marks archived articles as
// examples of a topic (or not), as files in the folder layout `topics
// train` reads.
func cmdTopicsLabel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("topics label", stderr)
	topic := fs.String("topic", "", "the topic the examples are for (required)")
	dir := fs.String("dir", "labels", "where the examples go: DIR/<topic>/yes and DIR/<topic>/no")
	var pos, neg, remove multiFlag
	fs.Var(&pos, "positive", "article ids that are about the topic (repeatable, comma-separated)")
	fs.Var(&neg, "negative", "article ids that are not (repeatable, comma-separated)")
	fs.Var(&remove, "remove", "article ids to unlabel (repeatable, comma-separated)")
	fromFile := fs.String("from-file", "", `a file of lines "yes ID" or "no ID" ("#" starts a comment)`)
	list := fs.Bool("list", false, "list the labelled articles of the topic")
	path := fs.String("config", "", "config file (its nats.url, or the embedded server's nats.listen)")
	url := fs.String("nats", "", "NATS URL (overrides the config)")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wirewatch topics label --topic T [--positive ID,...] [--negative ID,...] [--from-file F]
       wirewatch topics label --topic T --remove ID,...
       wirewatch topics label --topic T --list

Marks articles of a running daemon's archive (the ids printed by tail
--json, inspect and topics backtest --json) as examples of a topic or not.
Each becomes a file DIR/<topic>/yes/<id>.txt or DIR/<topic>/no/<id>.txt
(title, blank line, text), the layout "wirewatch topics train DIR/<topic>"
learns from. Labelling an id again rewrites it; giving it the other label
moves it.

`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *topic == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "wirewatch topics label: name the topic with --topic; ids go in --positive, --negative, --remove or --from-file")
		return errUsage
	}
	if err := checkLabelName("topic", *topic); err != nil {
		return err
	}
	want := map[string]string{} // id -> label
	add := func(id, label string) error {
		if err := checkLabelName("article id", id); err != nil {
			return err
		}
		if prev, ok := want[id]; ok && prev != label {
			return fmt.Errorf("topics label: article %s is given both as %s and as %s", id, prev, label)
		}
		want[id] = label
		return nil
	}
	for _, id := range pos {
		if err := add(id, labelYes); err != nil {
			return err
		}
	}
	for _, id := range neg {
		if err := add(id, labelNo); err != nil {
			return err
		}
	}
	if *fromFile != "" {
		if err := readLabelFile(*fromFile, add); err != nil {
			return err
		}
	}
	for _, id := range remove {
		if err := checkLabelName("article id", id); err != nil {
			return err
		}
		if _, ok := want[id]; ok {
			return fmt.Errorf("topics label: article %s is given both to label and to remove", id)
		}
	}
	if len(want) == 0 && len(remove) == 0 && !*list {
		fmt.Fprintln(stderr, "wirewatch topics label: nothing to do: give --positive, --negative, --from-file, --remove or --list")
		return errUsage
	}
	topicDir := filepath.Join(*dir, *topic)

	if len(remove) > 0 {
		for _, id := range remove {
			removed, err := unlabel(topicDir, id)
			if err != nil {
				return err
			}
			if !removed {
				return fmt.Errorf("topics label: article %s is not labelled for %s in %s", id, *topic, topicDir)
			}
			fmt.Fprintf(stdout, "unlabelled %s\n", id)
		}
	}

	if len(want) > 0 {
		cfg, err := loadConfig(*path)
		if err != nil {
			return err
		}
		nc, js, err := connectJetStream(cfg, *url, "wirewatch-label", stderrLogger(stderr))
		if err != nil {
			return err
		}
		defer nc.Close()
		found, err := fetchArchived(ctx, js, want, stderr)
		if err != nil {
			return err
		}
		var missing []string
		for id := range want {
			if _, ok := found[id]; !ok {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing)
			return fmt.Errorf("topics label: not in the archive (stream %s), nothing labelled: %s",
				natsutil.StreamArticles, strings.Join(missing, ", "))
		}
		ids := make([]string, 0, len(want))
		for id := range want {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids {
			a := found[id]
			what, err := writeLabelled(topicDir, want[id], a)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%-3s %s  %s  (%s)\n", want[id], id, oneLine(a.Title, 70), what)
		}
	}

	counts, err := printLabelled(topicDir, *list, stdout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d yes, %d no in %s", *topic, counts[labelYes], counts[labelNo], topicDir)
	if counts[labelYes] > 0 && counts[labelNo] > 0 {
		fmt.Fprintf(stdout, "; train with: wirewatch topics train --out %s.wwm %s", *topic, topicDir)
	}
	fmt.Fprintln(stdout)
	return nil
}

// checkLabelName refuses what cannot be a single file or folder name:
// article ids are hex keys, topic names words, so letters, digits, "-",
// "_" and "." (not first) are enough.
func checkLabelName(what, s string) error {
	ok := s != "" && s[0] != '.' && len(s) <= 200
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("topics label: %s %q: use letters, digits, '-', '_' and '.' (not first)", what, s)
	}
	return nil
}

// readLabelFile reads lines "yes ID" or "no ID" (blank lines and "#"
// comments skipped) and passes each to add.
func readLabelFile(path string, add func(id, label string) error) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("topics label: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		s, _, _ := strings.Cut(sc.Text(), "#")
		fields := strings.Fields(s)
		if len(fields) == 0 {
			continue
		}
		if len(fields) != 2 || (fields[0] != labelYes && fields[0] != labelNo) {
			return fmt.Errorf("topics label: %s:%d: want \"yes ID\" or \"no ID\", got %q", path, line, strings.TrimSpace(s))
		}
		if err := add(fields[1], fields[0]); err != nil {
			return fmt.Errorf("%s:%d: %w", path, line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("topics label: reading %s: %w", path, err)
	}
	return nil
}

// fetchArchived reads the ARTICLES stream, oldest first, up to the last
// article archived when it started, and returns the archived articles
// whose ids are in want (the latest copy of each). It stops as soon as it
// has them all, and leaves nothing behind on the server (ordered consumer).
func fetchArchived(ctx context.Context, js jetstream.JetStream, want map[string]string, stderr io.Writer) (map[string]*pipeline.Article, error) {
	fail := func(err error) error {
		return fmt.Errorf("topics label: reading stream %s: %w", natsutil.StreamArticles, err)
	}
	found := make(map[string]*pipeline.Article, len(want))
	stream, err := js.Stream(ctx, natsutil.StreamArticles)
	if err != nil {
		return nil, fail(err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fail(err)
	}
	if info.State.Msgs == 0 {
		return found, nil
	}
	last := info.State.LastSeq
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return nil, fail(err)
	}
	it, err := cons.Messages()
	if err != nil {
		return nil, fail(err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()

	var bar *progressbar.ProgressBar
	if isTerminalWriter(stderr) {
		bar = newBar(stderr, "searching the archive", int64(info.State.Msgs))
		defer func() { _ = bar.Finish() }()
	}
	for read := int64(1); ; read++ {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fail(err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return nil, fail(err)
		}
		// Decode only what may be wanted: the id first.
		var head struct {
			Version int    `json:"v"`
			ID      string `json:"id"`
		}
		if json.Unmarshal(m.Data(), &head) == nil && head.Version == pipeline.ArticleVersion && want[head.ID] != "" {
			var a pipeline.Article
			if err := json.Unmarshal(m.Data(), &a); err == nil {
				found[a.ID] = &a
			}
		}
		if bar != nil {
			_ = bar.Set64(read)
		}
		if len(found) == len(want) || meta.Sequence.Stream >= last || meta.NumPending == 0 {
			return found, nil
		}
	}
}

// writeLabelled writes a as DIR/label/<id>.txt (title, blank line, text),
// removing it from the other label's folder, and says what it did.
func writeLabelled(dir, label string, a *pipeline.Article) (string, error) {
	title := strings.Join(strings.Fields(a.Title), " ") // one line: the reader takes the first as the title
	body := title + "\n\n" + strings.TrimSpace(a.Text) + "\n"
	if strings.TrimSpace(body) == "" {
		return "", fmt.Errorf("topics label: article %s has neither title nor text", a.ID)
	}
	what := "new"
	other := labelNo
	if label == labelNo {
		other = labelYes
	}
	otherPath := filepath.Join(dir, other, a.ID+".txt")
	path := filepath.Join(dir, label, a.ID+".txt")
	if old, err := os.ReadFile(path); err == nil {
		what = "already labelled"
		if string(old) != body {
			what = "rewritten"
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, label), 0o755); err != nil {
		return "", fmt.Errorf("topics label: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Join(dir, label), ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("topics label: %w", err)
	}
	_, err = tmp.WriteString(body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return "", fmt.Errorf("topics label: writing %s: %w", path, err)
	}
	switch err := os.Remove(otherPath); {
	case err == nil:
		what = "moved from " + other
	case !errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("topics label: %w", err)
	}
	return what, nil
}

// unlabel removes id from both label folders of dir; false when it was in
// neither.
func unlabel(dir, id string) (bool, error) {
	removed := false
	for _, label := range []string{labelYes, labelNo} {
		switch err := os.Remove(filepath.Join(dir, label, id+".txt")); {
		case err == nil:
			removed = true
		case !errors.Is(err, fs.ErrNotExist):
			return false, fmt.Errorf("topics label: %w", err)
		}
	}
	return removed, nil
}

// printLabelled counts the examples per label of dir and, with list,
// prints each (label, id, title).
func printLabelled(dir string, list bool, w io.Writer) (map[string]int, error) {
	counts := map[string]int{}
	for _, label := range []string{labelYes, labelNo} {
		entries, err := os.ReadDir(filepath.Join(dir, label))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("topics label: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || strings.HasPrefix(name, ".") {
				continue
			}
			counts[label]++
			if !list {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, label, name))
			if err != nil {
				return nil, fmt.Errorf("topics label: %w", err)
			}
			title, _ := corpus.SplitTitle(string(b))
			fmt.Fprintf(w, "%-3s %s  %s\n", label, strings.TrimSuffix(name, ".txt"), oneLine(title, 70))
		}
	}
	return counts, nil
}

// oneLine shortens s to n runes on one line.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
