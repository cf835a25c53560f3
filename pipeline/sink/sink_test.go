package sink

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

func count(t *testing.T, js jetstream.JetStream, stream, subject string) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), stream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background(), jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	if subject == "" {
		return info.State.Msgs
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n
}

func TestSink(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	s := New(js, Config{MaxArchivedText: 100}, metrics.New(reg))
	a := &pipeline.Article{
		Version: 1, ID: "a1", FeedKey: "feed1", Title: "Truce agreed", Content: "<p>raw html</p>",
		Text: strings.Repeat("long text ", 50), URL: "https://x.example/a?utm_source=rss", CanonicalURL: "https://x.example/a",
		Topics: []pipeline.TopicMatch{
			{Name: "ceasefire", Score: 0.9, Severity: "high"},
			{Name: "peace-talks", Score: 0.6},
		},
	}
	for range 2 { // a redelivery stores nothing twice
		if err := s.Process(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	dup := *a
	dup.ID, dup.Duplicate = "a2", &pipeline.Duplicate{Of: "a1", Kind: "content", Similarity: 1}
	if err := s.Process(ctx, &dup); err != nil {
		t.Fatal(err)
	}

	if n, _ := metrics.Sum(reg, "wirewatch_stage_dropped_total", map[string]string{"stage": "sink", "reason": "duplicate"}); n != 1 {
		t.Errorf("duplicates archived without alert counted %v, want 1", n)
	}
	if n := count(t, js, natsutil.StreamArticles, ""); n != 2 {
		t.Errorf("ARTICLES holds %d, want 2 (the original and its duplicate)", n)
	}
	if n := count(t, js, natsutil.StreamAlerts, "ww.alert.ceasefire.high"); n != 1 {
		t.Errorf("ww.alert.ceasefire.high holds %d, want 1", n)
	}
	if n := count(t, js, natsutil.StreamAlerts, "ww.alert.peace-talks.normal"); n != 1 {
		t.Errorf("ww.alert.peace-talks.normal holds %d, want 1", n)
	}
	if n := count(t, js, natsutil.StreamAlerts, ""); n != 2 {
		t.Errorf("ALERTS holds %d, want 2 (none for the duplicate)", n)
	}

	st, _ := js.Stream(ctx, natsutil.StreamArticles)
	msg, err := st.GetMsg(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	var archived pipeline.Article
	if err := json.Unmarshal(msg.Data, &archived); err != nil {
		t.Fatal(err)
	}
	if archived.Content != "" || len(archived.Text) > 100+len("…") || msg.Subject != "ww.article.feed1" {
		t.Errorf("archive copy: subject %s, content %q, text %d bytes", msg.Subject, archived.Content, len(archived.Text))
	}
	alertMsg, err := js.Stream(ctx, natsutil.StreamAlerts)
	if err != nil {
		t.Fatal(err)
	}
	m, err := alertMsg.GetLastMsgForSubject(ctx, "ww.alert.ceasefire.high")
	if err != nil {
		t.Fatal(err)
	}
	var al pipeline.Alert
	if err := json.Unmarshal(m.Data, &al); err != nil {
		t.Fatal(err)
	}
	if al.Article.URL != "https://x.example/a" || al.ID != pipeline.AlertID("a1", "ceasefire") || len(al.Topics) != 2 {
		t.Errorf("alert: %+v", al)
	}
}

func TestSubjectTokens(t *testing.T) {
	if got := Subject("peace talks.*>", "high"); got != "ww.alert.peace_talks___.high" {
		t.Errorf("Subject = %q", got)
	}
}
