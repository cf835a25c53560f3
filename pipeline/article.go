// Package pipeline holds the Article that travels through Wirewatch, the
// contract every processing stage implements, and the runner that drives the
// stages from JetStream.
package pipeline

import "time"

// ArticleVersion is the version of the Article wire format (JSON). A reader
// refuses versions it does not know rather than guessing.
const ArticleVersion = 1

// Article is one news item as it travels from a feed through every stage. It
// is encoded as JSON on the wire; fields are only ever added, never renamed.
type Article struct {
	Version int `json:"v"`

	// ID is the article key: a hash of feed + GUID, else canonical link,
	// else title + content (see sources.ArticleKey). It is the Nats-Msg-Id
	// on INGEST and the identity every later stage uses.
	ID string `json:"id"`

	// Feed is the human name of the feed (configured name, else the feed's
	// own title, else its URL or path); FeedURL is where it was fetched.
	Feed    string `json:"feed"`
	FeedURL string `json:"feed_url,omitempty"`
	// FeedKey is the subject-safe key of the feed (ww.ingest.<FeedKey>).
	FeedKey string `json:"feed_key,omitempty"`
	// Group is the OPML category or configured group, if any.
	Group string `json:"group,omitempty"`

	GUID         string   `json:"guid,omitempty"`
	URL          string   `json:"url,omitempty"`
	CanonicalURL string   `json:"canonical_url,omitempty"`
	Title        string   `json:"title"`
	Authors      []string `json:"authors,omitempty"`
	Categories   []string `json:"categories,omitempty"`

	// Content is the body as fetched (HTML or plain text): the item's
	// content if present, else its description/summary.
	Content string `json:"content,omitempty"`
	// Text is the normalised plain text of the body (set by normalize).
	Text string `json:"text,omitempty"`

	// Published is the item's publication time (zero when the feed gave
	// none); Fetched is when Wirewatch fetched it.
	Published time.Time `json:"published,omitzero"`
	Fetched   time.Time `json:"fetched,omitzero"`

	// FeedLanguage is what the feed declared; Language is what normalize
	// decided (ISO 639-1, "" when unknown).
	FeedLanguage string `json:"feed_language,omitempty"`
	Language     string `json:"language,omitempty"`

	// Duplicate is set by dedup when the article repeats an earlier one.
	Duplicate *Duplicate `json:"duplicate,omitempty"`

	// Story groups articles about the same event from different outlets
	// (looser than a duplicate); set by the story stage.
	Story *StoryRef `json:"story,omitempty"`

	Topics   []TopicMatch `json:"topics,omitempty"`
	Entities []Entity     `json:"entities,omitempty"`
}

// StoryRef says which story an article belongs to and how big it is now.
type StoryRef struct {
	ID        string    `json:"id"`
	FirstSeen time.Time `json:"first_seen"`
	// Sources is the number of distinct feeds that carried the story so
	// far, this article included.
	Sources  int  `json:"sources"`
	Breaking bool `json:"breaking,omitempty"`
}

// Duplicate says which earlier article this one repeats, and how we know.
type Duplicate struct {
	Of         string  `json:"of"`
	Kind       string  `json:"kind"` // url, guid, content, near
	Similarity float64 `json:"similarity"`
}

// DuplicateOf returns the id of the article this one duplicates, "" if none.
func (a *Article) DuplicateOf() string {
	if a.Duplicate == nil {
		return ""
	}
	return a.Duplicate.Of
}

// TopicMatch is one topic an article is tagged with, its score in [0, 1],
// and the evidence.
type TopicMatch struct {
	Name    string  `json:"name"`
	Score   float64 `json:"score"`
	Matches []Match `json:"matches"`
	// Severity is "high" when the score reaches the topic's severity
	// threshold, else "normal"; alerts are published under it.
	Severity string `json:"severity,omitempty"`
	// Branch is the query branch that fired, in query syntax.
	Branch string `json:"branch,omitempty"`
}

// Match is one matched term: what the query asked for, the words of the
// article that matched it, the field, and byte offsets into that field
// (Title or Text).
type Match struct {
	Term  string `json:"term"`
	Text  string `json:"text"`
	Field string `json:"field"`
	Start int    `json:"start"`
	End   int    `json:"end"`
}

// Entity is a person, place or organisation the article names, in its
// canonical form.
type Entity struct {
	Type string `json:"type"` // person, place, org
	Name string `json:"name"`
}
