package corpus

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLocateEnvOverride(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("WIREWATCH_CORPUS_TEST", dir)
	got, err := Locate("WIREWATCH_CORPUS_TEST", "nowhere")
	if err != nil || got != dir {
		t.Fatalf("Locate = %q, %v; want %q", got, err, dir)
	}

	missing := filepath.Join(dir, "absent")
	t.Setenv("WIREWATCH_CORPUS_TEST", missing)
	got, err = Locate("WIREWATCH_CORPUS_TEST", "nowhere")
	if !errors.Is(err, fs.ErrNotExist) || got != missing {
		t.Fatalf("Locate(absent) = %q, %v; want %q and a not-exist error", got, err, missing)
	}
	if msg := err.Error(); !strings.Contains(msg, missing) || !strings.Contains(msg, "WIREWATCH_CORPUS_TEST") {
		t.Errorf("error %q names neither the path nor the variable", msg)
	}
}

func TestLocateFromRepoRoot(t *testing.T) {
	t.Setenv("WIREWATCH_CORPUS_TEST", "")
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("RepoRoot %s has no go.mod", root)
	}
	want := filepath.Join(root, "..", "shared", "a", "b")
	got, _ := Locate("WIREWATCH_CORPUS_TEST", "a/b")
	if got != want {
		t.Errorf("Locate = %q, want %q", got, want)
	}
}

func TestSplitTitle(t *testing.T) {
	cases := []struct{ raw, title, body string }{
		{"Title\nBody one.\n\nBody two.\n", "Title", "Body one.\n\nBody two."},
		{"\n\n  Title  \r\nBody\r\n", "Title", "Body"},
		{"Only a title", "Only a title", ""},
		{"", "", ""},
		{" \n\t\n", "", ""},
	}
	for _, c := range cases {
		title, body := SplitTitle(c.raw)
		if title != c.title || body != c.body {
			t.Errorf("SplitTitle(%q) = %q, %q; want %q, %q", c.raw, title, body, c.title, c.body)
		}
	}
}

func TestSeeds(t *testing.T) {
	title, body := SplitTitle(ReadSeed(t, "000"))
	if title == "" || len(body) < 1000 {
		t.Errorf("seed 000: title %q, %d bytes of body", title, len(body))
	}
}

func TestReadRSS2026(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the whole rss-2026-01 dataset")
	}
	dir := Datasets(t)
	entries, err := ReadRSS2026(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) <= 40000 {
		t.Errorf("%d entries, want more than 40,000", len(entries))
	}
	named, dated, ids := 0, 0, map[string]bool{}
	for _, e := range entries {
		a := e.Article()
		if a.Title == "" && a.Content == "" {
			t.Fatalf("entry %q has neither title nor description", e.Link)
		}
		if a.Feed != "" && a.Feed == e.Feed {
			named++
		}
		if !a.Published.IsZero() {
			dated++
		}
		ids[a.ID] = true
	}
	if dated < len(entries)*99/100 {
		t.Errorf("only %d of %d entries have a publication time", dated, len(entries))
	}
	if named < len(entries)/2 {
		t.Errorf("only %d of %d entries have a feed name from sources-2026.json", named, len(entries))
	}
	if len(ids) < len(entries)*9/10 {
		t.Errorf("%d distinct IDs for %d entries", len(ids), len(entries))
	}

	few, err := ReadRSS2026(dir, 10)
	if err != nil || len(few) != 10 {
		t.Fatalf("limit 10: %d entries, %v", len(few), err)
	}
	a, b := few[0].Article(), entries[0].Article()
	if a.ID != b.ID || a.ID == "" {
		t.Errorf("ID not stable: %q, %q", a.ID, b.ID)
	}
	if a.Published.Year() != 2026 || a.Published.Month() != time.January {
		t.Errorf("published %v", a.Published)
	}
}
