package main

import (
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// A CI-sized run of `eval classify` on a subset of each public set: the
// full evaluation runs from the command (figures in BENCHMARKS.md).
func TestEvalClassifySmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the public datasets; -short skips it")
	}
	corpus.Datasets(t)
	code, out, errs := runCLI(t, "eval", "classify", "--limit", "200", "--folds", "3")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	re := regexp.MustCompile(`(?m)^  (wirewatch|naive Bayes) +([0-9.]+)%`)
	got := re.FindAllStringSubmatch(out, -1)
	if len(got) != 6 {
		t.Fatalf("want 3 sets x (ours, naive Bayes) accuracies, got %d:\n%s", len(got), out)
	}
	for _, g := range got {
		acc, _ := strconv.ParseFloat(g[2], 64)
		if acc < 60 { // chance is 12-25%; 200 documents per set
			t.Errorf("%s accuracy %.2f%% on a subset, want >= 60%%:\n%s", g[1], acc, out)
		}
	}
	for _, want := range []string{"Reuters-21578 R8", "BBC News", "AG News", "published", "goal"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// `--set "r8, bbc"` runs both sets: a space after the comma must not drop
// bbc, and an unknown name is reported without its spaces.
func TestEvalClassifySetList(t *testing.T) {
	sets, err := selectClassifySets("r8, bbc")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sets {
		names = append(names, s.name)
	}
	if got := strings.Join(names, ","); got != "r8,bbc" {
		t.Errorf(`--set "r8, bbc" runs %q, want "r8,bbc"`, got)
	}
	code, out, errs := runCLI(t, "eval", "classify", "--set", "r8, nope")
	if code == 0 || !strings.Contains(errs, `unknown set "nope"`) {
		t.Errorf(`--set "r8, nope": exit %d, want an error naming "nope"%s%s`, code, out, errs)
	}
}
