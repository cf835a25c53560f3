package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/learn"
)

// writeExamples writes n articles per label into dir/<label>/NN.txt, each
// built from its label's words and words every label shares.
func writeExamples(t *testing.T, dir string, n int) {
	t.Helper()
	words := map[string][]string{
		"yes": {"embargo", "export restrictions", "asset freeze", "blacklisted banks", "tightening economic restrictions"},
		"no":  {"football", "league match", "weather forecast", "film premiere", "election rally"},
	}
	shared := []string{"officials said on monday", "the government", "in the capital", "according to reports"}
	for label, ws := range words {
		if err := os.MkdirAll(filepath.Join(dir, label), 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			text := fmt.Sprintf("%s %s, %s. %s %s.", shared[i%4], ws[i%5], shared[(i+1)%4], ws[(i+2)%5], shared[(i+3)%4])
			title := strings.ToUpper(ws[(i+1)%5][:1]) + ws[(i+1)%5][1:] + " story"
			if err := os.WriteFile(filepath.Join(dir, label, fmt.Sprintf("%02d.txt", i)), []byte(title+"\n\n"+text+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestTopicsTrain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sanctions")
	writeExamples(t, dir, 25)
	out := filepath.Join(t.TempDir(), "sanctions.wwm")
	code, stdout, stderr := runCLI(t, "topics", "train", "--out", out, dir)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{"50 examples in 2 labels", "precision", "recall", "F1", "confusion", "accuracy 100.00% (10/10)", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	if !strings.Contains(stderr, "[##############################] 2/2") {
		t.Errorf("no finished progress bar on stderr:\n%q", stderr)
	}
	m, err := learn.Load(out)
	if err != nil {
		t.Fatal(err)
	}
	if p := m.Predict("Ministers agree", "The bloc announced an asset freeze and an embargo."); p.Label != "yes" {
		t.Errorf("saved model says %+v for a sanctions story", p)
	}

	if code, _, _ := runCLI(t, "topics", "train"); code == 0 {
		t.Error("no folder: exit 0")
	}
	if code, _, errs := runCLI(t, "topics", "train", t.TempDir()); code == 0 || !strings.Contains(errs, "no documents") {
		t.Errorf("empty folder: exit %d, %s", code, errs)
	}
}
