package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/textcut"
)

// Slack posts Block Kit messages, to an incoming webhook or with a bot
// token through chat.postMessage.
type Slack struct {
	WebhookURL string // incoming webhook; holds a token: never logged
	Token      string // bot token (with Channel)
	Channel    string
	APIURL     string // Web API base, default https://slack.com/api
	Client     *http.Client
}

// Type is "slack".
func (s *Slack) Type() string { return "slack" }

// Send posts one notification.
func (s *Slack) Send(ctx context.Context, n *Notification) error {
	return s.post(ctx, SlackMessage(n))
}

func (s *Slack) post(ctx context.Context, msg map[string]any) error {
	c := s.Client
	if c == nil {
		c = newHTTPClient()
	}
	if s.WebhookURL != "" {
		body, err := json.Marshal(msg)
		if err != nil {
			return permanent("encode", fmt.Errorf("slack message: %w", err))
		}
		_, err = postJSON(ctx, c, "slack webhook", s.WebhookURL, body, nil)
		return err
	}
	msg["channel"] = s.Channel
	body, err := json.Marshal(msg)
	if err != nil {
		return permanent("encode", fmt.Errorf("slack message: %w", err))
	}
	api := s.APIURL
	if api == "" {
		api = "https://slack.com/api"
	}
	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+s.Token)
	answer, err := postJSON(ctx, c, "slack chat.postMessage", strings.TrimRight(api, "/")+"/chat.postMessage", body, hdr)
	if err != nil {
		return err
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(answer, &r); err != nil {
		return transient("slack_api", errors.New("slack chat.postMessage: the answer is not JSON"))
	}
	if r.OK {
		return nil
	}
	err = fmt.Errorf("slack chat.postMessage: %s", textcut.Ellipsize(r.Error, 80))
	switch r.Error {
	case "ratelimited", "service_unavailable", "internal_error", "request_timeout", "fatal_error":
		return transient("slack_api", err)
	}
	return permanent("slack_api", err)
}

// SlackMessage is the Block Kit message for n: the linked title, then
// source, time, topics and story size, then the matched terms. Every text
// from an article is escaped (slackEscape).
func SlackMessage(n *Notification) map[string]any {
	a := &n.Alert
	title := slackEscape(a.Article.Title)
	if title == "" {
		title = "(untitled)"
	}
	head := "*" + title + "*"
	if u := slackURL(a.Article.URL); u != "" {
		head = "*<" + u + "|" + title + ">*"
	}
	if n.Test {
		head = "_Test from Wirewatch_ " + head
	}
	when := a.Article.Published
	if when.IsZero() {
		when = a.Created
	}
	ctx := []string{slackEscape(a.Article.Feed)}
	if !when.IsZero() {
		ctx = append(ctx, fmt.Sprintf("<!date^%d^{date_short_pretty} {time}|%s>", when.Unix(), when.UTC().Format(time.RFC1123)))
	}
	topics := a.Topics
	if len(topics) == 0 {
		topics = []string{a.Topic}
	}
	ctx = append(ctx, "topics: "+slackEscape(strings.Join(topics, ", ")))
	if a.Story != nil {
		s := "story: " + strconv.Itoa(a.Story.Sources) + " sources"
		if a.Story.Breaking {
			s += " (breaking)"
		}
		ctx = append(ctx, s)
	}
	blocks := []any{
		map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": head}},
		map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": strings.Join(ctx, "  ·  ")}}},
	}
	if terms := matchedTerms(a, 8); len(terms) > 0 {
		for i, t := range terms {
			terms[i] = "“" + slackEscape(t) + "”"
		}
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn", "text": "matched: " + strings.Join(terms, ", ")}}})
	}
	return map[string]any{
		"text":         slackEscape(a.Topic + ": " + a.Article.Title),
		"blocks":       blocks,
		"unfurl_links": false,
		"unfurl_media": false,
	}
}

// slackEscape makes article text inert in mrkdwn: &, < and > are escaped
// (so no <!channel>, <@U…> or <url|text> can be formed), and a zero-width
// joiner after @ and around formatting characters keeps @channel, @here,
// @everyone, code spans and emphasis from taking effect.
var slackReplacer = strings.NewReplacer(
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	"@", "@\u2060", "`", "\u2060`\u2060", "*", "\u2060*\u2060", "_", "\u2060_\u2060", "~", "\u2060~\u2060",
	"\r", " ", "\n", " ",
)

func slackEscape(s string) string { return slackReplacer.Replace(s) }

// slackURL is u fit for <u|text>: http(s) only, with |, <, > and spaces
// percent-encoded so it cannot end the link early.
func slackURL(u string) string {
	p, err := url.Parse(u)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
		return ""
	}
	return strings.NewReplacer("|", "%7C", "<", "%3C", ">", "%3E", " ", "%20", "&", "&amp;").Replace(p.String())
}
