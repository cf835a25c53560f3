package corpus

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// AGNews is the folder of the AG News dataset inside the datasets.
const AGNews = "ag-news"

// AGNewsLabels are the four classes, in the order of classes.txt (class
// index 1..4 in the CSV).
var AGNewsLabels = []string{"World", "Sports", "Business", "Sci/Tech"}

// ParseAGNewsCSV reads AG News CSV: "class","title","description" per row,
// class 1..4, with "\" standing for a line break in the text. IDs are the
// 1-based row numbers.
func ParseAGNewsCSV(r io.Reader) ([]Labeled, error) {
	cr := csv.NewReader(bufio.NewReader(r))
	cr.FieldsPerRecord = 3
	unescape := strings.NewReplacer(`\`, "\n")
	var out []Labeled
	for row := 1; ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("AG News row %d: %w", row, err)
		}
		k, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || k < 1 || k > len(AGNewsLabels) {
			return nil, fmt.Errorf("AG News row %d: class %q is not 1..%d", row, rec[0], len(AGNewsLabels))
		}
		out = append(out, Labeled{
			ID:    strconv.Itoa(row),
			Label: AGNewsLabels[k-1],
			Title: strings.TrimSpace(unescape.Replace(rec[1])),
			Text:  strings.TrimSpace(unescape.Replace(rec[2])),
		})
	}
	return out, nil
}

// ReadAGNews reads test.csv of the AG News folder (7,600 rows; the train
// split is not in the shared datasets).
func ReadAGNews(dir string) ([]Labeled, error) {
	f, err := os.Open(filepath.Join(dir, "test.csv"))
	if err != nil {
		return nil, fmt.Errorf("opening AG News: %w", err)
	}
	defer f.Close()
	return ParseAGNewsCSV(f)
}
