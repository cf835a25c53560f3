package sources

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
)

// knownReasons are the reasons Parse may give.
var knownReasons = map[string]bool{
	ReasonParse: true, ReasonNotAFeed: true, ReasonCharset: true, ReasonTooLarge: true, ReasonIO: true, ReasonNotText: true,
}

// parseWithin runs Parse with a deadline, so a hang fails the test instead
// of stalling it.
func parseWithin(t *testing.T, d time.Duration, body []byte, feed Feed) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	type out struct {
		n   int
		err error
	}
	done := make(chan out, 1)
	go func() {
		_, arts, err := Parse(bytes.NewReader(body), feed, time.Now())
		done <- out{len(arts), err}
	}()
	select {
	case o := <-done:
		return o.n, o.err
	case <-ctx.Done():
		t.Fatalf("%s: Parse did not finish within %v", feed.URL, d)
		return 0, nil
	}
}

func TestRealFeedCorpus(t *testing.T) {
	dir := corpus.Dataset(t, "feeds")
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	byReason := map[string]int{}
	withArticles, articles := 0, 0
	for _, path := range files {
		rel, _ := filepath.Rel(dir, path)
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		n, err := parseWithin(t, 20*time.Second, body, Feed{URL: "corpus:" + rel})
		switch {
		case err == nil:
			byReason["ok"]++
			articles += n
			if n > 0 {
				withArticles++
			}
		default:
			var fe *FetchError
			if !errors.As(err, &fe) || !knownReasons[fe.Reason] {
				t.Errorf("%s: unclassified error %T: %v", rel, err, err)
				continue
			}
			byReason[fe.Reason]++
			t.Logf("%s: %s", rel, err)
		}
	}
	var keys []string
	for k := range byReason {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		t.Logf("%-12s %d", k, byReason[k])
	}
	t.Logf("%d files, %d gave %d articles", len(files), withArticles, articles)
	if withArticles < len(files)/2 {
		t.Errorf("only %d of %d real feeds gave articles", withArticles, len(files))
	}

	// The same folder through ReadSource (what `wirewatch inspect` does):
	// bad files are reported, classified, and do not stop the rest.
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	arts, err := ReadSource(ctx, nil, dir)
	if len(arts) < articles {
		t.Errorf("ReadSource gave %d articles, Parse %d", len(arts), articles)
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			if r := ReasonOf(e); !knownReasons[r] {
				t.Errorf("ReadSource: unclassified %q: %v", r, e)
			}
		}
	} else if err != nil {
		t.Errorf("ReadSource: %v", err)
	}
}
