package tail

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/sink"
)

func publishAlert(t *testing.T, js jetstream.JetStream, a *pipeline.Article, topic string, score float64) {
	t.Helper()
	al := sink.Build(a, pipeline.TopicMatch{Name: topic, Score: score,
		Matches: []pipeline.Match{{Term: topic, Text: topic, Field: "title"}}}, []string{topic}, "normal", time.Now())
	data, _ := json.Marshal(al)
	if _, err := js.Publish(context.Background(), sink.Subject(topic, "normal"), data, jetstream.WithMsgID(al.ID)); err != nil {
		t.Fatal(err)
	}
}

func TestFollowReplaysFiltersAndPrintsJSON(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	a := &pipeline.Article{ID: "a1", Title: "Ceasefire holds", Feed: "Wire", URL: "https://x.example/1",
		Published: time.Date(2026, 1, 6, 10, 0, 0, 0, time.UTC)}
	b := &pipeline.Article{ID: "b1", Title: "New sanctions", Feed: "Wire", URL: "https://x.example/2"}
	publishAlert(t, js, a, "ceasefire", 0.9)
	publishAlert(t, js, b, "sanctions", 0.7)
	publishAlert(t, js, a, "peace-talks", 0.6)

	var out bytes.Buffer
	if err := Follow(ctx, js, Options{All: true, JSON: true, Limit: 3}, &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%s", len(lines), out.String())
	}
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	art, _ := first["article"].(map[string]any)
	if first["topic"] != "ceasefire" || first["score"] != 0.9 || art["id"] != "a1" || art["url"] != "https://x.example/1" ||
		art["title"] != "Ceasefire holds" || art["feed"] != "Wire" || art["published"] != "2026-01-06T10:00:00Z" {
		t.Errorf("first JSON alert lacks fields: %s", lines[0])
	}

	out.Reset()
	if err := Follow(ctx, js, Options{All: true, Topics: []string{"sanctions"}, Limit: 1}, &out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "New sanctions") || strings.Contains(out.String(), "Ceasefire") {
		t.Errorf("topic filter: %s", out.String())
	}
}

// New alerts arrive while following; without --all nothing old is shown.
func TestFollowLive(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	publishAlert(t, js, &pipeline.Article{ID: "old", Title: "Old story"}, "ceasefire", 0.9)
	var out testkit.SyncBuffer
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, js, Options{Limit: 1}, &out) }()
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; ; i++ {
		// A fresh alert each time until the consumer is up to see one.
		publishAlert(t, js, &pipeline.Article{ID: fmt.Sprintf("new-%d", i), Title: "Fresh story"}, "ceasefire", 0.9)
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if s := out.String(); !strings.Contains(s, "Fresh story") || strings.Contains(s, "Old story") {
				t.Errorf("live follow printed:\n%s", s)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("no live alert within 20s")
		}
	}
}

func TestTextNeutralisesTerminalEscapes(t *testing.T) {
	a := &pipeline.Alert{Topic: "ceasefire", Score: 0.5, Article: pipeline.AlertArticle{
		ID: "x", Feed: "Evil\x1b]0;pwned\x07 Feed", Title: "Title\x1b[2J\x1b[31m red\r\nInjected: line\u202e",
		URL: "https://x.example/\x1b[0m"},
		Matches: []pipeline.Match{{Text: "cease\x1bfire", Field: "title"}}}
	s := Format(a)
	if strings.ContainsAny(s, "\x1b\x07\r\u202e") {
		t.Errorf("escape or control characters survive: %q", s)
	}
	if n := strings.Count(s, "\n"); n != 3 {
		t.Errorf("a CR/LF in a title added lines: %d lines in %q", n, s)
	}
}

func TestPrinterGroupsTopicsOfOneArticle(t *testing.T) {
	var out bytes.Buffer
	p := NewPrinter(&out, false)
	for _, topic := range []string{"ceasefire", "peace-talks"} {
		al := sink.Build(&pipeline.Article{ID: "a", Title: "Truce agreed", Feed: "Wire"},
			pipeline.TopicMatch{Name: topic, Score: 0.7}, nil, "normal", time.Now())
		data, _ := json.Marshal(al)
		if err := p.Print(data); err != nil {
			t.Fatal(err)
		}
	}
	if n := strings.Count(out.String(), "Truce agreed"); n != 1 {
		t.Errorf("title printed %d times, want once:\n%s", n, out.String())
	}
	if !strings.Contains(out.String(), "+peace-talks") {
		t.Errorf("second topic not shown:\n%s", out.String())
	}
}
