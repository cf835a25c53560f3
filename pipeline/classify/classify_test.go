package classify

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/topics"
)

func topicNames(a *pipeline.Article) []string {
	var out []string
	for _, t := range a.Topics {
		out = append(out, t.Name)
	}
	return out
}

func mustParse(t *testing.T, yaml string) *topics.Set {
	t.Helper()
	s, err := topics.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestProcess(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	set := mustParse(t, `version: 1
topics:
  - {name: low, query: truce, threshold: 0.9}
  - {name: ceasefire, query: ceasefire OR truce}
  - {name: talks, query: '"peace talks"'}
`)
	c := New(set, m, nil)
	if c.Name() != "classify" {
		t.Errorf("Name() = %q", c.Name())
	}
	a := &pipeline.Article{
		Title:  "Peace talks resume",
		Text:   "A truce holds; the ceasefire is fragile. More peace talks tomorrow.",
		Topics: []pipeline.TopicMatch{{Name: "stale"}},
	}
	if err := c.Process(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	// talks: title + text (0.82); ceasefire: two text terms (0.75); low
	// (0.5) is under its threshold.
	if got, want := topicNames(a), []string{"talks", "ceasefire"}; !slices.Equal(got, want) {
		t.Errorf("topics %v, want %v", got, want)
	}
	if a.Topics[0].Score < a.Topics[1].Score {
		t.Errorf("not sorted by score: %+v", a.Topics)
	}
	if len(a.Topics[0].Matches) == 0 || a.Topics[0].Branch == "" {
		t.Errorf("no evidence: %+v", a.Topics[0])
	}
	for name, want := range map[string]float64{"talks": 1, "ceasefire": 1, "low": 0} {
		got, err := metrics.Sum(reg, "wirewatch_topic_matches_total", map[string]string{"topic": name})
		if err != nil || got != want {
			t.Errorf("topic_matches{%s} = %v, %v; want %v", name, got, err, want)
		}
	}

	c.Swap(nil)
	if err := c.Process(context.Background(), a); err != nil || a.Topics != nil {
		t.Errorf("no rules: topics %v, err %v", a.Topics, err)
	}
}

// TestSwapWhileProcessing runs Process on many goroutines while the rules
// change (run with -race).
func TestSwapWhileProcessing(t *testing.T) {
	a1 := mustParse(t, "version: 1\ntopics: [{name: one, query: ukraine}]\n")
	a2 := mustParse(t, "version: 1\ntopics: [{name: two, query: ukraine}]\n")
	c := New(a1, nil, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				a := &pipeline.Article{Title: "Ukraine"}
				if err := c.Process(ctx, a); err != nil {
					t.Error(err)
					return
				}
				if n := topicNames(a); len(n) != 1 || (n[0] != "one" && n[0] != "two") {
					t.Errorf("topics %v", n)
					return
				}
			}
		}()
	}
	for i := range 200 {
		if i%2 == 0 {
			c.Swap(a2)
		} else {
			c.Swap(a1)
		}
	}
	cancel()
	wg.Wait()
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testkit.WaitFor(t, 10*time.Second, what, func() (bool, string) { return cond(), "" })
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes data next to path and renames it over path, the way
// many editors and config managers save.
func replaceFile(t *testing.T, path, data string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

const (
	rulesAlpha = "version: 1\ntopics:\n  - name: alpha\n    query: ukraine\n"
	rulesBeta  = "version: 1\ntopics:\n  - name: beta\n    query: ukraine\n"
	rulesGamma = "version: 1\ntopics:\n  - name: gamma\n    query: ukraine\n  - name: delta\n    query: kyiv\n"
	rulesBad   = "version: 1\ntopics:\n  - name: broken\n    query: ukraine AND (kyiv OR\n"
)

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "topics.yaml")
	writeFile(t, path, rulesAlpha)
	set, err := topics.LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	var logs testkit.SyncBuffer
	c := New(set, metrics.New(reg), slog.New(slog.NewTextHandler(&logs, nil)))
	hup := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, path, WatchOptions{Reload: hup, Debounce: 20 * time.Millisecond}) }()

	tagged := func(name string) bool {
		a := &pipeline.Article{Title: "Ukraine and Kyiv"}
		if err := c.Process(ctx, a); err != nil {
			t.Fatal(err)
		}
		return slices.Contains(topicNames(a), name)
	}
	reloads := func(result string) float64 {
		n, err := metrics.Sum(reg, "wirewatch_topic_reloads_total", map[string]string{"result": result})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	// SIGHUP: the send returns once Watch, set up, has taken it.
	hup <- struct{}{}
	eventually(t, "reload on SIGHUP", func() bool { return reloads("ok") == 1 })

	// An edit in place takes effect.
	writeFile(t, path, rulesBeta)
	eventually(t, "the edited rules", func() bool { return tagged("beta") })
	if tagged("alpha") {
		t.Error("old rule still applied")
	}

	// A file replaced by rename takes effect.
	replaceFile(t, path, rulesGamma)
	eventually(t, "the replaced rules", func() bool { return tagged("gamma") && tagged("delta") })
	okBefore := reloads("ok")

	// An invalid edit keeps the rules and is counted and logged with
	// file:line:col. (An in-place write can be seen half done, an empty
	// file, which also fails: wait for this file's own error.)
	errBefore := reloads("error")
	replaceFile(t, path, rulesBad)
	want := path + ":4:32: topic"
	eventually(t, "the failed reload", func() bool { return strings.Contains(logs.String(), want) })
	if reloads("error") <= errBefore {
		t.Error("the failed reload was not counted")
	}
	if !tagged("gamma") {
		t.Error("rules lost after an invalid edit")
	}
	if reloads("ok") != okBefore {
		t.Error("an invalid file counted as a successful reload")
	}
	if !strings.Contains(logs.String(), "topics reloaded") {
		t.Errorf("log lacks the reload line:\n%s", logs.String())
	}

	// Fixed again: back to new rules.
	replaceFile(t, path, rulesAlpha)
	eventually(t, "the fixed rules", func() bool { return tagged("alpha") })

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Watch returned %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Watch did not return after cancel")
	}
}

func TestWatchMissingDir(t *testing.T) {
	c := New(nil, nil, nil)
	err := c.Watch(context.Background(), filepath.Join(t.TempDir(), "no", "such", "topics.yaml"))
	if err == nil {
		t.Fatal("Watch on a missing directory succeeded")
	}
}

func TestReloadMissingFile(t *testing.T) {
	set := mustParse(t, rulesAlpha)
	c := New(set, nil, nil)
	if err := c.Reload(filepath.Join(t.TempDir(), "absent.yaml")); err == nil {
		t.Fatal("Reload of a missing file succeeded")
	}
	if c.Rules() != set {
		t.Error("rules replaced after a failed reload")
	}
}
