package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/learn"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/sink"
)

// labelArticles makes n articles about sanctions (ids s00..) and n about
// other things (ids o00..), from different words and phrasings each time.
func labelArticles(n int, seed uint64) (pos, neg []pipeline.Article) {
	rng := rand.New(rand.NewPCG(seed, 7))
	yes := []string{"embargo", "asset freeze", "export controls", "blacklisted banks", "sanctions package",
		"restrictions on oil exports", "frozen reserves", "travel bans on officials", "trade restrictions", "price cap on crude"}
	no := []string{"football final", "league match", "weather forecast", "film premiere", "election rally",
		"tennis open", "heavy rain", "concert tour", "museum exhibition", "marathon runners"}
	shared := []string{"officials said on monday", "the government", "in the capital", "according to reports",
		"a spokesperson confirmed", "late on friday", "the ministry", "analysts expect"}
	pick := func(ws []string) string { return ws[rng.IntN(len(ws))] }
	mk := func(id string, ws []string) pipeline.Article {
		w, s := pick(ws), pick(shared)
		title := strings.ToUpper(w[:1]) + w[1:] + " " + pick([]string{"announced", "expected", "discussed", "delayed"})
		text := fmt.Sprintf("%s %s, %s. %s%s %s and %s.", pick(shared), pick(ws), pick(shared), strings.ToUpper(s[:1]), s[1:], pick(ws), pick(ws))
		return pipeline.Article{Version: pipeline.ArticleVersion, ID: id, Feed: "Test Wire", FeedKey: "testwire",
			Title: title, Text: text, Language: "en"}
	}
	for i := range n {
		pos = append(pos, mk(fmt.Sprintf("s%02d", i), yes))
		neg = append(neg, mk(fmt.Sprintf("o%02d", i), no))
	}
	return pos, neg
}

// `topics label` end to end: articles archived by the sink on a real
// nats-server are labelled by id (flags and a file), relabelled, listed
// and unlabelled; `topics train` learns from the folder, and the model
// ranks an archived sanctions article it never saw above one about
// something else.
func TestTopicsLabelThenTrain(t *testing.T) {
	e, _, js := natsutil.StartTestServer(t)
	ctx := context.Background()
	if _, err := natsutil.EnsureResources(ctx, js, natsutil.Limits{}); err != nil {
		t.Fatal(err)
	}
	pos, neg := labelArticles(21, 1)
	sk := sink.New(js, sink.Config{}, metrics.NewUnregistered())
	for i := range pos {
		for _, a := range []pipeline.Article{pos[i], neg[i]} {
			if err := sk.Process(ctx, &a); err != nil {
				t.Fatal(err)
			}
		}
	}
	dir := t.TempDir()
	label := func(args ...string) (int, string, string) {
		t.Helper()
		return runCLI(t, append([]string{"topics", "label", "--nats", e.ClientURL(), "--dir", dir, "--topic", "sanctions"}, args...)...)
	}
	// The last of each kind is held out.
	var posIDs, negIDs []string
	for i := range 20 {
		posIDs = append(posIDs, pos[i].ID)
		negIDs = append(negIDs, neg[i].ID)
	}
	// Half by flags, half from a file. o00 is first labelled yes by
	// mistake.
	code, out, errs := label("--positive", strings.Join(posIDs[:10], ","), "--positive", negIDs[0], "--negative", strings.Join(negIDs[1:10], ","))
	if code != 0 {
		t.Fatalf("label: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "sanctions: 11 yes, 9 no in "+filepath.Join(dir, "sanctions")) {
		t.Errorf("label output:\n%s", out)
	}
	var file strings.Builder
	file.WriteString("# more examples\n\n")
	for i := 10; i < 20; i++ {
		fmt.Fprintf(&file, "yes %s\nno  %s   # other\n", posIDs[i], negIDs[i])
	}
	fmt.Fprintf(&file, "no %s\n", negIDs[0])  // the correction
	fmt.Fprintf(&file, "yes %s\n", posIDs[0]) // labelled again: no change
	ids := filepath.Join(t.TempDir(), "ids.txt")
	if err := os.WriteFile(ids, []byte(file.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs = label("--from-file", ids)
	if code != 0 {
		t.Fatalf("label --from-file: exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{
		"no  o00  ", "(moved from yes)",
		"yes s00  ", "(already labelled)",
		"sanctions: 20 yes, 20 no in ",
		"train with: wirewatch topics train --out sanctions.wwm " + filepath.Join(dir, "sanctions"),
	} {
		if !strings.Contains(out, want) {
			t.Errorf("label --from-file output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "sanctions", "yes", "o00.txt")); !os.IsNotExist(err) {
		t.Errorf("o00 still labelled yes after the correction: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "sanctions", "yes", pos[3].ID+".txt"))
	if err != nil || string(b) != pos[3].Title+"\n\n"+pos[3].Text+"\n" {
		t.Errorf("example file = %q, %v; want the title, a blank line and the text", b, err)
	}

	// Unknown ids are named and nothing is written.
	code, _, errs = label("--positive", pos[20].ID+",nosuchid,other-missing")
	if code != 1 || !strings.Contains(errs, "not in the archive (stream ARTICLES), nothing labelled: nosuchid, other-missing") {
		t.Errorf("unknown ids: exit %d: %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "sanctions", "yes", pos[20].ID+".txt")); !os.IsNotExist(err) {
		t.Errorf("an id was labelled although the command failed: %v", err)
	}
	for _, bad := range [][]string{{"--positive", "../escape"}, {"--positive", "s01", "--negative", "s01"}} {
		if code, _, errs := label(bad...); code != 1 {
			t.Errorf("%v: exit %d, want 1: %s", bad, code, errs)
		}
	}
	if code, _, _ := label(); code != 2 {
		t.Errorf("nothing to do: exit %d, want 2", code)
	}

	// List, and unlabel one (then label it back).
	code, out, _ = label("--list")
	if code != 0 || !strings.Contains(out, "yes s05  "+pos[5].Title) || !strings.Contains(out, "no  o05  "+neg[5].Title) {
		t.Errorf("list: exit %d:\n%s", code, out)
	}
	if code, out, errs = label("--remove", "s05"); code != 0 || !strings.Contains(out, "unlabelled s05") || !strings.Contains(out, "19 yes, 20 no") {
		t.Errorf("remove: exit %d: %s%s", code, out, errs)
	}
	if code, _, errs = label("--remove", "s05"); code != 1 || !strings.Contains(errs, "article s05 is not labelled") {
		t.Errorf("remove twice: exit %d: %s", code, errs)
	}
	if code, _, errs = label("--positive", "s05"); code != 0 {
		t.Fatalf("label back: exit %d: %s", code, errs)
	}

	// Train from the folder; score the held-out pair.
	model := filepath.Join(t.TempDir(), "sanctions.wwm")
	code, out, errs = runCLI(t, "topics", "train", "-q", "--out", model, filepath.Join(dir, "sanctions"))
	if code != 0 {
		t.Fatalf("train: exit %d: %s%s", code, out, errs)
	}
	if !strings.Contains(out, "40 examples in 2 labels") {
		t.Errorf("train output:\n%s", out)
	}
	m, err := learn.Load(model)
	if err != nil {
		t.Fatal(err)
	}
	sp, _ := m.Score("yes", pos[20].Title, pos[20].Text)
	sn, _ := m.Score("yes", neg[20].Title, neg[20].Text)
	if sp <= 0 || sn >= 0 || sp <= sn {
		t.Errorf("held out: sanctions article scores %.3f, other %.3f; want > 0 > other", sp, sn)
	}
}
