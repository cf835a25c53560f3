package topics

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

// sharedDir finds a folder of ../shared (from the repo root) or the one
// named by env, skipping the test with the reason when it is absent (and
// failing under CI=true).
func sharedDir(tb testing.TB, env, rel string) string {
	tb.Helper()
	dir := os.Getenv(env)
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", rel)
	}
	if _, err := os.Stat(dir); err != nil {
		msg := "test data not found at " + dir + " (set " + env + " to its location): " + err.Error()
		if os.Getenv("CI") == "true" {
			tb.Fatal(msg)
		}
		tb.Skip(msg)
	}
	return dir
}

// seedArticle reads a seed text with the minimal normalisation the
// normalize stage does: the title is the first non-empty line, the text
// the rest.
func seedArticle(tb testing.TB, path string) *pipeline.Article {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return splitTitle(string(b))
}

func splitTitle(s string) *pipeline.Article {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		if strings.TrimSpace(l) == "" {
			continue
		}
		return &pipeline.Article{
			Version: pipeline.ArticleVersion,
			Title:   strings.TrimSpace(l),
			Text:    strings.TrimSpace(strings.Join(lines[i+1:], "\n")),
		}
	}
	return &pipeline.Article{Version: pipeline.ArticleVersion}
}

// rssEntry is one line of rss-2026-01.
type rssEntry struct {
	Published   string `json:"date_published"`
	SourceURL   string `json:"source_url"`
	Language    string `json:"language"`
	Title       string `json:"title"`
	Description string `json:"description"`
	Link        string `json:"link"`
}

// loadRSS reads up to limit entries (all when limit <= 0) of rss-2026-01 as
// articles: title, description as text, feed name from sources-2026.json.
func loadRSS(tb testing.TB, limit int) []*pipeline.Article {
	tb.Helper()
	dir := filepath.Join(sharedDir(tb, "WIREWATCH_DATASETS", "datasets"), "rss-2026-01")
	names := map[string]string{}
	if b, err := os.ReadFile(filepath.Join(dir, "sources-2026.json")); err == nil {
		var srcs []struct{ Title, URL string }
		if err := json.Unmarshal(b, &srcs); err == nil {
			for _, s := range srcs {
				names[s.URL] = s.Title
			}
		}
	}
	f, err := os.Open(filepath.Join(dir, "rss-2026-01-01_10.jsonl.gz"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	var out []*pipeline.Article
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() && (limit <= 0 || len(out) < limit) {
		var e rssEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			tb.Fatalf("rss-2026-01 line %d: %v", len(out)+1, err)
		}
		feed := names[e.SourceURL]
		if feed == "" {
			if u, err := url.Parse(e.SourceURL); err == nil {
				feed = u.Host
			}
		}
		out = append(out, &pipeline.Article{
			Version:  pipeline.ArticleVersion,
			Feed:     feed,
			FeedURL:  e.SourceURL,
			URL:      e.Link,
			Title:    e.Title,
			Text:     e.Description,
			Language: strings.ToLower(e.Language),
		})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}
