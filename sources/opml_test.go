package sources

import (
	"strings"
	"testing"
)

const testOPML = `<?xml version="1.0" encoding="UTF-8"?>
<opml version="2.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="News">
      <outline text="World" title="World desk">
        <outline type="rss" text="Example Wire" xmlUrl="https://news.example.com/rss" htmlUrl="https://news.example.com/"/>
        <outline type="rss" text="Atom Example" title="Atom Title" xmlUrl="https://atom.example.org/feed"/>
      </outline>
      <outline text="Local &amp; Regional">
        <outline text="Harbour" xmlUrl="https://harbour.example.com/feed?x=1&amp;y=2"/>
      </outline>
    </outline>
    <outline text="Top level" xmlUrl="https://top.example.com/feed.json"/>
    <outline text="Duplicate" xmlUrl="https://news.example.com/rss"/>
    <outline text="Empty folder"/>
  </body>
</opml>`

func TestParseOPML(t *testing.T) {
	feeds, err := ParseOPML(strings.NewReader(testOPML))
	if err != nil {
		t.Fatal(err)
	}
	want := []Feed{
		{URL: "https://news.example.com/rss", Name: "Example Wire", Group: "News/World desk"},
		{URL: "https://atom.example.org/feed", Name: "Atom Title", Group: "News/World desk"},
		{URL: "https://harbour.example.com/feed?x=1&y=2", Name: "Harbour", Group: "News/Local & Regional"},
		{URL: "https://top.example.com/feed.json", Name: "Top level", Group: ""},
	}
	if len(feeds) != len(want) {
		t.Fatalf("got %d feeds: %+v", len(feeds), feeds)
	}
	for i := range want {
		if feeds[i] != want[i] {
			t.Errorf("feed %d = %+v, want %+v", i, feeds[i], want[i])
		}
	}
}

func TestParseOPMLErrors(t *testing.T) {
	for in, want := range map[string]string{
		"<opml><body>\n<outline text=\"a\">\n<outline xmlUrl=\"u\"/>\n</outline>\n</bodyx></opml>": "line 5",
		"<rss><channel/></rss>": "not <opml>",
		"":                      "empty document",
	} {
		_, err := ParseOPML(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want it to mention %q", in, err, want)
		}
	}
}
