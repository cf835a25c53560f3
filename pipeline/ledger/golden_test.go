package ledger

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/testkit"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
)

// TestVerdictsGolden guards every verdict the index gives on real text:
// the first 15,000 rss-2026-01 entries, one every 5 seconds of ledger
// time with a 6-hour horizon (so keys expire and segments are sealed
// and merged), every 97th a repeat of an earlier article. The results
// (duplicate, kind, similarity, story, sources, breaking, new, added,
// repeat) are summed up in a digest kept in testdata with the counts that
// make a change readable; a change of the index's layout must leave them
// as they are, a change of the rules rewrites them with -update, on
// purpose.
func TestVerdictsGolden(t *testing.T) {
	ents, err := corpus.ReadRSS2026(corpus.Datasets(t), 15_000)
	if err != nil {
		t.Fatal(err)
	}
	rules := Rules{Horizon: 6 * time.Hour}
	st := NewStage(nil, rules, true, metrics.NewUnregistered())
	x := NewIndex(rules)
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	sum := sha256.New()
	counts := map[string]int{}
	for i, e := range ents {
		id := fmt.Sprint("a", i)
		if i%97 == 5 {
			id = fmt.Sprint("a", i-50)
		}
		a := &pipeline.Article{ID: id, Feed: e.SourceURL, FeedKey: e.SourceURL, Title: e.Title, Text: e.Description, CanonicalURL: e.Link}
		res := x.Apply(uint64(i+1), at.Add(time.Duration(i)*5*time.Second), st.Record(a))
		fmt.Fprintf(sum, "%d %+v %+v %v %v %v\n", i, res.Duplicate, res.Story, res.NewStory, res.Added, res.Repeat)
		switch {
		case res.Repeat:
			counts["repeat"]++
		case res.Duplicate != nil:
			counts["duplicate "+res.Duplicate.Kind]++
		}
		if res.Story != nil && res.Story.Sources > 1 {
			counts["story of 2+ sources"]++
		}
		if res.Story != nil && res.Story.Breaking {
			counts["breaking"]++
		}
		if res.NewStory {
			counts["new story"]++
		}
	}
	if len(x.segs) < 4 || x.exact.old.count() == 0 {
		t.Fatalf("%d segments, %d sealed keys: expiry and sealing not exercised", len(x.segs), x.exact.old.count())
	}
	var got strings.Builder
	fmt.Fprintf(&got, "records %d\ndigest %s\n", len(ents), hex.EncodeToString(sum.Sum(nil)))
	for _, k := range []string{"duplicate url", "duplicate guid", "duplicate content", "duplicate near", "repeat", "new story", "story of 2+ sources", "breaking"} {
		fmt.Fprintf(&got, "%s %d\n", k, counts[k])
	}
	// A layout change must leave it as it is; -update is for a change of
	// the rules.
	testkit.Golden(t, filepath.Join("testdata", "verdicts-rss-2026-01.golden"), got.String(), *update)
}
