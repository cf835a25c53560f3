package corpus

import (
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/pipeline"
)

// RSS2026 is the folder of the rss-2026-01 dataset inside the datasets.
const RSS2026 = "rss-2026-01"

// RSSEntry is one line of rss-2026-01: a real feed entry of 1-10 January
// 2026.
type RSSEntry struct {
	Published   string `json:"date_published"` // RFC 3339
	SourceURL   string `json:"source_url"`     // the feed
	Language    string `json:"language"`       // as the feed declared it: "en-US", "pl", ""
	Title       string `json:"title"`
	Description string `json:"description"`
	Link        string `json:"link"`

	// Feed is the feed's name from sources-2026.json, "" when it is not
	// listed there.
	Feed string `json:"-"`
}

// Article returns the entry as a fetched article: Content is the
// description, Feed the feed's name (else the host of its URL, else the
// URL), ID a hash
// of link and title. Text and Language are left to normalize.
func (e RSSEntry) Article() *pipeline.Article {
	feed := e.Feed
	if feed == "" {
		if u, err := url.Parse(e.SourceURL); err == nil && u.Host != "" {
			feed = u.Host
		} else {
			feed = e.SourceURL // "imap.poczta.onet.pl": no scheme
		}
	}
	sum := sha256.Sum256([]byte(e.Link + "\x00" + e.Title))
	a := &pipeline.Article{
		Version:      pipeline.ArticleVersion,
		ID:           hex.EncodeToString(sum[:16]),
		Feed:         feed,
		FeedURL:      e.SourceURL,
		URL:          e.Link,
		Title:        e.Title,
		Content:      e.Description,
		FeedLanguage: e.Language,
	}
	if t, err := time.Parse(time.RFC3339, e.Published); err == nil {
		a.Published = t
	}
	return a
}

// ReadRSS2026 reads the entries of rss-2026-01/*.jsonl.gz under dir (the
// datasets folder), in file then line order, at most limit of them (all
// when limit <= 0). Feed names come from rss-2026-01/sources-2026.json when
// it is there.
func ReadRSS2026(dir string, limit int) ([]RSSEntry, error) {
	dir = filepath.Join(dir, RSS2026)
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl.gz"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.jsonl.gz in %s", dir)
	}
	names, err := feedNames(filepath.Join(dir, "sources-2026.json"))
	if err != nil {
		return nil, err
	}
	var out []RSSEntry
	for _, path := range files {
		if limit > 0 && len(out) >= limit {
			break
		}
		if out, err = readJSONL(path, names, out, limit); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// feedNames maps feed URL to name from sources-2026.json; an absent file
// gives no names.
func feedNames(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var srcs []struct{ Title, URL string }
	if err := json.Unmarshal(b, &srcs); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	names := make(map[string]string, len(srcs))
	for _, s := range srcs {
		names[s.URL] = s.Title
	}
	return names, nil
}

func readJSONL(path string, names map[string]string, out []RSSEntry, limit int) ([]RSSEntry, error) {
	f, err := os.Open(path)
	if err != nil {
		return out, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; sc.Scan() && (limit <= 0 || len(out) < limit); line++ {
		var e RSSEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return out, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		e.Feed = names[e.SourceURL]
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return out, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

// RSSArticles is ReadRSS2026 for a test or benchmark: the entries of
// rss-2026-01 as articles, skipping (failing under CI=true) when the
// datasets are absent, failing when they cannot be read.
func RSSArticles(tb testing.TB, limit int) []*pipeline.Article {
	tb.Helper()
	dir := Dataset(tb, RSS2026)
	entries, err := ReadRSS2026(filepath.Dir(dir), limit)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]*pipeline.Article, len(entries))
	for i, e := range entries {
		out[i] = e.Article()
	}
	return out
}
