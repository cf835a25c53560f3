package backtest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/topics"
)

// archive publishes an archived article as the sink does and returns its
// stream timestamp.
func archive(t *testing.T, js jetstream.JetStream, id, title, text string, current []string, dup bool) time.Time {
	t.Helper()
	a := pipeline.Article{Version: pipeline.ArticleVersion, ID: id, Feed: "Test Wire", FeedKey: "test", Title: title, Text: text, Language: "en"}
	for _, c := range current {
		a.Topics = append(a.Topics, pipeline.TopicMatch{Name: c, Score: 0.5, Matches: []pipeline.Match{{Term: "x", Text: "x", Field: "title"}}})
	}
	if dup {
		a.Duplicate = &pipeline.Duplicate{Of: "first", Kind: "url", Similarity: 1}
	}
	data, err := json.Marshal(&a)
	if err != nil {
		t.Fatal(err)
	}
	ack, err := js.Publish(context.Background(), natsutil.SubjectArticle+".test", data)
	if err != nil {
		t.Fatal(err)
	}
	st, err := js.Stream(context.Background(), natsutil.StreamArticles)
	if err != nil {
		t.Fatal(err)
	}
	m, err := st.GetMsg(context.Background(), ack.Sequence)
	if err != nil {
		t.Fatal(err)
	}
	return m.Time
}

func rules(t *testing.T, q string) *topics.Set {
	t.Helper()
	set, err := topics.Compile([]topics.Topic{{Name: "ceasefire", Query: q}})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func titles(xs []Example) []string {
	var out []string
	for _, x := range xs {
		out = append(out, x.Title)
	}
	return out
}

// The new rule is compared with the tags archived under the same name:
// counts, the articles it adds and removes, examples newest first, and
// only articles archived since the start time.
func TestRunComparesWithArchivedTags(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx := context.Background()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	// Before the window: must not be read.
	archive(t, js, "old", "Truce agreed long ago", "", []string{"ceasefire"}, false)
	since := archive(t, js, "a1", "Ceasefire holds in the south", "", []string{"ceasefire"}, false)
	archive(t, js, "a2", "Truce talks resume", "The truce was broken twice.", nil, false)   // added
	archive(t, js, "a3", "Political truce in parliament", "", []string{"ceasefire"}, false) // removed
	archive(t, js, "a4", "Ceasefire holds in the south", "", []string{"ceasefire"}, true)   // duplicate
	archive(t, js, "a5", "Markets rally", "Stocks rose.", []string{"sanctions"}, false)     // neither
	archive(t, js, "a6", "Gaza truce extended by a week", "", nil, false)                   // added
	js.Publish(ctx, natsutil.SubjectArticle+".test", []byte("not json"))                    // undecodable
	archive(t, js, "a7", "Ceasefire violations reported", "", []string{"ceasefire"}, false)

	var progress [][2]int64
	res, err := Run(ctx, js, Options{
		Topic: "ceasefire", Rules: rules(t, `ceasefire* OR (truce -"political truce")`), Since: since,
		Examples: 2, Progress: func(d, n int64) { progress = append(progress, [2]int64{d, n}) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Articles != 8 || res.Duplicates != 1 || res.Undecodable != 1 {
		t.Errorf("read %d (dup %d, undecodable %d), want 8 (1, 1)", res.Articles, res.Duplicates, res.Undecodable)
	}
	if res.New != 4 || res.Current != 3 || res.Added != 2 || res.Removed != 1 {
		t.Errorf("new %d current %d added %d removed %d, want 4 3 2 1", res.New, res.Current, res.Added, res.Removed)
	}
	if got, want := titles(res.Examples), []string{"Ceasefire violations reported", "Gaza truce extended by a week"}; !slices.Equal(got, want) {
		t.Errorf("examples %q, want %q (newest first, 2)", got, want)
	}
	if got, want := titles(res.AddedExamples), []string{"Gaza truce extended by a week", "Truce talks resume"}; !slices.Equal(got, want) {
		t.Errorf("added %q, want %q", got, want)
	}
	if got := titles(res.RemovedExamples); !slices.Equal(got, []string{"Political truce in parliament"}) {
		t.Errorf("removed %q", got)
	}
	if x := res.AddedExamples[1]; len(x.Matches) == 0 || x.Branch == "" {
		t.Errorf("added example without evidence: %+v", x)
	}
	today := time.Now().UTC().Format(time.DateOnly)
	if len(res.Days) != 1 || res.Days[0] != (Day{Date: today, Articles: 6, New: 4, Current: 3, Added: 2, Removed: 1}) {
		t.Errorf("days %+v", res.Days)
	}
	if len(progress) != 8 || progress[7] != [2]int64{8, 8} || progress[0][1] != 8 {
		t.Errorf("progress %v, want 8 calls ending at 8 of 8", progress)
	}
}

func TestRunEmptyAndErrors(t *testing.T) {
	_, _, js := natsutil.StartTestServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Run(ctx, js, Options{Topic: "ceasefire", Rules: rules(t, "truce"), Since: time.Now()}); err == nil {
		t.Error("no ARTICLES stream: want an error")
	}
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	res, err := Run(ctx, js, Options{Topic: "ceasefire", Rules: rules(t, "truce"), Since: time.Now().Add(-time.Hour)})
	if err != nil || res.Articles != 0 {
		t.Errorf("empty archive: %+v, %v", res, err)
	}
	archive(t, js, "a1", "Truce", "", nil, false)
	res, err = Run(ctx, js, Options{Topic: "ceasefire", Rules: rules(t, "truce"), Since: time.Now().Add(time.Hour)})
	if err != nil || res.Articles != 0 {
		t.Errorf("nothing since: %+v, %v", res, err)
	}
	_, err = Run(ctx, js, Options{Topic: "peace", Rules: rules(t, "truce"), Since: time.Now()})
	if err == nil || err.Error() != fmt.Sprintf("backtest: topic %q is not in the rules", "peace") {
		t.Errorf("unknown topic: %v", err)
	}
}
