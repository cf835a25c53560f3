package topics

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/learn"
	"github.com/wirewatch/wirewatch/pipeline"
)

// sanctionsExamples builds a small training set: "yes" articles speak of
// economic restrictions without ever saying "sanctions", "no" articles of
// sport and weather; both share filler words.
func sanctionsExamples(n int) []learn.Example {
	rng := rand.New(rand.NewPCG(7, 7))
	vocab := map[string][]string{
		"yes": {"economic restrictions", "embargo", "asset freeze", "export ban", "tightening", "blacklist", "penalties on banks", "trade curbs"},
		"no":  {"match", "goal", "league", "striker", "rain", "forecast", "storm", "season"},
	}
	filler := strings.Fields("the minister said on monday that officials would meet in the capital later this week and more news is expected")
	var out []learn.Example
	for _, label := range []string{"yes", "no"} {
		for range n {
			var ws []string
			for range 30 {
				if rng.IntN(3) == 0 {
					v := vocab[label]
					ws = append(ws, v[rng.IntN(len(v))])
				} else {
					ws = append(ws, filler[rng.IntN(len(filler))])
				}
			}
			out = append(out, learn.Example{Title: ws[0] + " " + ws[1], Text: strings.Join(ws[2:], " "), Label: label})
		}
	}
	return out
}

// writeModel trains the sanctions model and saves it under dir/models.
func writeModel(t testing.TB, dir string, examples []learn.Example) {
	t.Helper()
	m, err := learn.Train(context.Background(), examples, learn.Options{Bits: 16, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "models"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.Save(filepath.Join(dir, "models", "sanctions.wwm")); err != nil {
		t.Fatal(err)
	}
}

func writeTopics(t testing.TB, dir, body string) string {
	t.Helper()
	path := filepath.Join(dir, "topics.yaml")
	if err := os.WriteFile(path, []byte("version: 1\ntopics:\n"+body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

var (
	// The motivating example: sanctions without the word.
	restrictions = &pipeline.Article{Title: "EU agrees new measures against Moscow",
		Text: "Ministers agreed on tightening economic restrictions, an embargo on oil and an asset freeze."}
	// The word, in an article the model does not recognise.
	sanctionsWord = &pipeline.Article{Title: "Sanctions", Text: "The league said the striker would miss the match in the rain."}
	// Both.
	sanctionsBoth = &pipeline.Article{Title: "New sanctions", Text: "An embargo and an asset freeze mark a tightening of economic restrictions."}
	// Neither.
	weather = &pipeline.Article{Title: "Storm warning", Text: "Rain and a storm are in the forecast for the season opener."}
)

func tagged(s *Set, a *pipeline.Article) (pipeline.TopicMatch, bool) {
	for _, tm := range s.Match(a) {
		if tm.Name == "sanctions" {
			return tm, true
		}
	}
	return pipeline.TopicMatch{}, false
}

func TestModelCombine(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, sanctionsExamples(80))
	cases := []struct {
		combine string // "" for the default
		want    map[*pipeline.Article]bool
	}{
		{"query", map[*pipeline.Article]bool{restrictions: false, sanctionsWord: true, sanctionsBoth: true, weather: false}},
		{"model", map[*pipeline.Article]bool{restrictions: true, sanctionsWord: false, sanctionsBoth: true, weather: false}},
		{"either", map[*pipeline.Article]bool{restrictions: true, sanctionsWord: true, sanctionsBoth: true, weather: false}},
		{"", map[*pipeline.Article]bool{restrictions: true, sanctionsWord: true, sanctionsBoth: true, weather: false}},
		{"both", map[*pipeline.Article]bool{restrictions: false, sanctionsWord: false, sanctionsBoth: true, weather: false}},
	}
	for _, c := range cases {
		body := "  - name: sanctions\n    query: sanction*\n    model: models/sanctions.wwm\n"
		if c.combine != "" {
			body += "    combine: " + c.combine + "\n"
		}
		s, err := LoadFile(writeTopics(t, dir, body))
		if err != nil {
			t.Fatalf("combine %q: %v", c.combine, err)
		}
		for a, want := range c.want {
			if _, got := tagged(s, a); got != want {
				t.Errorf("combine %q, article %q: tagged %v, want %v", c.combine, a.Title, got, want)
			}
		}
	}
}

func TestModelExplains(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, sanctionsExamples(80))
	s, err := LoadFile(writeTopics(t, dir, "  - name: sanctions\n    query: sanction*\n    model: models/sanctions.wwm\n    threshold: 0.6\n"))
	if err != nil {
		t.Fatal(err)
	}
	tm, ok := tagged(s, restrictions)
	if !ok {
		t.Fatalf("the query alone misses it, the model should tag it: %+v", s.MatchAll(restrictions))
	}
	if tm.Score < 0.6 || tm.Score >= 1 || tm.Branch != "model:models/sanctions.wwm" {
		t.Errorf("score %v, branch %q; want >= the threshold 0.6 and the model's branch", tm.Score, tm.Branch)
	}
	if len(tm.Matches) == 0 {
		t.Fatal("a model hit lists no words")
	}
	var terms []string
	for _, m := range tm.Matches {
		terms = append(terms, m.Term)
		src := restrictions.Text
		if m.Field == "title" {
			src = restrictions.Title
		}
		if m.Field != "title" && m.Field != "text" || m.End > len(src) || src[m.Start:m.End] != m.Text {
			t.Errorf("match %+v does not point at its text", m)
		}
		if !strings.Contains(strings.ToLower(m.Text), strings.Fields(m.Term)[0]) {
			t.Errorf("match %+v: text and term differ", m)
		}
	}
	joined := strings.Join(terms, "|")
	if !strings.Contains(joined, "restrictions") && !strings.Contains(joined, "embargo") && !strings.Contains(joined, "freeze") && !strings.Contains(joined, "tightening") {
		t.Errorf("the explanation %v names none of the sanctions words", terms)
	}

	// Query and model both fire: the query's evidence first, then the
	// model's, and the higher score.
	tm, ok = tagged(s, sanctionsBoth)
	if !ok || tm.Matches[0].Term != "sanction*" || tm.Branch != "sanction* OR model:models/sanctions.wwm" || len(tm.Matches) < 2 {
		t.Errorf("both fire: %+v", tm)
	}
}

func TestModelOnlyTopic(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, sanctionsExamples(80))
	s, err := LoadFile(writeTopics(t, dir, "  - name: sanctions\n    model: models/sanctions.wwm\n  - name: weather\n    query: storm OR rain\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Topics()[0]; got.Combine != CombineModel || got.ModelLabel != "yes" || got.Expr != nil {
		t.Errorf("model-only topic: combine %v label %q expr %v", got.Combine, got.ModelLabel, got.Expr)
	}
	got := s.Match(restrictions)
	if len(got) != 1 || got[0].Name != "sanctions" {
		t.Errorf("Match = %+v, want sanctions alone", got)
	}
	got = s.Match(weather)
	if len(got) != 1 || got[0].Name != "weather" {
		t.Errorf("Match = %+v, want weather alone", got)
	}
}

func TestModelErrors(t *testing.T) {
	dir := t.TempDir()
	writeModel(t, dir, sanctionsExamples(20))
	if err := os.WriteFile(filepath.Join(dir, "models", "broken.wwm"), []byte("WWM\x00garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ body, want string }{
		{"  - name: sanctions\n    query: x\n    model: models/missing.wwm\n", "topics.yaml:5:12: topic \"sanctions\": model models/missing.wwm:"},
		{"  - name: sanctions\n    query: x\n    model: models/broken.wwm\n", "topics.yaml:5:12: topic \"sanctions\": model models/broken.wwm:"},
		{"  - name: sanctions\n    query: x\n    model: models\n", "is not a regular file"},
		{"  - name: sanctions\n    query: x\n    model: models/sanctions.wwm\n    combine: sometimes\n", "topics.yaml:6:14"},
		{"  - name: sanctions\n    query: x\n    combine: model\n", "combine and model_label need a model"},
		{"  - name: sanctions\n    model: models/sanctions.wwm\n    combine: both\n", "topics.yaml:5:14: topic \"sanctions\": combine: both needs a query"},
		{"  - name: sanctions\n    model: models/sanctions.wwm\n    model_label: maybe\n", `topics.yaml:5:18: topic "sanctions": the model has no label "maybe" (its labels: no, yes)`},
	}
	for _, c := range cases {
		_, err := LoadFile(writeTopics(t, dir, c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.body, err, c.want)
		}
		var se *SyntaxError
		if err != nil && !errors.As(err, &se) {
			t.Errorf("%s: %T is not a *SyntaxError", c.body, err)
		}
	}
}

// TestModelReload: loading the file again loads the model again; a bad
// model fails the load (the classifier then keeps the old rules).
func TestModelReload(t *testing.T) {
	dir := t.TempDir()
	// A model that knows nothing of restrictions: its "yes" is sport.
	flipped := sanctionsExamples(80)
	for i := range flipped {
		flipped[i].Label = map[string]string{"yes": "no", "no": "yes"}[flipped[i].Label]
	}
	writeModel(t, dir, flipped)
	path := writeTopics(t, dir, "  - name: sanctions\n    model: models/sanctions.wwm\n")
	s, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tagged(s, restrictions); ok {
		t.Fatal("the flipped model tags restrictions")
	}
	writeModel(t, dir, sanctionsExamples(80))
	if s, err = LoadFile(path); err != nil {
		t.Fatal(err)
	}
	if _, ok := tagged(s, restrictions); !ok {
		t.Fatal("after retraining, the reloaded model does not tag restrictions")
	}
	if err := os.WriteFile(filepath.Join(dir, "models", "sanctions.wwm"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(path); err == nil || !strings.Contains(err.Error(), "topics.yaml:4:12") {
		t.Errorf("a broken model: error %v, want one at topics.yaml:4:12", err)
	}
}

func TestCompileModelTopics(t *testing.T) {
	m, err := learn.Train(context.Background(), sanctionsExamples(40), learn.Options{Bits: 14, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Compile([]Topic{{Name: "a", Combine: CombineModel}}); err == nil {
		t.Error("combine: model without a model compiled")
	}
	if _, err := Compile([]Topic{{Name: "a", Model: m, ModelLabel: "maybe"}}); err == nil {
		t.Error("an unknown model label compiled")
	}
	s, err := Compile([]Topic{{Name: "a", Model: m, ModelFile: "m.wwm", Combine: CombineBoth, Query: "sanction*"}, {Name: "b", Model: m, ModelFile: "m.wwm"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.models) != 1 {
		t.Errorf("two topics naming one model hold %d models", len(s.models))
	}
	got := s.Match(sanctionsBoth)
	if len(got) != 2 || got[0].Name != "b" && got[1].Name != "b" {
		t.Errorf("Match = %+v, want a and b", got)
	}
}

func BenchmarkMatchWithModel(b *testing.B) {
	m, err := learn.Train(context.Background(), sanctionsExamples(80), learn.Options{Bits: 16})
	if err != nil {
		b.Fatal(err)
	}
	s, err := Compile([]Topic{{Name: "sanctions", Query: "sanction*", Model: m, ModelFile: "m.wwm"}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s.Match(weather)
	}
}
