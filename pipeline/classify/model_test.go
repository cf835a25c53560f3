package classify

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/learn"
	"github.com/wirewatch/wirewatch/pipeline"
)

// TestReloadModel: a topic naming a model loads it with the topic file;
// Reload loads a retrained model, and a broken one keeps the rules in use.
func TestReloadModel(t *testing.T) {
	dir := t.TempDir()
	modelPath := filepath.Join(dir, "models", "sanctions.wwm")
	if err := os.MkdirAll(filepath.Dir(modelPath), 0o755); err != nil {
		t.Fatal(err)
	}
	train := func(yes, no string) {
		var ex []learn.Example
		for i := range 40 {
			filler := strings.Repeat("the minister said on monday ", 1+i%3)
			ex = append(ex,
				learn.Example{Title: "Report", Text: filler + yes, Label: "yes"},
				learn.Example{Title: "Report", Text: filler + no, Label: "no"})
		}
		m, err := learn.Train(context.Background(), ex, learn.Options{Bits: 14, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Save(modelPath); err != nil {
			t.Fatal(err)
		}
	}
	topicsPath := filepath.Join(dir, "topics.yaml")
	writeFile(t, topicsPath, "version: 1\ntopics:\n  - name: sanctions\n    model: models/sanctions.wwm\n")
	art := func() *pipeline.Article {
		return &pipeline.Article{Title: "Report", Text: "Ministers agreed on tightening economic restrictions."}
	}

	train("league match goal", "economic restrictions embargo")
	c := New(nil, nil, nil)
	if err := c.Reload(topicsPath); err != nil {
		t.Fatal(err)
	}
	a := art()
	_ = c.Process(context.Background(), a)
	if slices.Contains(topicNames(a), "sanctions") {
		t.Fatalf("the first model tags the article: %+v", a.Topics)
	}

	train("economic restrictions embargo", "league match goal")
	if err := c.Reload(topicsPath); err != nil {
		t.Fatal(err)
	}
	a = art()
	_ = c.Process(context.Background(), a)
	if !slices.Contains(topicNames(a), "sanctions") {
		t.Fatalf("the retrained model does not tag the article: %+v", a.Topics)
	}
	kept := c.Rules()

	writeFile(t, modelPath, "WWM\x00 truncated")
	err := c.Reload(topicsPath)
	if err == nil || !strings.Contains(err.Error(), "topics.yaml:4:12") {
		t.Fatalf("Reload with a broken model: %v, want an error at topics.yaml:4:12", err)
	}
	if c.Rules() != kept {
		t.Error("a broken model replaced the rules in use")
	}
	a = art()
	_ = c.Process(context.Background(), a)
	if !slices.Contains(topicNames(a), "sanctions") {
		t.Errorf("after the failed reload the article is no longer tagged: %+v", a.Topics)
	}
}
