package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// AlertVersion is the version of the Alert wire format (JSON).
const AlertVersion = 1

// Alert says that an article matched a topic. It is published on
// ww.alert.<topic>.<severity> with Nats-Msg-Id = ID, so a redelivered
// article never produces a second alert.
type Alert struct {
	Version  int       `json:"v"`
	ID       string    `json:"id"`
	Topic    string    `json:"topic"`
	Score    float64   `json:"score"`
	Severity string    `json:"severity"` // normal, high
	Matches  []Match   `json:"matches"`
	Branch   string    `json:"branch,omitempty"`
	Created  time.Time `json:"created"`
	// Topics lists every topic the article is tagged with, for context.
	Topics  []string     `json:"topics,omitempty"`
	Article AlertArticle `json:"article"`
	// Story is the story the article belongs to, when stories are on.
	// Update is true when the alert reports more sources joining a story
	// already alerted, rather than a new story.
	Story  *StoryRef `json:"story,omitempty"`
	Update bool      `json:"update,omitempty"`
}

// DeliveryKey identifies what a subscriber should receive once: the
// article, or for a story, the story at its current size (so an update
// with more sources is delivered, a redelivery of the same one is not).
func (a *Alert) DeliveryKey() string {
	if a.Story != nil {
		return "story:" + a.Story.ID + ":" + strconv.Itoa(a.Story.Sources)
	}
	return "article:" + a.Article.ID
}

// AlertArticle is the part of the article an alert carries.
type AlertArticle struct {
	ID        string    `json:"id"`
	URL       string    `json:"url"`
	Title     string    `json:"title"`
	Feed      string    `json:"feed"`
	Group     string    `json:"group,omitempty"`
	Published time.Time `json:"published,omitzero"`
	Fetched   time.Time `json:"fetched,omitzero"`
	Language  string    `json:"language,omitempty"`
	Summary   string    `json:"summary,omitempty"`
	Entities  []Entity  `json:"entities,omitempty"`
}

// AlertID is the deterministic id of the alert for an article and a topic.
func AlertID(articleID, topic string) string {
	sum := sha256.Sum256([]byte(articleID + "\x00" + topic))
	return hex.EncodeToString(sum[:16])
}
