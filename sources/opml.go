package sources

import (
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/net/html/charset"
)

// ParseOPML reads an OPML subscription list. Every outline with an xmlUrl
// is a feed, named by its title (else text); the titles of the outlines
// enclosing it (its categories) joined with "/" are its Group. A feed URL
// listed twice is kept once (the first). Errors name the line.
func ParseOPML(r io.Reader) ([]Feed, error) {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = charset.NewReaderLabel
	var (
		feeds    []Feed
		seen     = map[string]bool{}
		stack    []string // per open outline: its category title, or "\x00" for a feed outline
		rootSeen bool
		inBody   bool
	)
	lineErr := func(err error) error {
		var se *xml.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("opml: line %d: %s", se.Line, se.Msg)
		}
		line, _ := d.InputPos()
		return fmt.Errorf("opml: line %d: %w", line, err)
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, lineErr(err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if !rootSeen {
				if name != "opml" {
					return nil, lineErr(fmt.Errorf("root element is <%s>, not <opml>", t.Name.Local))
				}
				rootSeen = true
				continue
			}
			if name == "body" {
				inBody = true
				continue
			}
			if name != "outline" || !inBody {
				continue
			}
			var text, title, xmlURL string
			for _, a := range t.Attr {
				switch strings.ToLower(a.Name.Local) {
				case "text":
					text = strings.TrimSpace(a.Value)
				case "title":
					title = strings.TrimSpace(a.Value)
				case "xmlurl":
					xmlURL = strings.TrimSpace(a.Value)
				}
			}
			if title == "" {
				title = text
			}
			if xmlURL == "" {
				stack = append(stack, title)
				continue
			}
			stack = append(stack, "\x00")
			if seen[xmlURL] {
				continue
			}
			seen[xmlURL] = true
			var groups []string
			for _, g := range stack[:len(stack)-1] {
				if g != "\x00" && g != "" {
					groups = append(groups, g)
				}
			}
			feeds = append(feeds, Feed{URL: xmlURL, Name: title, Group: strings.Join(groups, "/")})
		case xml.EndElement:
			switch strings.ToLower(t.Name.Local) {
			case "outline":
				if inBody && len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
			case "body":
				inBody = false
			}
		}
	}
	if !rootSeen {
		return nil, errors.New("opml: empty document, no <opml> element")
	}
	return feeds, nil
}
