package corpus

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseReutersSGML(t *testing.T) {
	sgm := "<!DOCTYPE lewis SYSTEM \"lewis.dtd\">\n" +
		`<REUTERS TOPICS="YES" LEWISSPLIT="TRAIN" CGISPLIT="TRAINING-SET" OLDID="1" NEWID="7">` + "\n" +
		"<TOPICS><D>earn</D></TOPICS>\n<TEXT>&#2;\n<TITLE>PROFIT UP &lt;ABC&gt;</TITLE>\n<BODY>Net caf\xe9 rose.\n Reuter\n&#3;</BODY></TEXT>\n</REUTERS>\n" +
		`<REUTERS TOPICS="YES" LEWISSPLIT="TEST" NEWID="8">` + "\n" +
		"<TOPICS><D>earn</D><D>acq</D></TOPICS>\n<TEXT TYPE=\"BRIEF\">\n<TITLE>TWO</TITLE> brief text only\n</TEXT>\n</REUTERS>\n"
	docs := ParseReutersSGML([]byte(sgm))
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	d := docs[0]
	if d.NewID != "7" || d.LewisSplit != "TRAIN" || !d.HasTopics || len(d.Topics) != 1 || d.Topics[0] != "earn" {
		t.Errorf("attributes: %+v", d)
	}
	if d.Title != "PROFIT UP <ABC>" || d.Body != "Net café rose." {
		t.Errorf("title %q body %q", d.Title, d.Body)
	}
	if docs[1].Body != "brief text only" || len(docs[1].Topics) != 2 {
		t.Errorf("brief: %+v", docs[1])
	}
	train, test := R8(docs)
	if len(train) != 1 || len(test) != 0 {
		t.Errorf("R8: %d train, %d test; want 1, 0 (two topics are not single-label)", len(train), len(test))
	}
}

func TestParseAGNewsCSV(t *testing.T) {
	in := `"3","Title one","Body\line two"` + "\n" + `"1","T2","B2"` + "\n"
	docs, err := ParseAGNewsCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Label != "Business" || docs[0].Text != "Body\nline two" || docs[1].Label != "World" {
		t.Errorf("got %+v", docs)
	}
	if _, err := ParseAGNewsCSV(strings.NewReader(`"9","a","b"`)); err == nil {
		t.Error("class 9 accepted")
	}
}

func TestReadLabeledFolders(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "pos", "a.txt"), "Title A\n\nbody a")
	writeFile(t, filepath.Join(dir, "neg", "b.txt"), "Title \xa3B\nbody b")
	docs, err := ReadLabeledFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 2 || docs[0].Label != "neg" || docs[0].Title != "Title £B" || docs[1].Text != "body a" {
		t.Errorf("got %+v", docs)
	}
}

// The real datasets: the documented sizes of the standard splits.
func TestDatasetSizes(t *testing.T) {
	ds := Datasets(t)
	rdocs, err := ReadReuters(filepath.Join(ds, Reuters21578))
	if err != nil {
		t.Fatal(err)
	}
	train, test := R8(rdocs)
	if len(train) != 5485 || len(test) != 2189 {
		t.Errorf("R8: %d train, %d test; want 5485, 2189", len(train), len(test))
	}
	bbc, err := ReadBBC(filepath.Join(ds, BBCNews))
	if err != nil {
		t.Fatal(err)
	}
	if len(bbc) != 2225 {
		t.Errorf("BBC: %d documents, want 2225", len(bbc))
	}
	ag, err := ReadAGNews(filepath.Join(ds, AGNews))
	if err != nil {
		t.Fatal(err)
	}
	if len(ag) != 7600 {
		t.Errorf("AG News: %d rows, want 7600", len(ag))
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func FuzzParseReutersSGML(f *testing.F) {
	f.Add([]byte(`<REUTERS TOPICS="YES" NEWID="1"><TOPICS><D>earn</D></TOPICS><TEXT><TITLE>T</TITLE><BODY>b</BODY></TEXT></REUTERS>`))
	f.Add([]byte(`<REUTERS NEWID="2"><TEXT TYPE="BRIEF"><TITLE>x</TITLE> y</TEXT></REUTERS><REUTERS`))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, d := range ParseReutersSGML(b) {
			if strings.Contains(d.Body, "</BODY>") {
				t.Errorf("body holds its closing tag: %q", d.Body)
			}
		}
	})
}

func FuzzParseAGNewsCSV(f *testing.F) {
	f.Add(`"3","Title","Body\more"`)
	f.Fuzz(func(t *testing.T, s string) {
		docs, err := ParseAGNewsCSV(strings.NewReader(s))
		for _, d := range docs {
			if err == nil && d.Label == "" {
				t.Errorf("document without a label: %+v", d)
			}
		}
	})
}
