package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// The example config the README points to is valid.
func TestCheckExampleConfig(t *testing.T) {
	code, out, errs := runCLI(t, "check", "--config", "../../wirewatch.example.yaml")
	if code != 0 || !strings.Contains(out, "ok (2 feeds, 8 topics)") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
}

func TestCheckReportsEveryProblemInFileOrder(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "w.yaml")
	topics := filepath.Join(dir, "topics.yaml")
	os.WriteFile(topics, []byte("version: 1\ntopics:\n  - name: x\n    query: 'peace AND'\n"), 0o644)
	os.WriteFile(bad, []byte("data_dir: x\ntopics: topics.yaml\nfeeds:\n  - url: ftp://nope\n"), 0o644)
	code, out, _ := runCLI(t, "check", "--config", bad)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, bad+":4:10: feeds[0].url") {
		t.Errorf("config problem without file:line:col:\n%s", out)
	}

	os.WriteFile(bad, []byte("data_dir: x\ntopics: topics.yaml\n"), 0o644)
	code, out, _ = runCLI(t, "check", "--config", bad)
	if code != 1 || !strings.Contains(out, topics+":4:") || !strings.Contains(out, `topic "x"`) {
		t.Errorf("exit %d; topic problem without file:line:col and topic name:\n%s", code, out)
	}
}

type inspectLine struct {
	ID          string `json:"id"`
	Title       string `json:"title"`
	DuplicateOf string `json:"duplicate_of"`
	Language    string `json:"language"`
	Text        string `json:"text"`
	Topics      []struct {
		Name    string  `json:"name"`
		Score   float64 `json:"score"`
		Matches []struct {
			Text  string `json:"text"`
			Field string `json:"field"`
		} `json:"matches"`
	} `json:"topics"`
	Entities []struct{ Type, Name string } `json:"entities"`
}

func inspectOut(t *testing.T, args ...string) []inspectLine {
	t.Helper()
	code, out, errs := runCLI(t, append([]string{"inspect", "--text"}, args...)...)
	if code != 0 {
		t.Fatalf("inspect exit %d: %s", code, errs)
	}
	var lines []inspectLine
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var il inspectLine
		if err := json.Unmarshal([]byte(l), &il); err != nil {
			t.Fatalf("not JSON Lines: %v\n%s", err, l)
		}
		lines = append(lines, il)
	}
	return lines
}

// `wirewatch inspect ../shared/seeds/*.txt` tags the seeds as the seeds'
// README requires, names their entities, and shows seed 002 without its
// repeated paragraphs.
func TestInspectSeeds(t *testing.T) {
	ids := []string{"000", "001", "002"}
	var files []string
	for _, id := range ids {
		files = append(files, corpus.SeedFile(t, id))
	}
	got := inspectOut(t, files...)
	if len(got) != 3 {
		t.Fatalf("got %d articles, want 3", len(got))
	}
	// From ../shared/seeds/README.md: required and forbidden labels.
	required := [][]string{
		{"peace-talks", "security-guarantees", "territory", "hybrid-threats"},
		{"peace-talks", "territory", "coalition", "security-guarantees", "hybrid-threats", "military-aid"},
		{"peace-talks", "coalition", "ceasefire", "military-aid", "sanctions"},
	}
	forbidden := [][]string{{"sanctions", "ceasefire", "coalition"}, {"sanctions", "ceasefire"}, {"hybrid-threats"}}
	entities := []string{"Volodymyr Zelensky", "Marco Rubio", "Keir Starmer"}
	for i, a := range got {
		tags := map[string]bool{}
		for _, tp := range a.Topics {
			tags[tp.Name] = true
			if len(tp.Matches) == 0 {
				t.Errorf("seed %s: topic %s has no matched words", ids[i], tp.Name)
			}
		}
		for _, r := range required[i] {
			if !tags[r] {
				t.Errorf("seed %s: missing required topic %s", ids[i], r)
			}
		}
		for _, f := range forbidden[i] {
			if tags[f] {
				t.Errorf("seed %s: tagged with forbidden topic %s", ids[i], f)
			}
		}
		names := map[string]bool{}
		for _, e := range a.Entities {
			names[e.Name] = true
		}
		if !names[entities[i]] {
			t.Errorf("seed %s: entity %s not found in %v", ids[i], entities[i], a.Entities)
		}
		if a.DuplicateOf != "" {
			t.Errorf("seed %s marked duplicate of %s: the seeds are distinct stories", ids[i], a.DuplicateOf)
		}
		if a.Language != "en" {
			t.Errorf("seed %s: language %q", ids[i], a.Language)
		}
	}
	// Seed 002 repeats its title and four paragraphs: each appears once.
	paras := strings.Split(got[2].Text, "\n\n")
	seen := map[string]bool{}
	for _, p := range paras {
		if seen[p] {
			t.Errorf("seed 002: paragraph repeated in normalised text: %.60q", p)
		}
		seen[p] = true
		if p == got[2].Title {
			t.Errorf("seed 002: title repeated in text")
		}
	}
}

// A seed republished with a new headline and boilerplate is a duplicate of
// the first, named by id.
func TestInspectDuplicateAcrossFiles(t *testing.T) {
	raw := corpus.ReadSeed(t, "000")
	_, body := corpus.SplitTitle(raw)
	dir := t.TempDir()
	copyPath := filepath.Join(dir, "copy.txt")
	if err := os.WriteFile(copyPath, []byte("Zelensky and allies meet in London\n\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	got := inspectOut(t, corpus.SeedFile(t, "000"), copyPath)
	if len(got) != 2 || got[1].DuplicateOf != got[0].ID || got[0].DuplicateOf != "" {
		t.Fatalf("copy not marked as duplicate of the seed: %+v", got)
	}
}
