package demo

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"html"
	"strings"
	"time"
)

// entry is one released item as it appears in a feed.
type entry struct {
	item      *Item
	guid      string
	link      string // canonical link of this release (round suffix included)
	published time.Time
}

const generator = "Wirewatch demo feed server"

// htmlText escapes plain text for an HTML text node (quotes need no escape
// there, and leaving them makes the feeds easier to read).
var htmlText = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// bodyHTML is the item body as HTML: one <p> per paragraph, and for feeds
// with tracking parameters a "read more" link carrying them. It has no line
// breaks, which encoding/xml would write as &#xA;.
func bodyHTML(f *feed, e entry) string {
	var b strings.Builder
	for _, p := range e.item.Paragraphs {
		b.WriteString("<p>")
		htmlText.WriteString(&b, p)
		b.WriteString("</p>")
	}
	if f.Tracking != "" {
		fmt.Fprintf(&b, `<p><a href="%s">Read the full story at %s</a></p>`,
			html.EscapeString(f.track(e.link)), htmlText.Replace(f.Title))
	}
	return b.String()
}

// summary is the plain-text teaser: the first paragraph.
func summary(e entry) string { return e.item.Paragraphs[0] }

// render produces the feed document for the given entries (newest first).
// updated is the feed's last modification (newest entry, else server start).
func render(f *feed, feedURL string, entries []entry, updated time.Time) ([]byte, error) {
	var (
		doc any
		err error
	)
	switch f.Format {
	case FormatJSON:
		return renderJSON(f, feedURL, entries)
	case FormatAtom:
		doc = atomDoc(f, feedURL, entries, updated)
	case FormatRDF:
		doc = rdfDoc(f, feedURL, entries, updated)
	default:
		doc = rssDoc(f, feedURL, entries, updated)
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err = enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("demo: render %s: %w", f.Slug, err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}

// --- RSS 2.0 ---------------------------------------------------------------

type rssRoot struct {
	XMLName   xml.Name   `xml:"rss"`
	Version   string     `xml:"version,attr"`
	NSAtom    string     `xml:"xmlns:atom,attr"`
	NSDC      string     `xml:"xmlns:dc,attr,omitempty"`
	NSContent string     `xml:"xmlns:content,attr,omitempty"`
	Channel   rssChannel `xml:"channel"`
}

type rssChannel struct {
	Title         string    `xml:"title"`
	Link          string    `xml:"link"`
	Description   string    `xml:"description"`
	Self          atomLink  `xml:"atom:link"`
	Language      string    `xml:"language"`
	LastBuildDate string    `xml:"lastBuildDate"`
	Generator     string    `xml:"generator"`
	Items         []rssItem `xml:"item"`
}

type rssItem struct {
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	GUID        rssGUID  `xml:"guid"`
	PubDate     string   `xml:"pubDate"`
	Author      string   `xml:"author,omitempty"`
	Creator     string   `xml:"dc:creator,omitempty"`
	Categories  []string `xml:"category"`
	Description string   `xml:"description"`
	Encoded     *cdata   `xml:"content:encoded,omitempty"`
}

type rssGUID struct {
	IsPermaLink bool   `xml:"isPermaLink,attr"`
	Value       string `xml:",chardata"`
}

type cdata struct {
	Text string `xml:",cdata"`
}

func rssDoc(f *feed, feedURL string, entries []entry, updated time.Time) rssRoot {
	r := rssRoot{
		Version: "2.0",
		NSAtom:  nsAtom,
		Channel: rssChannel{
			Title:         f.Title,
			Link:          f.track(f.home()),
			Description:   f.Description,
			Self:          atomLink{Rel: "self", Type: strings.Split(f.Format.contentType(), ";")[0], Href: feedURL},
			Language:      "en",
			LastBuildDate: updated.UTC().Format(time.RFC1123Z),
			Generator:     generator,
		},
	}
	if f.ContentEncoded {
		r.NSDC, r.NSContent = nsDC, nsContent
	}
	for _, e := range entries {
		it := rssItem{
			Title:      e.item.Title,
			Link:       f.track(e.link),
			GUID:       rssGUID{IsPermaLink: e.guid == e.link, Value: e.guid},
			PubDate:    e.published.UTC().Format(time.RFC1123Z),
			Categories: e.item.Categories,
		}
		if f.ContentEncoded {
			it.Creator = e.item.Author
			it.Description = summary(e)
			it.Encoded = &cdata{Text: bodyHTML(f, e)}
		} else {
			it.Author = fmt.Sprintf("%s (%s)", f.Email, e.item.Author)
			it.Description = bodyHTML(f, e)
		}
		r.Channel.Items = append(r.Channel.Items, it)
	}
	return r
}

// --- Atom 1.0 --------------------------------------------------------------

const (
	nsAtom    = "http://www.w3.org/2005/Atom"
	nsDC      = "http://purl.org/dc/elements/1.1/"
	nsContent = "http://purl.org/rss/1.0/modules/content/"
	nsRDF     = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
	nsRSS1    = "http://purl.org/rss/1.0/"
)

type atomFeed struct {
	XMLName   xml.Name    `xml:"http://www.w3.org/2005/Atom feed"`
	Lang      string      `xml:"xml:lang,attr"`
	Title     string      `xml:"title"`
	Subtitle  string      `xml:"subtitle"`
	ID        string      `xml:"id"`
	Updated   string      `xml:"updated"`
	Links     []atomLink  `xml:"link"`
	Author    atomPerson  `xml:"author"`
	Generator string      `xml:"generator"`
	Entries   []atomEntry `xml:"entry"`
}

type atomLink struct {
	Rel  string `xml:"rel,attr"`
	Type string `xml:"type,attr,omitempty"`
	Href string `xml:"href,attr"`
}

type atomPerson struct {
	Name string `xml:"name"`
}

type atomCategory struct {
	Term string `xml:"term,attr"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	Title      string         `xml:"title"`
	ID         string         `xml:"id"`
	Link       atomLink       `xml:"link"`
	Published  string         `xml:"published"`
	Updated    string         `xml:"updated"`
	Author     atomPerson     `xml:"author"`
	Categories []atomCategory `xml:"category"`
	Summary    atomText       `xml:"summary"`
	Content    atomText       `xml:"content"`
}

func atomDoc(f *feed, feedURL string, entries []entry, updated time.Time) atomFeed {
	a := atomFeed{
		Lang:     "en",
		Title:    f.Title,
		Subtitle: f.Description,
		ID:       "tag:" + Host + ",2026:" + f.Slug,
		Updated:  updated.UTC().Format(time.RFC3339),
		Links: []atomLink{
			{Rel: "alternate", Type: "text/html", Href: f.home()},
			{Rel: "self", Type: "application/atom+xml", Href: feedURL},
		},
		Author:    atomPerson{Name: f.Title},
		Generator: generator,
	}
	for _, e := range entries {
		ae := atomEntry{
			Title:     e.item.Title,
			ID:        e.guid,
			Link:      atomLink{Rel: "alternate", Type: "text/html", Href: e.link},
			Published: e.published.UTC().Format(time.RFC3339),
			Updated:   e.published.UTC().Format(time.RFC3339),
			Author:    atomPerson{Name: e.item.Author},
			Summary:   atomText{Type: "text", Body: summary(e)},
			Content:   atomText{Type: "html", Body: bodyHTML(f, e)},
		}
		for _, c := range e.item.Categories {
			ae.Categories = append(ae.Categories, atomCategory{Term: c})
		}
		a.Entries = append(a.Entries, ae)
	}
	return a
}

// --- RSS 1.0 (RDF) ---------------------------------------------------------

type rdfRoot struct {
	XMLName xml.Name   `xml:"rdf:RDF"`
	NSRDF   string     `xml:"xmlns:rdf,attr"`
	NS      string     `xml:"xmlns,attr"`
	NSDC    string     `xml:"xmlns:dc,attr"`
	Channel rdfChannel `xml:"channel"`
	Items   []rdfItem  `xml:"item"`
}

type rdfChannel struct {
	About       string   `xml:"rdf:about,attr"`
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	Description string   `xml:"description"`
	Language    string   `xml:"dc:language"`
	Date        string   `xml:"dc:date"`
	Publisher   string   `xml:"dc:publisher"`
	Items       rdfItems `xml:"items"`
}

type rdfItems struct {
	Seq struct {
		Li []rdfResource `xml:"rdf:li"`
	} `xml:"rdf:Seq"`
}

type rdfResource struct {
	Resource string `xml:"rdf:resource,attr"`
}

type rdfItem struct {
	About       string   `xml:"rdf:about,attr"`
	Title       string   `xml:"title"`
	Link        string   `xml:"link"`
	Description string   `xml:"description"`
	Creator     string   `xml:"dc:creator"`
	Date        string   `xml:"dc:date"`
	Identifier  string   `xml:"dc:identifier"`
	Subjects    []string `xml:"dc:subject"`
}

func rdfDoc(f *feed, feedURL string, entries []entry, updated time.Time) rdfRoot {
	r := rdfRoot{
		NSRDF: nsRDF,
		NS:    nsRSS1,
		NSDC:  nsDC,
		Channel: rdfChannel{
			About:       feedURL,
			Title:       f.Title,
			Link:        f.home(),
			Description: f.Description,
			Language:    "en",
			Date:        updated.UTC().Format(time.RFC3339),
			Publisher:   f.Title,
		},
	}
	for _, e := range entries {
		r.Channel.Items.Seq.Li = append(r.Channel.Items.Seq.Li, rdfResource{Resource: e.guid})
		r.Items = append(r.Items, rdfItem{
			About:       e.guid,
			Title:       e.item.Title,
			Link:        e.link,
			Description: bodyHTML(f, e),
			Creator:     e.item.Author,
			Date:        e.published.UTC().Format(time.RFC3339),
			Identifier:  e.guid,
			Subjects:    e.item.Categories,
		})
	}
	return r
}

// --- JSON Feed 1.1 ---------------------------------------------------------

type jsonFeed struct {
	Version     string       `json:"version"`
	Title       string       `json:"title"`
	HomePageURL string       `json:"home_page_url"`
	FeedURL     string       `json:"feed_url"`
	Description string       `json:"description"`
	Language    string       `json:"language"`
	Authors     []jsonAuthor `json:"authors"`
	Items       []jsonItem   `json:"items"`
}

type jsonAuthor struct {
	Name string `json:"name"`
}

type jsonItem struct {
	ID            string       `json:"id"`
	URL           string       `json:"url"`
	Title         string       `json:"title"`
	ContentHTML   string       `json:"content_html"`
	Summary       string       `json:"summary"`
	DatePublished string       `json:"date_published"`
	Authors       []jsonAuthor `json:"authors"`
	Tags          []string     `json:"tags,omitempty"`
}

func renderJSON(f *feed, feedURL string, entries []entry) ([]byte, error) {
	j := jsonFeed{
		Version:     "https://jsonfeed.org/version/1.1",
		Title:       f.Title,
		HomePageURL: f.home(),
		FeedURL:     feedURL,
		Description: f.Description,
		Language:    "en",
		Authors:     []jsonAuthor{{Name: f.Title}},
		Items:       []jsonItem{},
	}
	for _, e := range entries {
		j.Items = append(j.Items, jsonItem{
			ID:            e.guid,
			URL:           e.link,
			Title:         e.item.Title,
			ContentHTML:   bodyHTML(f, e),
			Summary:       summary(e),
			DatePublished: e.published.UTC().Format(time.RFC3339),
			Authors:       []jsonAuthor{{Name: e.item.Author}},
			Tags:          e.item.Categories,
		})
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(j); err != nil {
		return nil, fmt.Errorf("demo: render %s: %w", f.Slug, err)
	}
	return buf.Bytes(), nil
}

// --- OPML 2.0 --------------------------------------------------------------

type opmlDoc struct {
	XMLName xml.Name `xml:"opml"`
	Version string   `xml:"version,attr"`
	Head    struct {
		Title string `xml:"title"`
	} `xml:"head"`
	Body struct {
		Outlines []opmlOutline `xml:"outline"`
	} `xml:"body"`
}

type opmlOutline struct {
	Text     string        `xml:"text,attr"`
	Title    string        `xml:"title,attr,omitempty"`
	Type     string        `xml:"type,attr,omitempty"`
	XMLURL   string        `xml:"xmlUrl,attr,omitempty"`
	HTMLURL  string        `xml:"htmlUrl,attr,omitempty"`
	Category string        `xml:"category,attr,omitempty"`
	Outlines []opmlOutline `xml:"outline"`
}

// renderOPML lists the feeds, one folder outline per category (in order of
// first appearance), each feed also carrying an OPML 2.0 category attribute.
func renderOPML(feeds []FeedInfo) ([]byte, error) {
	var doc opmlDoc
	doc.Version = "2.0"
	doc.Head.Title = "Wirewatch demo feeds"
	folder := map[string]int{}
	for _, fi := range feeds {
		i, ok := folder[fi.Category]
		if !ok {
			i = len(doc.Body.Outlines)
			folder[fi.Category] = i
			doc.Body.Outlines = append(doc.Body.Outlines, opmlOutline{Text: fi.Category, Title: fi.Category})
		}
		typ := "rss"
		if fi.Format == FormatAtom {
			typ = "atom"
		}
		doc.Body.Outlines[i].Outlines = append(doc.Body.Outlines[i].Outlines, opmlOutline{
			Text:     fi.Name,
			Title:    fi.Name,
			Type:     typ,
			XMLURL:   fi.URL,
			HTMLURL:  fi.HomeURL,
			Category: "/" + fi.Category,
		})
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return nil, fmt.Errorf("demo: render opml: %w", err)
	}
	buf.WriteByte('\n')
	return buf.Bytes(), nil
}
