package corpus

import (
	"bytes"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// Reuters21578 is the folder of the Reuters-21578 dataset inside the
// datasets.
const Reuters21578 = "reuters-21578"

// R8Labels are the eight classes of R8: the most frequent topics among the
// ModApte documents that carry exactly one topic.
var R8Labels = []string{"acq", "crude", "earn", "grain", "interest", "money-fx", "ship", "trade"}

// ReutersDoc is one <REUTERS> element of the SGML files.
type ReutersDoc struct {
	NewID      string
	LewisSplit string // TRAIN, TEST, NOT-USED
	HasTopics  bool   // TOPICS="YES"
	Topics     []string
	Title      string
	Body       string
}

var (
	reAttr = regexp.MustCompile(`([A-Z]+)="([^"]*)"`)
	reTag  = regexp.MustCompile(`<[^>]*>`)
)

// element returns the content of the first <name ...>...</name> in s, and
// whether there is one.
func element(s, name string) (string, bool) {
	i := strings.Index(s, "<"+name)
	for i >= 0 {
		rest := s[i+1+len(name):]
		if rest != "" && (rest[0] == '>' || rest[0] == ' ') {
			gt := strings.IndexByte(rest, '>')
			if gt < 0 {
				return "", false
			}
			rest = rest[gt+1:]
			end := strings.Index(rest, "</"+name+">")
			if end < 0 {
				return "", false
			}
			return rest[:end], true
		}
		j := strings.Index(rest, "<"+name)
		if j < 0 {
			return "", false
		}
		i += 1 + len(name) + j
	}
	return "", false
}

// ParseReutersSGML reads the <REUTERS> elements of one reut2-NNN.sgm file
// (ISO 8859-1). A document without a <BODY> (the TYPE="BRIEF" and
// "UNPROC" ones) takes the text of its <TEXT> element without the title.
func ParseReutersSGML(b []byte) []ReutersDoc {
	s := latin1(b)
	var out []ReutersDoc
	for {
		i := strings.Index(s, "<REUTERS")
		if i < 0 {
			break
		}
		s = s[i+len("<REUTERS"):]
		gt := strings.IndexByte(s, '>')
		end := strings.Index(s, "</REUTERS>")
		if gt < 0 || end < gt {
			break
		}
		attrs, inner := s[:gt], s[gt+1:end]
		s = s[end:]
		var d ReutersDoc
		for _, a := range reAttr.FindAllStringSubmatch(attrs, -1) {
			switch a[1] {
			case "NEWID":
				d.NewID = a[2]
			case "LEWISSPLIT":
				d.LewisSplit = a[2]
			case "TOPICS":
				d.HasTopics = a[2] == "YES"
			}
		}
		if t, ok := element(inner, "TOPICS"); ok {
			for {
				v, ok := element(t, "D")
				if !ok {
					break
				}
				d.Topics = append(d.Topics, strings.TrimSpace(v))
				t = t[strings.Index(t, "</D>")+4:]
			}
		}
		if t, ok := element(inner, "TITLE"); ok {
			d.Title = sgmlText(t)
		}
		if t, ok := element(inner, "BODY"); ok {
			d.Body = sgmlText(t)
		} else if t, ok := element(inner, "TEXT"); ok {
			if title, ok := element(t, "TITLE"); ok {
				t = strings.Replace(t, "<TITLE>"+title+"</TITLE>", "", 1)
			}
			d.Body = sgmlText(reTag.ReplaceAllString(t, " "))
		}
		out = append(out, d)
	}
	return out
}

// sgmlText unescapes entities, drops control characters and trims.
func sgmlText(s string) string {
	s = html.UnescapeString(s)
	s = strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\n' && r != '\t' {
			return -1
		}
		return r
	}, s)
	return strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "Reuter"))
}

// ReadReuters reads every reut2-*.sgm file of dir in order.
func ReadReuters(dir string) ([]ReutersDoc, error) {
	files, err := filepath.Glob(filepath.Join(dir, "reut2-*.sgm"))
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no reut2-*.sgm files in %s: %w", dir, os.ErrNotExist)
	}
	slices.Sort(files)
	var out []ReutersDoc
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("reading Reuters file: %w", err)
		}
		if !bytes.Contains(b, []byte("<REUTERS")) {
			return nil, fmt.Errorf("%s holds no <REUTERS> element", f)
		}
		out = append(out, ParseReutersSGML(b)...)
	}
	return out, nil
}

// R8 returns the R8 subset of the ModApte split of the documents:
// LEWISSPLIT TRAIN or TEST with TOPICS="YES", exactly one topic, and that
// topic one of R8Labels. On the full corpus that is 5,485 training and
// 2,189 test documents. Text is the body; Title the title.
func R8(docs []ReutersDoc) (train, test []Labeled) {
	for _, d := range docs {
		if !d.HasTopics || len(d.Topics) != 1 || !slices.Contains(R8Labels, d.Topics[0]) {
			continue
		}
		l := Labeled{ID: d.NewID, Label: d.Topics[0], Title: d.Title, Text: d.Body}
		switch d.LewisSplit {
		case "TRAIN":
			l.Split = "train"
			train = append(train, l)
		case "TEST":
			l.Split = "test"
			test = append(test, l)
		}
	}
	return train, test
}
