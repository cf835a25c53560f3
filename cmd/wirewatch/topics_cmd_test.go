package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
)

func writeTestFile(t *testing.T, path, body string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// articleDir holds two plain-text articles: one about a truce, one not.
func articleDir(t *testing.T) string {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "a.txt"), "Ceasefire holds in the south\n\nBoth sides said the truce, agreed on Monday, was holding. Aid convoys moved in.\n")
	writeTestFile(t, filepath.Join(dir, "b.txt"), "Bakery wins regional prize\n\nThe bakery on Main Street won for its rye bread.\n")
	return dir
}

// `topics test --query` prints what the query tags, matched words marked
// with [[ ]] when stdout is not a terminal, in the title and a snippet of
// the text, with the score, the words and the branch.
func TestTopicsTestQuery(t *testing.T) {
	dir := articleDir(t)
	code, out, errs := runCLI(t, "topics", "test", "--query", `ceasefire* OR truce -bakery`, dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"[[Ceasefire]] holds in the south",
		"Both sides said the [[truce]], agreed on Monday",
		`query                0.82  why: "Ceasefire" (title), "truce" (text)`,
		"branch: ceasefire* OR truce",
		"1 of 2 articles tagged (query)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Bakery") || strings.Contains(out, "\x1b") {
		t.Errorf("untagged article shown, or colour on a non-terminal:\n%s", out)
	}

	// --json: inspect's objects, tagged articles only.
	code, out, errs = runCLI(t, "topics", "test", "--json", "--query", "truce", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got inspected
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil || len(lines) != 1 {
		t.Fatalf("want one JSON line: %v\n%s", err, out)
	}
	if len(got.Topics) != 1 || got.Topics[0].Name != "query" || got.Topics[0].Matches[0].Text != "truce" || got.Topics[0].Matches[0].Field != "text" {
		t.Errorf("topics %+v", got.Topics)
	}
}

// An invalid query exits 1 and says where, as query:line:col.
func TestTopicsTestBadQuery(t *testing.T) {
	dir := articleDir(t)
	code, _, errs := runCLI(t, "topics", "test", "--query", "peace AND (talks OR", dir)
	if code != 1 || !strings.Contains(errs, `query:1:20: expected a term, phrase, "(" or NOT after OR, found end of query`) {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
	code, _, errs = runCLI(t, "topics", "test", "--query", "peace\n  AND NEAR/3 talks", dir)
	if code != 1 || !strings.Contains(errs, "query:2:7: ") {
		t.Errorf("exit %d, stderr:\n%s", code, errs)
	}
}

// --topic-file with --topic tries some topics of a file; a bad file is
// reported as file:line:col; an unknown topic is named.
func TestTopicsTestTopicFile(t *testing.T) {
	dir := articleDir(t)
	rules := writeTestFile(t, filepath.Join(t.TempDir(), "topics.yaml"),
		"version: 1\ntopics:\n  - name: truce\n    query: truce\n  - name: bread\n    query: bread OR bakery\n")
	code, out, errs := runCLI(t, "topics", "test", "--topic-file", rules, dir)
	if code != 0 || !strings.Contains(out, "2 of 2 articles tagged (truce, bread)") || !strings.Contains(out, "[[Bakery]] wins") {
		t.Errorf("exit %d: %s\n%s", code, errs, out)
	}
	code, out, errs = runCLI(t, "topics", "test", "--topic-file", rules, "--topic", "bread", dir)
	if code != 0 || !strings.Contains(out, "1 of 2 articles tagged (bread)") || strings.Contains(out, "Ceasefire") {
		t.Errorf("exit %d: %s\n%s", code, errs, out)
	}
	code, _, errs = runCLI(t, "topics", "test", "--topic-file", rules, "--topic", "peace", dir)
	if code != 1 || !strings.Contains(errs, `topic "peace" is not in `+rules) {
		t.Errorf("exit %d: %s", code, errs)
	}
	bad := writeTestFile(t, filepath.Join(t.TempDir(), "bad.yaml"), "version: 1\ntopics:\n  - name: x\n    query: 'peace AND'\n")
	code, _, errs = runCLI(t, "topics", "test", "--topic-file", bad, dir)
	if code != 1 || !strings.Contains(errs, bad+":4:") || !strings.Contains(errs, `topic "x"`) {
		t.Errorf("exit %d: %s", code, errs)
	}
}

// Highlighting: ANSI bold/inverse on a terminal; escape sequences from a
// feed are neutralised; snippets show the words around each match.
func TestHighlight(t *testing.T) {
	title := "Truce\x1b]0;owned\x07 holds"
	if got, want := hlSpans(title, [][2]int{{0, 5}}, hlANSI), "\x1b[1;7mTruce\x1b[0m ]0;owned holds"; got != want {
		t.Errorf("hlSpans = %q, want %q", got, want)
	}
	text := strings.Repeat("filler ", 30) + "the truce held " + strings.Repeat("more ", 40) + "a second truce"
	i := strings.Index(text, "truce")
	j := strings.LastIndex(text, "truce")
	got := hlSnippet(text, [][2]int{{j, j + 5}, {i, i + 5}, {i, i + 5}}, hlPlain, 20, 3)
	if got != "…filler filler filler the [[truce]] held more more more… …more more more a second [[truce]]" {
		t.Errorf("snippet %q", got)
	}
	// Offsets outside the text or inside a rune are ignored, not a panic.
	if got := hlSpans("Zaporižžja", [][2]int{{6, 7}, {3, 40}}, hlPlain); got != "Zaporižžja" {
		t.Errorf("bad spans: %q", got)
	}
}

// `topics backtest` against an embedded NATS server holding an archive:
// the counts per day, the added and removed articles, with examples.
func TestTopicsBacktest(t *testing.T) {
	e, _, js := natsutil.StartTestServer(t)
	ctx := context.Background()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	publish := func(id, title string, tagged bool) {
		a := pipeline.Article{Version: pipeline.ArticleVersion, ID: id, Feed: "Wire", FeedKey: "wire", Title: title, Language: "en"}
		if tagged {
			a.Topics = []pipeline.TopicMatch{{Name: "ceasefire", Score: 0.65}}
		}
		data, _ := json.Marshal(&a)
		if _, err := js.Publish(ctx, natsutil.SubjectArticle+".wire", data); err != nil {
			t.Fatal(err)
		}
	}
	publish("1", "Ceasefire holds", true)
	publish("2", "Truce extended in Gaza", false)
	publish("3", "Political truce in parliament", true)
	publish("4", "Markets rally", false)

	code, out, errs := runCLI(t, "topics", "backtest", "--nats", e.ClientURL(), "--topic", "ceasefire",
		"--query", `ceasefire* OR (truce -"political truce")`, "--since", "1d")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, want := range []string{
		"4 articles read",
		"new rule tags 2, current rule tagged 2: 1 added, 1 removed",
		today + "         4      2        2     +1       -1",
		"added (the new rule tags, the current did not) (newest first, 1 of 1):",
		"[[Truce]] extended in Gaza",
		"removed (the current rule tagged, the new does not) (newest first, 1 of 1):",
		"Political truce in parliament",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(errs, "backtest ceasefire") {
		t.Errorf("progress bar drawn on a non-terminal stderr: %q", errs)
	}

	code, out, errs = runCLI(t, "topics", "backtest", "--nats", e.ClientURL(), "--topic", "ceasefire", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res struct{ Articles, New, Current, Added, Removed int }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	// The default pack's ceasefire rule: "political truce" is excluded.
	if res.Articles != 4 || res.New != 2 || res.Added != 1 || res.Removed != 1 {
		t.Errorf("default pack backtest: %+v", res)
	}

	code, _, errs = runCLI(t, "topics", "backtest", "--nats", e.ClientURL(), "--topic", "nope")
	if code != 1 || !strings.Contains(errs, `topic "nope" is not in default.yaml`) {
		t.Errorf("unknown topic: exit %d: %s", code, errs)
	}
	code, _, _ = runCLI(t, "topics", "backtest", "--topic", "ceasefire", "--since", "soon")
	if code != 2 {
		t.Errorf("bad --since: exit %d, want 2", code)
	}
}

// The daemon refuses to start with an invalid topic file and says where
// the problem is.
func TestRunRefusesBadTopicFile(t *testing.T) {
	dir := t.TempDir()
	rules := writeTestFile(t, filepath.Join(dir, "topics.yaml"), "version: 1\ntopics:\n  - name: peace\n    query: '\"peace talks\" AND (ukraine OR'\n")
	cfg := writeTestFile(t, filepath.Join(dir, "wirewatch.yaml"),
		"data_dir: data\ntopics: topics.yaml\nnats:\n  listen: 127.0.0.1:0\nhttp:\n  listen: 127.0.0.1:0\n")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"run", "--config", cfg}, &out, &errb)
	if ctx.Err() != nil {
		t.Fatal("the daemon started with an invalid topic file")
	}
	if code == 0 || !strings.Contains(errb.String(), rules+":4:") || !strings.Contains(errb.String(), `topic "peace": expected`) {
		t.Errorf("exit %d, stderr:\n%s", code, errb.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Error("the daemon created its data directory before checking the topic file")
	}
}
