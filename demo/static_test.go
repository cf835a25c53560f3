package demo

import (
	"bytes"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite feeds/static/ from feeds/items.yaml")

// TestStaticFeeds checks that feeds/static/ holds a current, complete
// rendering of every feed (rewrite with -update) and that each file parses.
func TestStaticFeeds(t *testing.T) {
	want, err := renderStatic()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		dir := filepath.Join("feeds", "static")
		old, _ := filepath.Glob(filepath.Join(dir, "*"))
		for _, p := range old {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}
		for name, body := range want {
			if err := os.WriteFile(filepath.Join(dir, name), body, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Skip("rewrote feeds/static/; run again without -update to check the embedded copy")
	}
	items := catalogOrFail(t)
	names, err := fs.Glob(StaticFeeds(), "*")
	if err != nil {
		t.Fatal(err)
	}
	var wantNames []string
	for name := range want {
		wantNames = append(wantNames, name)
	}
	slices.Sort(wantNames)
	if !slices.Equal(names, wantNames) {
		t.Fatalf("feeds/static/ holds %v, want %v (go test ./demo -run TestStaticFeeds -update)", names, wantNames)
	}
	xmlFiles, total := 0, 0
	for _, name := range names {
		got, err := fs.ReadFile(StaticFeeds(), name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want[name]) {
			t.Errorf("feeds/static/%s is stale (go test ./demo -run TestStaticFeeds -update)", name)
		}
		feed := parseFeed(t, name, got)
		total += len(feed.Items)
		if filepath.Ext(name) == ".xml" {
			xmlFiles++
		}
		for _, it := range feed.Items {
			if it.PublishedParsed == nil || it.PublishedParsed.Before(staticStart()) {
				t.Errorf("%s: %q published %v", name, it.Title, it.PublishedParsed)
			}
		}
	}
	if total != len(items) || xmlFiles < 2 {
		t.Errorf("static feeds hold %d items in %d XML files; catalog has %d", total, xmlFiles, len(items))
	}
}
