package sources

import (
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReadSourceDirectory(t *testing.T) {
	dir := t.TempDir()
	rss, err := os.ReadFile("testdata/rss2.xml")
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "a-feed.xml"), rss)
	writeFile(t, filepath.Join(dir, "b-note.txt"), []byte("\n\n  Storm closes the harbour  \nThe harbour closed.\n\nSecond paragraph.\n"))
	writeFile(t, filepath.Join(dir, "c", "page.html"), []byte("<!doctype html><html><head><title>Saved &amp; page</title></head><body><p>Body</p></body></html>"))
	writeFile(t, filepath.Join(dir, "c", "d-plain"), []byte("Headline without extension\nbody"))
	writeFile(t, filepath.Join(dir, ".hidden.txt"), []byte("skipped\n"))
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(tinyRSS))
	zw.Close()
	writeFile(t, filepath.Join(dir, "e-compressed.xml"), []byte(gz.String()))
	writeFile(t, filepath.Join(dir, "f-binary.bin"), []byte{0, 1, 2, 3, 0, 0xff})

	arts, err := ReadSource(context.Background(), nil, dir)
	if err == nil || ReasonOf(err) != ReasonNotText || !strings.Contains(err.Error(), "f-binary.bin") {
		t.Errorf("binary file error = %v", err)
	}
	var titles []string
	for _, a := range arts {
		titles = append(titles, a.Title)
	}
	want := []string{
		"Ministers meet in Geneva to discuss grain corridor", "Harbour reopens after storm",
		"Untitled wire note with no link", "Scheduled piece dated far in the future",
		"Storm closes the harbour", "Headline without extension", "Saved & page", "One",
	}
	if strings.Join(titles, "|") != strings.Join(want, "|") {
		t.Fatalf("titles:\n got %q\nwant %q", titles, want)
	}
	note := arts[4]
	path := filepath.Join(dir, "b-note.txt")
	if note.Content != "The harbour closed.\n\nSecond paragraph." || note.Feed != path || note.GUID != "" ||
		note.ID != ArticleKey(path, "", "", note.Title, note.Content) {
		t.Errorf("text article: %+v", note)
	}
	if !strings.Contains(arts[6].Content, "<p>Body</p>") {
		t.Errorf("html article content: %q", arts[6].Content)
	}
	if arts[0].Feed != "Example Wire" || arts[0].FeedURL != filepath.Join(dir, "a-feed.xml") {
		t.Errorf("feed file article: %+v", arts[0])
	}
}

func TestReadSourceSingleFileAndErrors(t *testing.T) {
	arts, err := ReadSource(context.Background(), nil, "testdata/atom.xml")
	if err != nil || len(arts) != 2 {
		t.Fatalf("atom file: %d articles, %v", len(arts), err)
	}
	if _, err := ReadSource(context.Background(), nil, "testdata/no-such-file"); ReasonOf(err) != ReasonIO {
		t.Errorf("missing file: %v", err)
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "broken.xml"), []byte(`<rss version="2.0"><channel><item><title>a</title></item></channel><item><x`))
	if _, err := ReadSource(context.Background(), nil, filepath.Join(dir, "broken.xml")); ReasonOf(err) != ReasonParse {
		t.Errorf("broken feed file: %v", err)
	}
}

func TestReadSourceURL(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, tinyRSS)
	}))
	defer srv.Close()
	// The SSRF guard applies: loopback is refused by default...
	if _, err := ReadSource(context.Background(), NewFetcher(FetcherConfig{}), srv.URL); ReasonOf(err) != ReasonBlocked {
		t.Errorf("default fetcher: %v", err)
	}
	// ...and reachable when allowed.
	arts, err := ReadSource(context.Background(), testFetcher(FetcherConfig{}), srv.URL)
	if err != nil || len(arts) != 1 || arts[0].FeedURL != srv.URL {
		t.Errorf("allowed: %v %v", arts, err)
	}
}
