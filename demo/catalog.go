// Package demo holds the sample news Wirewatch ships for `wirewatch demo`
// and the local feed server that releases it as a live stream.
//
// The content lives in feeds/items.yaml (embedded): five fictional outlets in
// five feed dialects (RSS 2.0, Atom 1.0, JSON Feed 1.1, RSS 2.0 with
// content:encoded and tracking links, RSS 1.0/RDF) and about fifty short
// articles about a war in Ukraine, peace talks, sanctions, security
// guarantees and hybrid threats, plus deliberate traps (topic words used in
// another sense), a wire story syndicated by two other outlets and an item
// with scraped, repeated text. Everything is fictional sample reporting.
//
// FeedServer (server.go) renders the feeds over HTTP and releases one more
// item every Options.Every, each dated at its release. feeds/static/ holds
// complete renderings of every feed for offline use
// (`wirewatch inspect demo/feeds/static/wire-service-europe.xml`).
package demo

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed feeds/items.yaml feeds/static
var content embed.FS

// Host is the host name every demo link and GUID points to. The .invalid
// top-level domain is reserved (RFC 2606): nothing is ever fetched from it.
const Host = "demo.wirewatch.invalid"

// Format is a feed dialect.
type Format string

// The feed dialects the demo serves.
const (
	FormatRSS  Format = "rss"  // RSS 2.0
	FormatAtom Format = "atom" // Atom 1.0
	FormatJSON Format = "json" // JSON Feed 1.1
	FormatRDF  Format = "rdf"  // RSS 1.0 (RDF)
)

// ext is the file extension the feed is served under.
func (f Format) ext() string {
	if f == FormatJSON {
		return ".json"
	}
	return ".xml"
}

// contentType is the media type the feed is served with.
func (f Format) contentType() string {
	switch f {
	case FormatAtom:
		return "application/atom+xml; charset=utf-8"
	case FormatJSON:
		return "application/feed+json; charset=utf-8"
	case FormatRDF:
		return "application/rdf+xml; charset=utf-8"
	default:
		return "application/rss+xml; charset=utf-8"
	}
}

// Item is one sample article as written, before it is released: the text
// and what it is meant to test. GUID and Link are those of the first round
// (see FeedServer for later rounds).
type Item struct {
	ID         string   // <feed key>-<slug>, unique
	Feed       string   // slug of the feed that publishes it
	Title      string   // headline
	Author     string   // byline
	Categories []string // rendered as the item's categories/tags
	GUID       string   // unique id in the feed
	Link       string   // canonical link (without tracking parameters)
	Paragraphs []string // body, plain text, one entry per paragraph

	// Topics the item is written to match (default topic pack names). Not
	// rendered. Empty for traps and syndicated copies.
	Topics []string
	// Trap is true for items that use topic words in another sense (sports
	// "sanctions", a governing coalition, a drone light show...): they must
	// not be tagged with any topic.
	Trap bool
	// DuplicateOf is the ID of the item this one republishes, "" if none.
	DuplicateOf string
}

// feed is one demo outlet, as configured in items.yaml.
type feed struct {
	Key            string `yaml:"key"`
	Slug           string `yaml:"slug"`
	Title          string `yaml:"title"`
	Format         Format `yaml:"format"`
	Category       string `yaml:"category"`
	Description    string `yaml:"description"`
	Email          string `yaml:"email"`
	Tracking       string `yaml:"tracking"`
	ContentEncoded bool   `yaml:"content_encoded"`
}

// home is the outlet's (fictional) home page.
func (f *feed) home() string { return "https://" + Host + "/" + f.Slug + "/" }

// track appends the feed's tracking parameters to a link, if it has any.
func (f *feed) track(link string) string {
	if f.Tracking == "" {
		return link
	}
	if strings.Contains(link, "?") {
		return link + "&" + f.Tracking
	}
	return link + "?" + f.Tracking
}

// rawItem is one entry of items.yaml.
type rawItem struct {
	ID         string   `yaml:"id"`
	Title      string   `yaml:"title"`
	Author     string   `yaml:"author"`
	Categories []string `yaml:"categories"`
	Topics     []string `yaml:"topics"`
	Trap       bool     `yaml:"trap"`
	CopyOf     string   `yaml:"copy_of"`
	Omit       []int    `yaml:"omit"`
	Lead       []string `yaml:"lead"`
	Tail       []string `yaml:"tail"`
	Paragraphs []string `yaml:"paragraphs"`
}

type source struct {
	Feeds []feed    `yaml:"feeds"`
	Items []rawItem `yaml:"items"`
}

// catalog is the parsed, validated content: feeds in file order, items in
// release order, each item's feed resolved.
type catalog struct {
	feeds  []*feed
	items  []Item
	feedOf []*feed       // feedOf[i] publishes items[i]
	slugOf []string      // slugOf[i] is the last path segment of items[i].Link
	count  map[*feed]int // items per feed
}

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9]+(-[a-z0-9]+)*$`)
	topicRE = regexp.MustCompile(`^[a-z]+(-[a-z]+)*$`)
)

// Catalog returns every sample item in release order, as written in
// feeds/items.yaml.
func Catalog() ([]Item, error) {
	c, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	return c.items, nil
}

// StaticFeeds returns the complete, pre-rendered demo feeds (the files of
// demo/feeds/static/, named <feed slug>.xml or .json) as a file system.
func StaticFeeds() fs.FS {
	sub, err := fs.Sub(content, "feeds/static")
	if err != nil {
		panic(err) // unreachable: the directory is embedded
	}
	return sub
}

func loadCatalog() (*catalog, error) {
	raw, err := content.ReadFile("feeds/items.yaml")
	if err != nil {
		return nil, fmt.Errorf("demo: read items: %w", err)
	}
	return parseCatalog(raw)
}

func parseCatalog(raw []byte) (*catalog, error) {
	var src source
	if err := yaml.Unmarshal(raw, &src); err != nil {
		return nil, fmt.Errorf("demo: parse items.yaml: %w", err)
	}
	c := &catalog{count: map[*feed]int{}}
	byKey := map[string]*feed{}
	for i := range src.Feeds {
		f := &src.Feeds[i]
		switch {
		case !slugRE.MatchString(f.Key), !slugRE.MatchString(f.Slug):
			return nil, fmt.Errorf("demo: feed %d: bad key %q or slug %q", i, f.Key, f.Slug)
		case byKey[f.Key] != nil:
			return nil, fmt.Errorf("demo: feed %q listed twice", f.Key)
		case f.Title == "":
			return nil, fmt.Errorf("demo: feed %q: no title", f.Key)
		}
		switch f.Format {
		case FormatRSS, FormatAtom, FormatJSON, FormatRDF:
		default:
			return nil, fmt.Errorf("demo: feed %q: unknown format %q", f.Key, f.Format)
		}
		if f.ContentEncoded && f.Format != FormatRSS {
			return nil, fmt.Errorf("demo: feed %q: content_encoded needs format rss", f.Key)
		}
		byKey[f.Key] = f
		c.feeds = append(c.feeds, f)
	}
	index := map[string]int{}
	for i, r := range src.Items {
		key, slug, ok := strings.Cut(r.ID, "-")
		f := byKey[key]
		switch {
		case !ok || f == nil || !slugRE.MatchString(slug):
			return nil, fmt.Errorf("demo: item %d: id %q is not <feed key>-<slug>", i+1, r.ID)
		case r.Title == "" || r.Author == "":
			return nil, fmt.Errorf("demo: item %q: title and author are required", r.ID)
		}
		if _, dup := index[r.ID]; dup {
			return nil, fmt.Errorf("demo: item %q listed twice", r.ID)
		}
		for _, t := range r.Topics {
			if !topicRE.MatchString(t) {
				return nil, fmt.Errorf("demo: item %q: bad topic %q", r.ID, t)
			}
		}
		it := Item{
			ID:         r.ID,
			Feed:       f.Slug,
			Title:      r.Title,
			Author:     r.Author,
			Categories: r.Categories,
			Link:       "https://" + Host + "/" + f.Slug + "/" + slug,
			Topics:     r.Topics,
			Trap:       r.Trap,
		}
		it.GUID = guid(f, it.Link, slug, 1)
		if r.CopyOf != "" {
			oi, ok := index[r.CopyOf]
			if !ok {
				return nil, fmt.Errorf("demo: item %q: copy_of %q is not an earlier item", r.ID, r.CopyOf)
			}
			orig := c.items[oi]
			if orig.DuplicateOf != "" {
				return nil, fmt.Errorf("demo: item %q: copy_of %q is itself a copy", r.ID, r.CopyOf)
			}
			if len(r.Paragraphs) > 0 || len(r.Topics) > 0 || r.Trap {
				return nil, fmt.Errorf("demo: item %q: a copy takes no paragraphs, topics or trap", r.ID)
			}
			omit := map[int]bool{}
			for _, o := range r.Omit {
				if o < 0 || o >= len(orig.Paragraphs) {
					return nil, fmt.Errorf("demo: item %q: omit %d out of range", r.ID, o)
				}
				omit[o] = true
			}
			it.DuplicateOf = orig.ID
			it.Paragraphs = append(it.Paragraphs, r.Lead...)
			for j, p := range orig.Paragraphs {
				if !omit[j] {
					it.Paragraphs = append(it.Paragraphs, p)
				}
			}
			it.Paragraphs = append(it.Paragraphs, r.Tail...)
		} else {
			if len(r.Lead)+len(r.Tail)+len(r.Omit) > 0 {
				return nil, fmt.Errorf("demo: item %q: lead, tail and omit need copy_of", r.ID)
			}
			if len(r.Paragraphs) == 0 {
				return nil, fmt.Errorf("demo: item %q: no paragraphs", r.ID)
			}
			if r.Trap == (len(r.Topics) > 0) {
				return nil, fmt.Errorf("demo: item %q: needs either topics or trap: true", r.ID)
			}
			it.Paragraphs = r.Paragraphs
		}
		for j, p := range it.Paragraphs {
			p = strings.TrimSpace(p)
			if p == "" {
				return nil, fmt.Errorf("demo: item %q: paragraph %d is empty", r.ID, j)
			}
			it.Paragraphs[j] = p
		}
		index[r.ID] = len(c.items)
		c.items = append(c.items, it)
		c.feedOf = append(c.feedOf, f)
		c.slugOf = append(c.slugOf, slug)
		c.count[f]++
	}
	if len(c.items) == 0 {
		return nil, errors.New("demo: items.yaml holds no items")
	}
	return c, nil
}

// guid is the GUID of an item in a given round (1 = first release). Wire
// Service Europe uses permalinks as GUIDs, the others tag URIs (RFC 4151).
// Later rounds get a "#r<round>" suffix so every release is a new item.
func guid(f *feed, link, slug string, round int) string {
	g := "tag:" + Host + ",2026:" + f.Slug + "/" + slug
	if f.Format == FormatRSS && !f.ContentEncoded {
		g = link
	}
	return g + roundSuffix(round)
}

// roundSuffix is what later rounds append to GUIDs and links.
func roundSuffix(round int) string {
	if round <= 1 {
		return ""
	}
	return fmt.Sprintf("#r%d", round)
}
