package sources

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mmcdole/gofeed"
	"github.com/mmcdole/gofeed/rss"
	"golang.org/x/net/html"

	"github.com/wirewatch/wirewatch/pipeline"
)

// maxFutureSkew is how far in the future a publication date may be before
// it is clamped to the fetch time.
const maxFutureSkew = 24 * time.Hour

// minPlausibleDate is the earliest publication date taken at face value:
// web feeds did not exist before it, so an earlier date is a placeholder
// (1970, 1901, year 1) and is treated as missing.
var minPlausibleDate = time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)

// maxParseInput bounds what Parse reads from its reader, and what a gzipped
// input may inflate to.
const maxParseInput = DefaultMaxBodySize

// Parse reads one feed (RSS 0.9x/1.0/2.0, Atom or JSON Feed, in any charset
// it declares, optionally gzipped) and maps its items to Articles. title is
// the feed's own title. Items with no title, link or content are dropped.
// Errors are *FetchError with reason parse, not_a_feed, charset or
// too_large.
func Parse(r io.Reader, feed Feed, fetched time.Time) (title string, arts []*pipeline.Article, err error) {
	body, err := io.ReadAll(io.LimitReader(r, maxParseInput+1))
	if err != nil {
		return "", nil, newErr(ReasonIO, feed.URL, err)
	}
	if len(body) > maxParseInput {
		return "", nil, newErr(ReasonTooLarge, feed.URL, fmt.Errorf("over %d bytes", maxParseInput))
	}
	body, err = decodeBody(body, "", maxParseInput)
	if err != nil {
		return "", nil, withURL(err, feed.URL)
	}
	p, err := parseDecoded(body, feed.URL, feed, fetched)
	if err != nil {
		return "", nil, err
	}
	return p.title, p.arts, nil
}

// parsedFeed is what the scheduler needs from a parse.
type parsedFeed struct {
	title string
	arts  []*pipeline.Article
	// ttl is the RSS <ttl>, 0 when absent.
	ttl time.Duration
}

// parseDecoded parses a feed body that decodeBody has already turned into
// UTF-8 (Fetcher.Fetch does that for fetched bodies). base is the URL the
// body came from (after redirects), against which an HTML page's feed
// links are resolved. An item whose key repeats one already seen in the
// same body (a duplicate GUID) is dropped: one article per key.
func parseDecoded(body []byte, base string, feed Feed, fetched time.Time) (*parsedFeed, error) {
	gf, err := gofeedParse(body)
	if err != nil {
		if errors.Is(err, gofeed.ErrFeedTypeNotDetected) {
			return nil, newErr(ReasonNotAFeed, feed.URL, notAFeedReason(body, base))
		}
		return nil, newErr(ReasonParse, feed.URL, err)
	}
	p := &parsedFeed{title: strings.TrimSpace(gf.Title)}
	if rf, ok := gf.OriginalFeed().(*rss.Feed); ok {
		if n, err := strconv.Atoi(strings.TrimSpace(rf.TTL)); err == nil && n > 0 && n < 7*24*60 {
			p.ttl = time.Duration(n) * time.Minute
		}
	}
	name := feed.Name
	if name == "" {
		name = p.title
	}
	if name == "" {
		name = feed.URL
	}
	key := feed.Key()
	fetched = fetched.UTC()
	ids := make(map[string]bool, len(gf.Items))
	for _, it := range gf.Items {
		if it == nil {
			continue
		}
		a := &pipeline.Article{
			Version:      pipeline.ArticleVersion,
			Feed:         name,
			FeedURL:      feed.URL,
			FeedKey:      key,
			Group:        feed.Group,
			GUID:         strings.TrimSpace(it.GUID),
			URL:          itemLink(it, gf.Link, feed.URL),
			Title:        strings.TrimSpace(it.Title),
			Content:      strings.TrimSpace(it.Content),
			Authors:      authors(it.Authors),
			Categories:   uniqueTrimmed(it.Categories),
			FeedLanguage: strings.TrimSpace(gf.Language),
			Fetched:      fetched,
		}
		if a.Content == "" {
			a.Content = strings.TrimSpace(it.Description)
		}
		if a.Title == "" && a.URL == "" && a.Content == "" {
			continue
		}
		switch {
		case it.PublishedParsed != nil:
			a.Published = it.PublishedParsed.UTC()
		case it.UpdatedParsed != nil:
			a.Published = it.UpdatedParsed.UTC()
		}
		if a.Published.After(fetched.Add(maxFutureSkew)) {
			a.Published = fetched
		}
		if a.Published.Before(minPlausibleDate) {
			a.Published = time.Time{}
		}
		a.ID = ArticleKey(feed.URL, a.GUID, a.URL, a.Title, a.Content)
		if ids[a.ID] {
			continue
		}
		ids[a.ID] = true
		p.arts = append(p.arts, a)
	}
	return p, nil
}

// gofeedParse runs gofeed, turning a panic on hostile input into an error.
func gofeedParse(body []byte) (f *gofeed.Feed, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("feed parser panic: %v", r)
		}
	}()
	fp := gofeed.NewParser()
	fp.KeepOriginalFeed = true
	return fp.Parse(bytes.NewReader(body))
}

// ArticleKey is the identity of an item within its feed: the first 32 hex
// characters of a SHA-256 over the feed URL and the GUID when there is
// one, else the link (scheme and host lowercased, fragment dropped), else
// the title and content.
func ArticleKey(feedURL, guid, link, title, content string) string {
	h := sha256.New()
	h.Write([]byte(feedURL))
	h.Write([]byte{0})
	switch {
	case strings.TrimSpace(guid) != "":
		h.Write([]byte("guid\x00"))
		h.Write([]byte(strings.TrimSpace(guid)))
	case strings.TrimSpace(link) != "":
		h.Write([]byte("link\x00"))
		h.Write([]byte(simpleCanonical(link)))
	default:
		h.Write([]byte("text\x00"))
		h.Write([]byte(strings.TrimSpace(title)))
		h.Write([]byte{0})
		h.Write([]byte(strings.TrimSpace(content)))
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// simpleCanonical lowercases scheme and host and drops the fragment.
func simpleCanonical(link string) string {
	link = strings.TrimSpace(link)
	u, err := url.Parse(link)
	if err != nil {
		return link
	}
	u.Scheme = strings.ToLower(u.Scheme)
	u.Host = strings.ToLower(u.Host)
	u.Fragment, u.RawFragment = "", ""
	return u.String()
}

// itemLink is the item's link, resolved against the feed's site link or
// URL when relative.
func itemLink(it *gofeed.Item, bases ...string) string {
	link := strings.TrimSpace(it.Link)
	if link == "" {
		for _, l := range it.Links {
			if l = strings.TrimSpace(l); l != "" {
				link = l
				break
			}
		}
	}
	if link == "" {
		return ""
	}
	u, err := url.Parse(link)
	if err != nil || u.IsAbs() {
		return link
	}
	for _, b := range bases {
		bu, err := url.Parse(strings.TrimSpace(b))
		if err == nil && (bu.Scheme == "http" || bu.Scheme == "https") && bu.Host != "" {
			return bu.ResolveReference(u).String()
		}
	}
	return link
}

func authors(ps []*gofeed.Person) []string {
	var out []string
	for _, p := range ps {
		if p == nil {
			continue
		}
		n := strings.TrimSpace(p.Name)
		if n == "" {
			n = strings.TrimSpace(p.Email)
		}
		if n != "" && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func uniqueTrimmed(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// notAFeedReason explains why a body that gofeed could not identify is not
// a feed; for an HTML page it names the feeds the page advertises
// (<link rel="alternate" type="application/rss+xml|atom+xml|feed+json">),
// resolved against base, so the user can configure that URL instead.
func notAFeedReason(body []byte, base string) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return errors.New("empty document")
	}
	if looksLikeHTML(trimmed) {
		links := FeedLinks(body, base, 3)
		switch len(links) {
		case 0:
			return errors.New("got an HTML page, not a feed, and the page links no feed")
		case 1:
			return fmt.Errorf("got an HTML page, not a feed: the page links feed %s; use that URL", links[0])
		default:
			return fmt.Errorf("got an HTML page, not a feed: the page links feeds %s; use one of those URLs", strings.Join(links, ", "))
		}
	}
	return errors.New("no RSS, Atom or JSON Feed document found")
}

func looksLikeHTML(b []byte) bool {
	if len(b) > 2048 {
		b = b[:2048]
	}
	s := strings.ToLower(string(b))
	for _, m := range []string{"<!doctype html", "<html", "<head>", "<head "} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// FeedLinks returns up to max feed URLs an HTML page advertises with
// <link rel="alternate" type="...rss...|...atom...|...json..."> in its
// head, resolved against base (the page's URL) when relative (feed
// autodiscovery). Only http and https URLs are returned.
func FeedLinks(body []byte, base string, max int) []string {
	bu, _ := url.Parse(base)
	if len(body) > 256<<10 {
		body = body[:256<<10]
	}
	z := html.NewTokenizer(bytes.NewReader(body))
	var out []string
	for len(out) < max {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.SelfClosingTagToken:
			name, hasAttr := z.TagName()
			switch string(name) {
			case "body":
				return out
			case "link":
				var rel, typ, href string
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					switch string(k) {
					case "rel":
						rel = strings.ToLower(string(v))
					case "type":
						typ = strings.ToLower(string(v))
					case "href":
						href = strings.TrimSpace(string(v))
					}
				}
				if !strings.Contains(rel, "alternate") || href == "" ||
					!(strings.Contains(typ, "rss") || strings.Contains(typ, "atom") || strings.Contains(typ, "json")) {
					continue
				}
				hu, err := url.Parse(href)
				if err != nil {
					continue
				}
				if bu != nil && !hu.IsAbs() {
					hu = bu.ResolveReference(hu)
				}
				if (hu.Scheme == "http" || hu.Scheme == "https") && hu.Host != "" && !slices.Contains(out, hu.String()) {
					out = append(out, hu.String())
				}
			}
		}
	}
	return out
}

// htmlTitle returns the <title> of an HTML document, "" if none.
func htmlTitle(body []byte) string {
	z := html.NewTokenizer(bytes.NewReader(body))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return ""
		case html.StartTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "title":
				if z.Next() == html.TextToken {
					return strings.Join(strings.Fields(string(z.Text())), " ")
				}
				return ""
			case "body":
				return ""
			}
		}
	}
}
