package dedup

import (
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

// The rss-2026-01 rows: a copy is an entry whose headline (5+ words) an
// earlier entry of another feed had; caught as a duplicate when flagged,
// caught as a story when in the story of the first entry with that title.
func TestSameTitleRows(t *testing.T) {
	title := "Leaders meet in Paris on security guarantees"
	docs := []doc{
		{a: &pipeline.Article{ID: "1", Feed: "a", Title: title}},
		{a: &pipeline.Article{ID: "2", Feed: "b", Title: title}},                      // copy, same story, flagged
		{a: &pipeline.Article{ID: "3", Feed: "c", Title: title}},                      // copy, another story
		{a: &pipeline.Article{ID: "4", Feed: "a", Title: title}},                      // same feed as the first: not a copy
		{a: &pipeline.Article{ID: "5", Feed: "d", Title: "Short title"}},              // too short
		{a: &pipeline.Article{ID: "6", Feed: "e", Title: "Short title"}},              // too short
		{a: &pipeline.Article{ID: "7", Feed: "f", Title: "An unrelated story today"}}, // joins story s1
	}
	flagged := []string{"", "1", "", "", "", "", ""}
	stories := []string{"s1", "s1", "s3", "s1", "s5", "s5", "s1"}

	dup := score("m", "rss-2026-01", docs, flagged)
	if len(dup) != 1 || dup[0].Copies != 2 || dup[0].Caught != 1 || dup[0].Flagged != 1 || dup[0].Wrong != -1 {
		t.Errorf("duplicate row %+v, want 2 copies, 1 caught, 1 flagged, wrong n/a", dup)
	}
	st := sameTitleStories("rss-2026-01", docs, stories)
	// Joined an earlier story: 2, 4, 6 and 7.
	if st.Copies != 2 || st.Caught != 1 || st.Flagged != 4 || st.Wrong != -1 {
		t.Errorf("story row %+v, want 2 copies, 1 in the first's story, 4 joined a story, wrong n/a", st)
	}
}
