package daemon_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/wirewatch/wirewatch/internal/hostile"
	"github.com/wirewatch/wirewatch/internal/natsutil"
)

// A feed that gives its one story a new GUID on every request: each poll
// publishes a new article key, and the daemon's content dedup recognises
// every copy after the first, so the story alerts once per topic, not once
// per poll.
func TestRotatingGUIDAlertsOnce(t *testing.T) {
	srv := hostile.New(hostile.Options{})
	defer srv.Close()
	var rot hostile.Attack
	for _, a := range hostile.Attacks() {
		if a.Name == "rotating-guid" {
			rot = a
		}
	}
	if rot.Name == "" {
		t.Fatal("hostile server has no rotating-guid attack")
	}
	cfg := testConfig(t.TempDir(), srv.AttackURL(rot))
	cfg.Poll.MinInterval, cfg.Feeds[0].Interval = 200*time.Millisecond, 200*time.Millisecond
	d := start(t, cfg)

	// The feed keeps rotating while the test reads, so wait for a moment
	// where the pipeline is idle and every archived copy after the first
	// was counted a duplicate.
	const polls = 4
	testkit.WaitFor(t, 30*time.Second, fmt.Sprintf("≥ %d copies archived, all but the first duplicates", polls), func() (bool, string) {
		n := streamMsgs(t, d.js, natsutil.StreamArticles)
		dups := counter(t, d.reg, "wirewatch_duplicates_total", nil)
		contentDups := counter(t, d.reg, "wirewatch_duplicates_total", map[string]string{"kind": "content"})
		return n >= polls && idle(t, d.js) && dups == float64(n-1) && contentDups == dups,
			fmt.Sprintf("%d archived, %v duplicates (%v content), %d requests", n, dups, contentDups, srv.Hits(rot.Path()))
	})
	ingested := streamMsgs(t, d.js, natsutil.StreamIngest)
	alerts, _ := readAlerts(t, d.js)
	if len(alerts) == 0 {
		t.Fatal("the story raised no alert; the default topics should tag its peace framework")
	}
	perTopic := map[string]int{}
	first := alerts[0].Article.ID
	for _, a := range alerts {
		perTopic[a.Topic]++
		if a.Article.ID != first {
			t.Errorf("alert %s for copy %s; only the first copy %s may alert", a.Topic, a.Article.ID, first)
		}
	}
	for topic, n := range perTopic {
		if n != 1 {
			t.Errorf("topic %s alerted %d times for %d copies, want 1", topic, n, ingested)
		}
	}
}
