// Package feedtest serves RSS feeds from tests: items can be added while it
// runs, and conditional GET can be switched off.
package feedtest

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"time"
)

// Item is one RSS item.
type Item struct {
	GUID, Title, Link, Description string
	Published                      time.Time
}

// Server serves one RSS feed per path.
type Server struct {
	*httptest.Server
	mu    sync.Mutex
	feeds map[string][]Item
	// Conditional answers 304 to a matching If-None-Match (default true).
	conditional bool
	requests    atomic.Int64
	notModified atomic.Int64
}

// New starts a server; it is closed when the test ends (call Close).
func New() *Server {
	s := &Server{feeds: map[string][]Item{}, conditional: true}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// URL of the feed at path (e.g. "/a.rss").
func (s *Server) FeedURL(path string) string { return s.Server.URL + path }

// Add appends items to the feed at path.
func (s *Server) Add(path string, items ...Item) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.feeds[path] = append(s.feeds[path], items...)
}

// SetConditional turns ETag/304 handling on or off.
func (s *Server) SetConditional(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conditional = on
}

// Requests is how many requests the server received, on any path.
func (s *Server) Requests() int64 { return s.requests.Load() }

// NotModified is how many requests were answered 304 Not Modified.
func (s *Server) NotModified() int64 { return s.notModified.Load() }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	s.mu.Lock()
	items, ok := s.feeds[r.URL.Path]
	items = append([]Item(nil), items...)
	conditional := s.conditional
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, err := Render(r.URL.Path, items)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	sum := sha256.Sum256(body)
	etag := `"` + hex.EncodeToString(sum[:8]) + `"`
	if conditional {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			s.notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	w.Header().Set("Content-Type", "application/rss+xml; charset=utf-8")
	_, _ = w.Write(body)
}

type rss struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel channel  `xml:"channel"`
}

type channel struct {
	Title string    `xml:"title"`
	Link  string    `xml:"link"`
	Items []rssItem `xml:"item"`
}

type rssItem struct {
	GUID        string `xml:"guid"`
	Title       string `xml:"title"`
	Link        string `xml:"link"`
	Description string `xml:"description"`
	PubDate     string `xml:"pubDate,omitempty"`
}

// Render makes an RSS 2.0 document titled after path.
func Render(path string, items []Item) ([]byte, error) {
	doc := rss{Version: "2.0", Channel: channel{Title: "Test feed " + path, Link: "https://test.example" + path}}
	for _, it := range items {
		ri := rssItem{GUID: it.GUID, Title: it.Title, Link: it.Link, Description: it.Description}
		if !it.Published.IsZero() {
			ri.PubDate = it.Published.UTC().Format(time.RFC1123Z)
		}
		doc.Channel.Items = append(doc.Channel.Items, ri)
	}
	out, err := xml.MarshalIndent(doc, "", " ")
	if err != nil {
		return nil, fmt.Errorf("render %s: %w", path, err)
	}
	return append([]byte(xml.Header), out...), nil
}
