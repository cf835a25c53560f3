package normalize

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/abadojack/whatlanggo"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// minMeanF1 is the floor for TestExtractionQuality. HTMLToText is not an
// article extractor: it keeps menus, bylines and related links that are
// not in the ground truth, so precision is far below that of readability
// tools (F1 about 0.93-0.96 on this benchmark) while recall stays high.
// Measured mean token F1 over the 181 pages: 0.775 (precision 0.671,
// recall 0.988); over the race-build sample of 61 pages: 0.815. The floor
// is the full-set figure minus 0.05: room for deliberate trade-offs, but a
// real regression (body text lost, scripts or menus kept) falls below it.
const minMeanF1 = 0.72

// TestExtractionQuality measures token F1 of HTMLToText against the
// article bodies of the scrapinghub article-extraction benchmark (181 real
// pages), at ../shared/datasets/article-extraction or
// $WIREWATCH_EXTRACTION_DATASET.
func TestExtractionQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 181 pages; skipped with -short")
	}
	dir := corpus.Dir(t, "WIREWATCH_EXTRACTION_DATASET", "datasets/article-extraction")
	raw, err := os.ReadFile(filepath.Join(dir, "ground-truth.json"))
	if err != nil {
		t.Fatal(err)
	}
	var truth map[string]struct {
		ArticleBody string `json:"articleBody"`
	}
	if err := json.Unmarshal(raw, &truth); err != nil {
		t.Fatalf("ground-truth.json: %v", err)
	}
	ids := slices.Sorted(maps.Keys(truth))
	if raceEnabled {
		// The race detector makes conversion ~10x slower: read every
		// third page in id order (its mean F1 is 0.04 above the full
		// set's; the floor holds for both).
		var sample []string
		for i := 0; i < len(ids); i += 3 {
			sample = append(sample, ids[i])
		}
		ids = sample
	}
	type score struct {
		p, r, f  float64
		fastLang string // language the stopword fast path confirms
		whatlang string // whatlanggo's reliable answer
		err      error
	}
	scores := make([]score, len(ids))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range next {
				page, err := readGzip(filepath.Join(dir, "html", ids[i]+".html.gz"))
				if err != nil {
					scores[i].err = fmt.Errorf("page %s: %w", ids[i], err)
					continue
				}
				text := HTMLToText(page)
				if !utf8.ValidString(text) || strings.Contains(text, "\n\n\n") {
					scores[i].err = fmt.Errorf("page %s: malformed text", ids[i])
					continue
				}
				p, r, f := tokenF1(text, truth[ids[i]].ArticleBody)
				scores[i] = score{p: p, r: r, f: f}
				// The language fast path must agree with whatlanggo.
				sample := languageSample("", text)
				if l, _, _ := dominantLanguage(sample); l != "" {
					scores[i].fastLang = l
					if info := whatlanggo.Detect(sample); info.IsReliable() {
						scores[i].whatlang = iso6391[info.Lang]
					}
				}
			}
		})
	}
	for i := range ids {
		next <- i
	}
	close(next)
	wg.Wait()
	var sumF1, sumP, sumR float64
	n, fast := 0, 0
	for i, s := range scores {
		if s.err != nil {
			t.Fatal(s.err)
		}
		sumP, sumR, sumF1 = sumP+s.p, sumR+s.r, sumF1+s.f
		n++
		if s.fastLang != "" {
			fast++
			if s.whatlang != "" && s.whatlang != s.fastLang {
				t.Errorf("page %s: the language fast path says %s, whatlanggo %s", ids[i], s.fastLang, s.whatlang)
			}
		}
	}
	t.Logf("language: the fast path decides %d of %d pages, all as whatlanggo", fast, n)
	if n == 0 {
		t.Fatal("no pages")
	}
	mean := sumF1 / float64(n)
	t.Logf("%d pages: mean token precision %.3f, recall %.3f, F1 %.3f", n, sumP/float64(n), sumR/float64(n), mean)
	if mean < minMeanF1 {
		t.Errorf("mean token F1 %.3f is below the floor %.2f", mean, minMeanF1)
	}
}

func readGzip(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return "", err
	}
	b, err := io.ReadAll(zr)
	return string(b), err
}

// tokenF1 compares the bags of lower-cased words of got and want.
func tokenF1(got, want string) (precision, recall, f1 float64) {
	words := func(s string) []string {
		return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r)
		})
	}
	g, w := words(got), words(want)
	if len(g) == 0 || len(w) == 0 {
		if len(g) == len(w) {
			return 1, 1, 1
		}
		return 0, 0, 0
	}
	bag := make(map[string]int, len(w))
	for _, x := range w {
		bag[x]++
	}
	common := 0
	for _, x := range g {
		if bag[x] > 0 {
			bag[x]--
			common++
		}
	}
	if common == 0 {
		return 0, 0, 0
	}
	precision = float64(common) / float64(len(g))
	recall = float64(common) / float64(len(w))
	return precision, recall, 2 * precision * recall / (precision + recall)
}
