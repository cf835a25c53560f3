package corpus

import (
	"fmt"
	"os"
	"path/filepath"
)

// BBCNews is the folder of the BBC News dataset inside the datasets; its
// documents are in BBCNews/bbc/<label>/NNN.txt.
const BBCNews = "bbc-news"

// ReadLabeledFolders reads a folder that holds one folder per label, each
// holding one document per file (first non-empty line the title, the rest
// the body; UTF-8, or ISO 8859-1 when not valid UTF-8). Files whose names
// start with "." are skipped, as are files directly in dir. The documents
// come sorted by label, then file name (os.ReadDir sorts); ID is
// label/file.
func ReadLabeledFolders(dir string) ([]Labeled, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading labelled folders: %w", err)
	}
	var out []Labeled
	for _, e := range entries {
		if !e.IsDir() || e.Name()[0] == '.' {
			continue
		}
		label := e.Name()
		files, err := os.ReadDir(filepath.Join(dir, label))
		if err != nil {
			return nil, fmt.Errorf("reading label folder: %w", err)
		}
		for _, f := range files {
			if f.IsDir() || f.Name()[0] == '.' {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, label, f.Name()))
			if err != nil {
				return nil, fmt.Errorf("reading document: %w", err)
			}
			title, body := SplitTitle(latin1(b))
			out = append(out, Labeled{ID: label + "/" + f.Name(), Label: label, Title: title, Text: body})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no documents in label folders of %s: %w", dir, os.ErrNotExist)
	}
	return out, nil
}

// ReadBBC reads the BBC News dataset from its folder (the one holding
// bbc/): 2,225 documents in five labels.
func ReadBBC(dir string) ([]Labeled, error) {
	return ReadLabeledFolders(filepath.Join(dir, "bbc"))
}
