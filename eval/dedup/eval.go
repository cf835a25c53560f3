// Package dedup evaluates duplicate detection on real text: synthetic
// syndication of the bbc-news articles (each mutated the way outlets
// republish wire copy), the cross-outlet copies of rss-2026-01, and a
// 64-bit SimHash (Hamming distance <= 3) baseline on the same data in the
// same run. `wirewatch eval dedup` prints its table.
package dedup

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/wirewatch/wirewatch/internal/corpus"
	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/internal/hash64"
	"github.com/wirewatch/wirewatch/metrics"
	"github.com/wirewatch/wirewatch/pipeline"
	"github.com/wirewatch/wirewatch/pipeline/dedup"
	"github.com/wirewatch/wirewatch/pipeline/ledger"
	"github.com/wirewatch/wirewatch/pipeline/normalize"
	"github.com/wirewatch/wirewatch/pipeline/story"
)

// Mutations are the ways a copy is made, in table order.
var Mutations = []string{"headline", "boilerplate", "drop", "reorder", "summary", "quotes", "combined"}

// Options configure a run.
type Options struct {
	// Datasets is the datasets folder (../shared/datasets).
	Datasets string
	// Params are the near-duplicate parameters under test.
	Params dedup.Params
	// Story is the story configuration under test (zero: the defaults).
	Story story.Config
	// RSSLimit caps the rss-2026-01 entries read (0: all).
	RSSLimit int
	// Progress is told of each article processed (total first).
	Progress func(total int)
	Step     func()
	Seed     uint64
}

// Row is one line of the table.
type Row struct {
	Method, Set string
	// Copies and Caught: copies of a known original, and how many were
	// flagged as duplicates of it.
	Copies, Caught int
	// Flagged is every article flagged; Wrong those flagged as a
	// duplicate of an article they do not copy.
	Flagged, Wrong int
	// ExactGroups and ExactCaught: the corpus's own exact-duplicate
	// groups, and how many had every extra member flagged.
	ExactGroups, ExactCaught int
}

// Recall is Caught/Copies.
func (r Row) Recall() float64 { return ratio(r.Caught, r.Copies) }

// FalseMerges is Wrong/Flagged.
func (r Row) FalseMerges() float64 { return ratio(r.Wrong, r.Flagged) }

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// doc is one article of the evaluation with its ground truth: group is
// the id of the original it copies (its own id for an original; exact
// duplicates in the corpus share the group of their first member).
type doc struct {
	a        *pipeline.Article
	group    string
	mutation string
}

// Run evaluates both methods on both sets.
func Run(ctx context.Context, o Options) ([]Row, error) {
	if o.Seed == 0 {
		o.Seed = 2026
	}
	if o.Progress == nil {
		o.Progress = func(int) {}
	}
	if o.Step == nil {
		o.Step = func() {}
	}
	bbc, err := loadBBC(filepath.Join(o.Datasets, "bbc-news", "bbc"), o.Seed)
	if err != nil {
		return nil, err
	}
	entries, err := corpus.ReadRSS2026(o.Datasets, o.RSSLimit)
	if err != nil {
		return nil, err
	}
	norm := normalize.New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	rss := make([]doc, 0, len(entries))
	for _, e := range entries {
		a := e.Article()
		if err := norm.Process(ctx, a); err != nil {
			continue // an empty entry: the daemon terminates it too
		}
		rss = append(rss, doc{a: a})
	}
	o.Progress(2 * (len(bbc) + len(rss)))

	var rows []Row
	for _, set := range []struct {
		name string
		docs []doc
	}{{"bbc synthetic", bbc}, {"rss-2026-01", rss}} {
		got, stories, err := runMinHash(ctx, set.docs, o.Params, o.Story, o.Step)
		if err != nil {
			return nil, err
		}
		rows = append(rows, score("minhash-lsh", set.name, set.docs, got)...)
		rows = append(rows, score("simhash-64 k=3", set.name, set.docs, runSimHash(set.docs, o.Params, o.Step))...)
		if set.name == "rss-2026-01" {
			rows = append(rows, sameTitleStories(set.name, set.docs, stories))
		}
	}
	return rows, nil
}

// runMinHash runs the dedup stage (in-process ledger) over docs in order and
// returns, per doc, the id it was flagged a duplicate of ("" if none) and
// the story it was put in ("" if none).
func runMinHash(ctx context.Context, docs []doc, p dedup.Params, sc story.Config, step func()) (dupOf, stories []string, err error) {
	rules := ledger.Rules{Near: p, Story: sc}
	st := ledger.NewStage(ledger.NewMemory(rules, nil), rules, true, metrics.NewUnregistered())
	dupOf, stories = make([]string, len(docs)), make([]string, len(docs))
	for i, d := range docs {
		a := *d.a
		if err := st.Process(ctx, &a); err != nil {
			return nil, nil, err
		}
		dupOf[i] = a.DuplicateOf()
		if a.Story != nil {
			stories[i] = a.Story.ID
		}
		step()
	}
	return dupOf, stories, nil
}

// sameTitleStories is the row of the rss-2026-01 copies (an entry whose
// folded title, 5+ words, an earlier entry of another feed had) that are
// in the story of that first entry: what a user alerting once per story
// sees of them. Flagged counts every entry that joined an earlier story.
func sameTitleStories(set string, docs []doc, stories []string) Row {
	r := Row{Method: "minhash-lsh stories", Set: set + " (same title, other feed)", Wrong: -1}
	type first struct{ feed, story string }
	firsts := map[string]first{}
	seen := map[string]bool{}
	for i, d := range docs {
		if stories[i] != "" && seen[stories[i]] {
			r.Flagged++
		}
		seen[stories[i]] = true
		t := strings.Join(fold.Words(d.a.Title), " ")
		if len(strings.Fields(t)) < 5 {
			continue
		}
		f, ok := firsts[t]
		if !ok {
			firsts[t] = first{d.a.Feed, stories[i]}
			continue
		}
		if f.feed != d.a.Feed {
			r.Copies++
			if stories[i] != "" && stories[i] == f.story {
				r.Caught++
			}
		}
	}
	return r
}

// runSimHash flags a doc when an earlier one's 64-bit SimHash of the same
// shingles is within Hamming distance 3 (or they share URL or text, as
// the exact stage would).
func runSimHash(docs []doc, p dedup.Params, step func()) []string {
	out := make([]string, len(docs))
	hashes := make([]uint64, 0, len(docs))
	ids := make([]string, 0, len(docs))
	exact := map[string]string{}
	for i, d := range docs {
		fps := dedup.Fingerprints(d.a)
		for _, fp := range fps {
			if o, ok := exact[fp.Key]; ok && out[i] == "" {
				out[i] = o
			}
		}
		for _, fp := range fps {
			if _, ok := exact[fp.Key]; !ok {
				exact[fp.Key] = d.a.ID
			}
		}
		words := p.Words(d.a.Title, d.a.Text)
		if len(words) >= 8 {
			h := SimHash(words, 3)
			if out[i] == "" {
				for j, o := range hashes {
					if bits.OnesCount64(o^h) <= 3 {
						out[i] = ids[j]
						break
					}
				}
			}
			hashes = append(hashes, h)
			ids = append(ids, d.a.ID)
		}
		step()
	}
	return out
}

// SimHash is Charikar's 64-bit SimHash over word shingles of size k.
func SimHash(words []string, k int) uint64 {
	var v [64]int
	k = min(k, len(words))
	for i := 0; i+k <= len(words); i++ {
		h := hash64.Mix(hash64.String(strings.Join(words[i:i+k], " ")))
		for b := range 64 {
			if h>>b&1 == 1 {
				v[b]++
			} else {
				v[b]--
			}
		}
	}
	var out uint64
	for b := range 64 {
		if v[b] > 0 {
			out |= 1 << b
		}
	}
	return out
}

// score turns flags into rows: on the synthetic set one row per mutation
// and a total; on rss-2026-01 one row, where a copy is an entry whose
// folded title (5+ words) an earlier entry of another feed had.
func score(method, set string, docs []doc, flagged []string) []Row {
	groupOf := map[string]string{}
	for _, d := range docs {
		groupOf[d.a.ID] = d.group
	}
	if set == "rss-2026-01" {
		r := Row{Method: method, Set: set + " (same title, other feed)"}
		firstFeed := map[string]string{}
		for i, d := range docs {
			t := strings.Join(fold.Words(d.a.Title), " ")
			if len(strings.Fields(t)) >= 5 {
				if f, ok := firstFeed[t]; ok && f != d.a.Feed {
					r.Copies++
					if flagged[i] != "" {
						r.Caught++
					}
				} else if !ok {
					firstFeed[t] = d.a.Feed
				}
			}
			if flagged[i] != "" {
				r.Flagged++
			}
		}
		r.Wrong = -1 // no ground truth for other flags
		return []Row{r}
	}
	// The corpus has near duplicates of its own (the same story filed
	// twice, edited): two originals whose exact shingle sets have Jaccard
	// >= 0.5, or one of which holds 80% of the other's shingles, are the
	// same story, and a flag between their groups is right.
	origText := map[string]*pipeline.Article{}
	for _, d := range docs {
		if d.mutation == "original" && d.group == d.a.ID {
			origText[d.a.ID] = d.a
		}
	}
	same := func(g1, g2 string) bool {
		if g1 == g2 {
			return true
		}
		a, b := origText[g1], origText[g2]
		if a == nil || b == nil {
			return false
		}
		j, c := exactSimilarity(a, b)
		return j >= 0.5 || c >= 0.8
	}
	by := map[string]*Row{}
	total := &Row{Method: method, Set: set + " (all)"}
	for _, m := range append([]string{"original"}, Mutations...) {
		by[m] = &Row{Method: method, Set: set + ": " + m}
	}
	exact := map[string][]int{}
	for i, d := range docs {
		r := by[d.mutation]
		if d.mutation != "original" {
			r.Copies++
			total.Copies++
			if flagged[i] != "" && same(groupOf[flagged[i]], d.group) {
				r.Caught++
				total.Caught++
			}
		} else {
			exact[d.group] = append(exact[d.group], i)
		}
		if flagged[i] != "" {
			r.Flagged++
			total.Flagged++
			if !same(groupOf[flagged[i]], d.group) {
				r.Wrong++
				total.Wrong++
			}
		}
	}
	orig := by["original"]
	for _, members := range exact {
		if len(members) < 2 {
			continue
		}
		orig.ExactGroups++
		all := true
		for _, i := range members[1:] {
			all = all && flagged[i] != "" && groupOf[flagged[i]] == docs[i].group
		}
		if all {
			orig.ExactCaught++
		}
	}
	total.ExactGroups, total.ExactCaught = orig.ExactGroups, orig.ExactCaught
	orig.Set = set + ": distinct originals"
	rows := []Row{*orig}
	for _, m := range Mutations {
		rows = append(rows, *by[m])
	}
	return append(rows, *total)
}

// exactSimilarity is the exact Jaccard similarity of two articles' 3-word
// shingle sets and the containment of the smaller in the larger.
func exactSimilarity(a, b *pipeline.Article) (jaccard, containment float64) {
	sa, sb := shingles(a), shingles(b)
	inter := 0
	for s := range sa {
		if _, ok := sb[s]; ok {
			inter++
		}
	}
	union := len(sa) + len(sb) - inter
	if union == 0 || min(len(sa), len(sb)) == 0 {
		return 0, 0
	}
	return float64(inter) / float64(union), float64(inter) / float64(min(len(sa), len(sb)))
}

func shingles(a *pipeline.Article) map[string]struct{} {
	w := fold.Words(a.Text)
	out := map[string]struct{}{}
	for i := 0; i+3 <= len(w); i++ {
		out[strings.Join(w[i:i+3], " ")] = struct{}{}
	}
	return out
}

// loadBBC reads the articles (first line the headline) and makes one copy
// of each per mutation. Exact duplicates within the corpus share a group.
func loadBBC(dir string, seed uint64) ([]doc, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.txt"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no articles in %s/*/*.txt", dir)
	}
	slices.Sort(files)
	rng := rand.New(rand.NewPCG(seed, 1))
	var origs, copies []doc
	byText := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("bbc-news: %w", err)
		}
		title, body := corpus.SplitTitle(string(b))
		rel, _ := filepath.Rel(dir, f)
		id := filepath.ToSlash(rel)
		group := id
		if g, ok := byText[body]; ok {
			group = g
		} else {
			byText[body] = id
		}
		a := &pipeline.Article{ID: id, Title: title, Text: body, Feed: "bbc", URL: "https://bbc.example/" + id}
		origs = append(origs, doc{a: a, group: group, mutation: "original"})
		for _, m := range Mutations {
			t, x := Mutate(rng, m, title, body)
			c := &pipeline.Article{ID: id + "#" + m, Title: t, Text: x, Feed: "outlet-" + m, URL: "https://outlet.example/" + m + "/" + id}
			copies = append(copies, doc{a: c, group: group, mutation: m})
		}
	}
	// Copies arrive after every original, in a shuffled order.
	rng.Shuffle(len(copies), func(i, j int) { copies[i], copies[j] = copies[j], copies[i] })
	return append(origs, copies...), nil
}

var (
	boilerBefore = []string{
		"This story was provided by a news agency and published by our partners.",
		"Updated at 10:42. Our correspondent sends this report from the region.",
		"Advertisement. Subscribe now for unlimited access to all our journalism.",
	}
	boilerAfter = []string{
		"Share this article on social media. Copyright reserved, all rights reserved, no redistribution without permission.",
		"Sign up for our daily newsletter to get the top stories delivered to your inbox every morning.",
		"Related coverage: more stories from our business, politics and world desks are on the front page.",
	}
	headlines = []string{"BREAKING", "Report", "Latest", "In brief", "Explained"}
)

// Mutate makes a copy of an article the way mutation m does.
func Mutate(rng *rand.Rand, m, title, body string) (string, string) {
	paras := splitParas(body)
	switch m {
	case "headline":
		return newHeadline(rng, title), body
	case "boilerplate":
		return title, boilerBefore[rng.IntN(len(boilerBefore))] + "\n\n" + body + "\n\n" + boilerAfter[rng.IntN(len(boilerAfter))]
	case "drop":
		if len(paras) > 2 {
			i := 1 + rng.IntN(len(paras)-1)
			paras = slices.Delete(paras, i, i+1)
		}
		return title, strings.Join(paras, "\n\n")
	case "reorder":
		if len(paras) > 2 {
			rest := paras[1:]
			rng.Shuffle(len(rest), func(i, j int) { rest[i], rest[j] = rest[j], rest[i] })
		}
		return title, strings.Join(paras, "\n\n")
	case "summary":
		var out []string
		words := 0
		for _, p := range paras {
			out = append(out, p)
			if words += len(strings.Fields(p)); words >= 30 {
				break
			}
		}
		return title, strings.Join(out, "\n\n")
	case "quotes":
		r := strings.NewReplacer(`"`, "\u201c", "'", "\u2019", "\u201c", `"`, "\u2019", "'")
		return title, r.Replace(body)
	case "combined":
		t, b := Mutate(rng, "headline", title, body)
		_, b = Mutate(rng, "drop", t, b)
		_, b = Mutate(rng, "quotes", t, b)
		_, b = Mutate(rng, "boilerplate", t, b)
		return t, b
	}
	return title, body
}

func newHeadline(rng *rand.Rand, title string) string {
	w := strings.Fields(title)
	rng.Shuffle(len(w), func(i, j int) { w[i], w[j] = w[j], w[i] })
	return headlines[rng.IntN(len(headlines))] + ": " + strings.Join(w, " ")
}

func splitParas(body string) []string {
	var out []string
	for p := range strings.SplitSeq(body, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Print writes the table.
func Print(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tset\tcopies\tcaught\trecall\tflagged\twrong\tfalse merges\texact groups caught\t")
	for _, r := range rows {
		wrong, fm := fmt.Sprint(r.Wrong), fmt.Sprintf("%.2f%%", 100*r.FalseMerges())
		if r.Wrong < 0 {
			wrong, fm = "n/a", "n/a"
		}
		recall := fmt.Sprintf("%.3f", r.Recall())
		if r.Copies == 0 {
			recall = "-"
		}
		exact := "-"
		if r.ExactGroups > 0 {
			exact = fmt.Sprintf("%d/%d", r.ExactCaught, r.ExactGroups)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%s\t%s\t%s\t\n", r.Method, r.Set, r.Copies, r.Caught, recall, r.Flagged, wrong, fm, exact)
	}
	return tw.Flush()
}
