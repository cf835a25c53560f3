package sources

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/pipeline"
)

var update = flag.Bool("update", false, "rewrite the testdata/*.golden.json files")

var goldenFetched = time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)

type goldenOut struct {
	Title    string              `json:"title"`
	Articles []*pipeline.Article `json:"articles"`
}

func TestParseGolden(t *testing.T) {
	for _, name := range []string{"rss2.xml", "atom.xml", "jsonfeed.json", "windows1251.xml", "controlchars.xml"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			feed := Feed{URL: "https://feeds.example.com/" + name, Group: "Tests"}
			title, arts, err := Parse(bytes.NewReader(in), feed, goldenFetched)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.SetIndent("", "  ")
			if err := enc.Encode(goldenOut{Title: title, Articles: arts}); err != nil {
				t.Fatal(err)
			}
			got := buf.Bytes()
			golden := filepath.Join("testdata", strings.TrimSuffix(name, filepath.Ext(name))+".golden.json")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./sources -run TestParseGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (rerun with -update if intended)\n--- got\n%s", golden, got)
			}
		})
	}
}

func TestParseMapping(t *testing.T) {
	in, err := os.ReadFile("testdata/rss2.xml")
	if err != nil {
		t.Fatal(err)
	}
	feed := Feed{URL: "https://news.example.com/rss", Name: "Configured Name", Group: "World/Wires"}
	title, arts, err := Parse(bytes.NewReader(in), feed, goldenFetched)
	if err != nil {
		t.Fatal(err)
	}
	if title != "Example Wire" {
		t.Errorf("title = %q", title)
	}
	if len(arts) != 4 {
		t.Fatalf("got %d articles, want 4 (the empty item dropped)", len(arts))
	}
	a := arts[0]
	if a.Feed != "Configured Name" || a.Group != "World/Wires" || a.FeedKey != feed.Key() || a.FeedURL != feed.URL {
		t.Errorf("feed fields: %+v", a)
	}
	if a.Version != pipeline.ArticleVersion || a.GUID != "ew-1001" || a.FeedLanguage != "en-gb" {
		t.Errorf("article: %+v", a)
	}
	if !strings.Contains(a.Content, "Full text") {
		t.Errorf("content:encoded should win over description, got %q", a.Content)
	}
	if want := time.Date(2026, 1, 10, 8, 30, 0, 0, time.UTC); !a.Published.Equal(want) {
		t.Errorf("published = %v, want %v", a.Published, want)
	}
	if a.ID != ArticleKey(feed.URL, "ew-1001", "", "", "") {
		t.Errorf("ID is not the GUID key")
	}
	if got := arts[1]; got.URL != "https://news.example.com/local/harbour-reopens" || got.Title != "Harbour reopens after storm" {
		t.Errorf("relative link or title trim: %q %q", got.URL, got.Title)
	}
	if got := arts[1]; got.ID != ArticleKey(feed.URL, "", got.URL, "", "") {
		t.Errorf("item without GUID should be keyed by link")
	}
	if got := arts[2]; got.URL != "" || got.ID != ArticleKey(feed.URL, "", "", got.Title, got.Content) {
		t.Errorf("item without GUID and link should be keyed by title+content: %+v", got)
	}
	if got := arts[3]; !got.Published.Equal(goldenFetched) {
		t.Errorf("future date not clamped: %v", got.Published)
	}
	// Feed name falls back to the feed's title, then its URL.
	_, arts, _ = Parse(bytes.NewReader(in), Feed{URL: "u"}, goldenFetched)
	if arts[0].Feed != "Example Wire" {
		t.Errorf("feed name = %q", arts[0].Feed)
	}
	_, arts, _ = Parse(strings.NewReader(`<rss><channel><item><title>x</title></item></channel></rss>`), Feed{URL: "u"}, goldenFetched)
	if len(arts) != 1 || arts[0].Feed != "u" {
		t.Errorf("feed name without title: %+v", arts)
	}
}

func TestParseTTL(t *testing.T) {
	in, _ := os.ReadFile("testdata/rss2.xml")
	p, err := parseDecoded(in, "u", Feed{URL: "u"}, goldenFetched)
	if err != nil {
		t.Fatal(err)
	}
	if p.ttl != 30*time.Minute {
		t.Errorf("ttl = %v", p.ttl)
	}
}

func TestArticleKey(t *testing.T) {
	k := ArticleKey("f", "g", "", "", "")
	if len(k) != 32 || strings.ToLower(k) != k {
		t.Fatalf("key %q: want 32 lowercase hex", k)
	}
	if ArticleKey("f", "g", "l1", "t1", "c1") != ArticleKey("f", "g", "l2", "t2", "c2") {
		t.Error("GUID should decide")
	}
	if ArticleKey("f1", "g", "", "", "") == ArticleKey("f2", "g", "", "", "") {
		t.Error("feed URL should scope the key")
	}
	if ArticleKey("f", "", "HTTPS://Example.COM/a?b=1#frag", "t1", "") != ArticleKey("f", "", "https://example.com/a?b=1", "t2", "") {
		t.Error("link key should ignore scheme/host case and fragment")
	}
	if ArticleKey("f", "", "https://example.com/A", "", "") == ArticleKey("f", "", "https://example.com/a", "", "") {
		t.Error("path case matters")
	}
	if ArticleKey("f", "", "", "t", "c") == ArticleKey("f", "", "", "t", "d") {
		t.Error("content should matter without GUID and link")
	}
	if ArticleKey("f", "", "", "ab", "c") == ArticleKey("f", "", "", "a", "bc") {
		t.Error("title/content boundary should matter")
	}
}

func TestFeedKey(t *testing.T) {
	k := Feed{URL: "https://example.com/feed"}.Key()
	if len(k) != 16 || strings.Trim(k, "0123456789abcdef") != "" {
		t.Fatalf("key %q: want 16 lowercase hex", k)
	}
	if k == (Feed{URL: "https://example.com/feed2"}).Key() {
		t.Error("different URLs, same key")
	}
}

func TestParseErrors(t *testing.T) {
	cases := []struct {
		name, in, reason, msg string
	}{
		{"empty", "  \n", ReasonNotAFeed, "empty"},
		{"html", `<!DOCTYPE html><html><head><title>Site</title>` +
			`<link rel="alternate" type="application/rss+xml" href="https://example.com/rss"></head><body>hi</body></html>`,
			ReasonNotAFeed, "HTML page, not a feed: the page links feed https://example.com/rss; use that URL"},
		{"text", "just some words", ReasonNotAFeed, "no RSS"},
		{"other xml", `<?xml version="1.0"?><note><to>x</to></note>`, ReasonNotAFeed, ""},
		{"broken json", `{"version": "https://jsonfeed.org/version/1", "items": [`, ReasonParse, ""},
		{"broken rss", `<rss version="2.0"><channel><title>x</title><item><title>a</title></item></channel><item><title>b</tit`, ReasonParse, ""},
		{"bad charset", "<?xml version=\"1.0\" encoding=\"x-no-such-charset\"?><rss><channel><title>\xff\xfe\xfa</title></channel></rss>", ReasonCharset, "x-no-such-charset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, arts, err := Parse(strings.NewReader(c.in), Feed{URL: "https://e.example/f"}, goldenFetched)
			if err == nil {
				t.Fatalf("want error, got %d articles", len(arts))
			}
			if got := ReasonOf(err); got != c.reason {
				t.Errorf("reason = %q, want %q (%v)", got, c.reason, err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Errorf("error %q does not say %q", err, c.msg)
			}
		})
	}
}
