package notify

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"

	"github.com/wirewatch/wirewatch/internal/textcut"
	"github.com/wirewatch/wirewatch/pipeline"
)

func digestTitle(d *Digest) string {
	what := "digest"
	if d.Reason == "rate_limit" {
		what = "digest (rate limit reached)"
	}
	return fmt.Sprintf("Wirewatch %s: %d articles", what, len(d.Alerts))
}

func storyLabel(s *pipeline.StoryRef) string {
	if s == nil {
		return ""
	}
	l := "story: " + strconv.Itoa(s.Sources) + " sources"
	if s.Breaking {
		l += " (breaking)"
	}
	return l
}

// SlackDigest is the Block Kit message of a digest: a header, then per
// topic a section listing its stories' articles (linked titles, source),
// within Slack's limits of 50 blocks and 3000 characters a section.
func SlackDigest(d *Digest) map[string]any {
	const maxBlocks, maxText = 48, 2900
	blocks := []any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn",
		"text": "*" + slackEscape(digestTitle(d)) + "*  ·  " + slackEscape(d.Schedule)}}}
	shown := 0
	full := false
	for _, g := range d.Groups() {
		if full {
			break
		}
		var lines []string
		flush := func() bool {
			if len(lines) == 0 {
				return true
			}
			if len(blocks) >= maxBlocks {
				return false
			}
			blocks = append(blocks, map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": strings.Join(lines, "\n")}})
			lines = nil
			return true
		}
		lines = append(lines, "*"+slackEscape(g.Topic)+"*")
		size := len(lines[0])
		for _, st := range g.Stories {
			for i, a := range st.Alerts {
				title := slackEscape(a.Article.Title)
				if u := slackURL(a.Article.URL); u != "" {
					title = "<" + u + "|" + title + ">"
				}
				line := "• " + title + " · " + slackEscape(a.Article.Feed)
				if i > 0 {
					line = "    ◦ " + title + " · " + slackEscape(a.Article.Feed)
				} else if st.Story != nil {
					line += " · " + storyLabel(st.Story)
				}
				line = textcut.Ellipsize(line, 1000)
				if size+len(line)+1 > maxText {
					if !flush() {
						full = true
						break
					}
					size = 0
				}
				lines = append(lines, line)
				size += len(line) + 1
				shown++
			}
			if full {
				break
			}
		}
		if !full && !flush() {
			full = true
		}
	}
	if shown < len(d.Alerts) {
		blocks = append(blocks, map[string]any{"type": "context", "elements": []any{map[string]any{"type": "mrkdwn",
			"text": fmt.Sprintf("…and %d more articles", len(d.Alerts)-shown)}}})
	}
	return map[string]any{"text": slackEscape(digestTitle(d)), "blocks": blocks, "unfurl_links": false, "unfurl_media": false}
}

// SendDigest posts the digest as one Block Kit message.
func (s *Slack) SendDigest(ctx context.Context, d *Digest) error {
	return s.post(ctx, SlackDigest(d))
}

// WebhookDigest describes the digest in a "digest" webhook document.
type WebhookDigest struct {
	Reason   string    `json:"reason"` // digest, rate_limit
	Schedule string    `json:"schedule"`
	Until    time.Time `json:"until"`
	Count    int       `json:"count"`
}

// SendDigest posts one document of type "digest" with the alerts as a
// list, each article once.
func (w *Webhook) SendDigest(ctx context.Context, d *Digest) error {
	return w.post(ctx, WebhookPayload{Version: WebhookVersion, Type: "digest", ID: d.ID, Subscription: d.Subscription,
		Digest: &WebhookDigest{Reason: d.Reason, Schedule: d.Schedule, Until: d.Until.UTC(), Count: len(d.Alerts)}, Alerts: d.Alerts})
}

var digestHTML = template.Must(template.New("digest").Parse(`<!doctype html>
<html><body style="font-family:sans-serif">
<h2 style="margin:0">{{.Title}}</h2>
<p style="color:#555">{{.Schedule}}</p>
{{range .Groups}}<h3>{{.Topic}}</h3>
<ul>{{range .Stories}}<li>{{range $i, $a := .Articles}}{{if $i}}<br>&nbsp;&nbsp;◦ {{end}}{{if $a.URL}}<a href="{{$a.URL}}">{{$a.Title}}</a>{{else}}{{$a.Title}}{{end}} · {{$a.Feed}} · {{$a.When}}{{end}}{{if .Story}} <span style="color:#555">({{.Story}})</span>{{end}}</li>
{{end}}</ul>
{{end}}</body></html>
`))

type digestArticle struct {
	URL                     template.URL
	Title, Feed, When, Link string
}

// SendDigest sends one multipart mail, grouped by topic and story.
func (e *Email) SendDigest(ctx context.Context, d *Digest) error {
	now := time.Now
	if e.Now != nil {
		now = e.Now
	}
	type story struct {
		Story    string
		Articles []digestArticle
	}
	type group struct {
		Topic   string
		Stories []story
	}
	var groups []group
	var text strings.Builder
	fmt.Fprintf(&text, "%s\n%s\n", digestTitle(d), d.Schedule)
	var topics []string
	for _, g := range d.Groups() {
		topics = append(topics, g.Topic)
		gv := group{Topic: g.Topic}
		fmt.Fprintf(&text, "\n== %s ==\n", g.Topic)
		for _, st := range g.Stories {
			sv := story{Story: storyLabel(st.Story)}
			for i, a := range st.Alerts {
				when := a.Article.Published
				if when.IsZero() {
					when = a.Created
				}
				av := digestArticle{Title: a.Article.Title, Feed: a.Article.Feed, When: when.UTC().Format("2006-01-02 15:04 MST"), Link: a.Article.URL}
				if slackURL(a.Article.URL) != "" {
					av.URL = template.URL(a.Article.URL)
				}
				sv.Articles = append(sv.Articles, av)
				bullet := "* "
				if i > 0 {
					bullet = "    - "
				}
				fmt.Fprintf(&text, "%s%s\n  %s · %s · %s\n", bullet, av.Title, av.Link, av.Feed, av.When)
			}
			if sv.Story != "" {
				fmt.Fprintf(&text, "  (%s)\n", sv.Story)
			}
			gv.Stories = append(gv.Stories, sv)
		}
		groups = append(groups, gv)
	}
	var html bytes.Buffer
	if err := digestHTML.Execute(&html, map[string]any{"Title": digestTitle(d), "Schedule": d.Schedule, "Groups": groups}); err != nil {
		return permanent("encode", fmt.Errorf("digest HTML: %w", err))
	}
	subject := fmt.Sprintf("[wirewatch] digest: %d articles (%s)", len(d.Alerts), strings.Join(topics, ", "))
	msg, err := e.compose(now(), d.ID, d.Subscription, subject, text.String(), html.String())
	if err != nil {
		return permanent("encode", err)
	}
	return e.deliver(ctx, msg)
}
