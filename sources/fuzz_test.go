package sources

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*")
	for _, p := range files {
		if strings.HasSuffix(p, ".golden.json") {
			continue
		}
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, s := range []string{
		tinyRSS, "", "{", "<", "<?xml version=\"1.0\" encoding=\"utf-16\"?><rss/>",
		"\xff\xfe<\x00r\x00s\x00s\x00>\x00", "\x1f\x8b\x08\x00", `{"version":"https://jsonfeed.org/version/1","items":[{}]}`,
		`<feed xmlns="http://www.w3.org/2005/Atom"><entry><link href="::"/></entry></feed>`,
		`<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><item><title>t</title></item></rdf:RDF>`,
	} {
		f.Add([]byte(s))
	}
	fetched := time.Date(2026, 1, 10, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := parseWithin(t, 10*time.Second, data, Feed{URL: "https://fuzz.example/feed"})
		if err != nil {
			if r := ReasonOf(err); !knownReasons[r] {
				t.Fatalf("unclassified error (%q): %v", r, err)
			}
			return
		}
		_, arts, _ := Parse(bytes.NewReader(data), Feed{URL: "https://fuzz.example/feed"}, fetched)
		if len(arts) != n {
			t.Fatalf("non-deterministic: %d then %d articles", n, len(arts))
		}
		for _, a := range arts {
			if len(a.ID) != 32 || (a.Title == "" && a.URL == "" && a.Content == "") {
				t.Fatalf("bad article: %+v", a)
			}
			if a.Published.After(fetched.Add(maxFutureSkew)) {
				t.Fatalf("future date not clamped: %v", a.Published)
			}
		}
	})
}

func FuzzParseOPML(f *testing.F) {
	f.Add([]byte(testOPML))
	f.Add([]byte(`<opml><body><outline xmlUrl="u"><outline text="x" xmlUrl="v"/></outline></body></opml>`))
	f.Add([]byte(`<opml><body><outline text="a"><outline text="b">`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		go func() {
			defer close(done)
			feeds, err := ParseOPML(bytes.NewReader(data))
			if err != nil {
				return
			}
			seen := map[string]bool{}
			for _, fd := range feeds {
				if fd.URL == "" || seen[fd.URL] {
					t.Errorf("bad or duplicate feed %+v", fd)
				}
				seen[fd.URL] = true
			}
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("ParseOPML did not finish within 10s")
		}
	})
}
