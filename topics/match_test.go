package topics

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

func mustSet(t testing.TB, queries ...string) *Set {
	t.Helper()
	var ts []Topic
	for i, q := range queries {
		ts = append(ts, Topic{Name: "t" + string(rune('a'+i)), Query: q, Threshold: 0.01})
	}
	s, err := Compile(ts)
	if err != nil {
		t.Fatalf("Compile(%q): %v", queries, err)
	}
	return s
}

func TestQuerySemantics(t *testing.T) {
	type art = pipeline.Article
	cases := []struct {
		query string
		a     art
		want  bool
	}{
		// Words, folding, phrases, wildcards.
		{`zelenskyy`, art{Title: "ZELENSKYY speaks"}, true},
		{`zelensky`, art{Title: "Zelenskyy speaks"}, false},
		{`zelensk*`, art{Title: "Zelenskyy and Zełenski"}, true},
		{`zelenski`, art{Title: "Zełenski w Paryżu"}, true},
		{`russia`, art{Title: "Russia’s war"}, true},
		{`russia`, art{Title: "Russia`s war"}, true},
		{`"russia's war"`, art{Title: "Russia’s war"}, true},
		{`cafe`, art{Text: "Café"}, true},
		{`"peace talks"`, art{Text: "peace and talks"}, false},
		{`"peace talks"`, art{Text: "Peace-talks resume"}, true},
		{`"peace talks"`, art{Title: "peace", Text: "talks"}, false},
		{`negotiat*`, art{Text: "Negotiators met"}, true},
		{`negotiat*`, art{Text: "renegotiation"}, false},
		{`"peace negotiat*"`, art{Text: "peace negotiations stall"}, true},
		{`"negotiat* peace"`, art{Text: "negotiated peace"}, true},
		{`"a b a c"`, art{Text: "x a b a b a c y"}, true},
		{`cease-fire`, art{Text: "a cease fire"}, true},
		{`ceasefire`, art{Text: "a cease-fire"}, false},
		// Boolean operators.
		{`a b`, art{Text: "b and a"}, true},
		{`a b`, art{Text: "a only"}, false},
		{`a OR b`, art{Text: "only b"}, true},
		{`a -b`, art{Text: "a and b"}, false},
		{`a -b`, art{Text: "a alone"}, true},
		{`a NOT (b OR c)`, art{Text: "a c"}, false},
		{`a OR b c`, art{Text: "a"}, true},
		{`(a OR b) c`, art{Text: "a"}, false},
		// NEAR and ONEAR count the words between.
		{`a NEAR/0 b`, art{Text: "b a"}, true},
		{`a NEAR/0 b`, art{Text: "a x b"}, false},
		{`a NEAR/1 b`, art{Text: "a x b"}, true},
		{`a NEAR/2 b`, art{Text: "b x y z a"}, false},
		{`a NEAR/3 b`, art{Text: "b x y z a"}, true},
		{`a ONEAR/3 b`, art{Text: "b x y z a"}, false},
		{`a ONEAR/3 b`, art{Text: "a x y z b"}, true},
		{`a NEAR/3 b`, art{Title: "a", Text: "b"}, false},
		{`a NEAR/1 a`, art{Text: "a"}, false},
		{`a NEAR/1 a`, art{Text: "a x a"}, true},
		{`(a OR b) NEAR/1 (c OR d)`, art{Text: "b x d"}, true},
		{`"x y" NEAR/0 z`, art{Text: "x y z"}, true},
		{`a NEAR/1 b NEAR/1 c`, art{Text: "a b x c"}, true},
		{`a NEAR/1 b NEAR/1 c`, art{Text: "a b x x c"}, false},
		{`title:a NEAR/2 b`, art{Title: "a b", Text: "a b"}, true},
		{`title:a NEAR/2 text:b`, art{Title: "a", Text: "b"}, false},
		// Fields.
		{`title:ukraine`, art{Title: "Ukraine", Text: "x"}, true},
		{`title:ukraine`, art{Title: "x", Text: "Ukraine"}, false},
		{`text:ukraine`, art{Title: "Ukraine"}, false},
		{`text:ukraine`, art{Content: "<p>Ukraine</p>"}, true},
		{`text:ukraine`, art{Text: "x", Content: "Ukraine"}, false},
		{`title:(a OR b) c`, art{Title: "b", Text: "c"}, true},
		{`source:bbc ukraine`, art{Feed: "BBC News - World", Text: "Ukraine"}, true},
		{`source:"bbc news" ukraine`, art{Feed: "BBC News", Text: "Ukraine"}, true},
		{`source:"news bbc" ukraine`, art{Feed: "BBC News", Text: "Ukraine"}, false},
		{`source:reuter* ukraine`, art{Feed: "Reuters World", Text: "Ukraine"}, true},
		{`source:guardian ukraine`, art{Feed: "", FeedURL: "https://www.theguardian.com/world/rss", Text: "Ukraine"}, false},
		{`source:theguardian ukraine`, art{FeedURL: "https://www.theguardian.com/world/rss", Text: "Ukraine"}, true},
		{`-source:bbc ukraine`, art{Feed: "BBC", Text: "Ukraine"}, false},
		{`lang:en ukraine`, art{Language: "en", Text: "Ukraine"}, true},
		{`lang:en ukraine`, art{Language: "en-US", Text: "Ukraine"}, true},
		{`lang:en ukraine`, art{Language: "eng", Text: "Ukraine"}, false},
		{`lang:en-gb ukraine`, art{Language: "en_GB", Text: "Ukraine"}, true},
		{`lang:en-gb ukraine`, art{Language: "en", Text: "Ukraine"}, false},
		{`lang:pl ukraine`, art{FeedLanguage: "pl-PL", Text: "Ukraine"}, true},
		{`lang:pl ukraine`, art{Language: "en", FeedLanguage: "pl", Text: "Ukraine"}, false},
	}
	for _, c := range cases {
		set := mustSet(t, c.query)
		got := len(set.Match(&c.a)) > 0
		if got != c.want {
			t.Errorf("%s on %+v: matched %v, want %v", c.query, c.a, got, c.want)
		}
	}
}

func TestMatchEvidence(t *testing.T) {
	set := mustSet(t, `("peace talks" OR negotiat* OR ceasefire) AND (ukrain* OR kyiv) -uefa`)
	a := &pipeline.Article{
		Title: "Ukraine peace talks resume",
		Text:  "Negotiators met in Kyiv. Kyiv hopes for peace talks soon.",
	}
	ms := set.Match(a)
	if len(ms) != 1 {
		t.Fatalf("got %d matches, want 1", len(ms))
	}
	m := ms[0]
	if want := `("peace talks" OR negotiat*) AND (ukrain* OR kyiv)`; m.Branch != want {
		t.Errorf("branch %q, want %q", m.Branch, want)
	}
	want := []pipeline.Match{
		{Term: "ukrain*", Text: "Ukraine", Field: "title", Start: 0, End: 7},
		{Term: `"peace talks"`, Text: "peace talks", Field: "title", Start: 8, End: 19},
		{Term: "negotiat*", Text: "Negotiators", Field: "text", Start: 0, End: 11},
		{Term: "kyiv", Text: "Kyiv", Field: "text", Start: 19, End: 23},
		{Term: "kyiv", Text: "Kyiv", Field: "text", Start: 25, End: 29},
		{Term: `"peace talks"`, Text: "peace talks", Field: "text", Start: 40, End: 51},
	}
	if !reflect.DeepEqual(m.Matches, want) {
		t.Errorf("matches\n got %+v\nwant %+v", m.Matches, want)
	}
	for _, x := range m.Matches {
		src := a.Text
		if x.Field == "title" {
			src = a.Title
		}
		if src[x.Start:x.End] != x.Text {
			t.Errorf("match %+v: offsets give %q", x, src[x.Start:x.End])
		}
	}
	// ukrain* title (1.5), "peace talks" title+text (1.5+1+0.25),
	// negotiat* text (1), kyiv text twice (1+0.25) = 6.5.
	if wantScore := Score(6.5); m.Score != wantScore {
		t.Errorf("score %v, want %v", m.Score, wantScore)
	}
	if ms := set.Match(&pipeline.Article{Title: "Kyiv peace talks resume"}); len(ms) != 1 || ms[0].Branch != `"peace talks" AND kyiv` {
		t.Errorf("branch for a title-only match: %+v", ms)
	}
	if ms := set.Match(&pipeline.Article{Title: "UEFA peace talks in Kyiv"}); len(ms) != 0 {
		t.Errorf("NOT uefa ignored: %+v", ms)
	}
}

func TestScore(t *testing.T) {
	for _, c := range []struct{ raw, want float64 }{
		{0, 0}, {1, 0.5}, {1.5, 0.6464}, {2, 0.75}, {2.5, 0.8232}, {100, 1},
	} {
		if got := Score(c.raw); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("Score(%v) = %v, want %v", c.raw, got, c.want)
		}
	}
	set := mustSet(t, "ceasefire")
	one := set.MatchAll(&pipeline.Article{Text: "a ceasefire"})
	title := set.MatchAll(&pipeline.Article{Title: "ceasefire"})
	both := set.MatchAll(&pipeline.Article{Title: "ceasefire", Text: "the ceasefire holds"})
	many := set.MatchAll(&pipeline.Article{Text: strings.Repeat("ceasefire ", 40)})
	if one[0].Score != 0.5 || title[0].Score <= one[0].Score || both[0].Score <= title[0].Score {
		t.Errorf("scores text %v, title %v, both %v: want increasing", one[0].Score, title[0].Score, both[0].Score)
	}
	if many[0].Score != Score(1+0.25*maxRepeats) {
		t.Errorf("repeats not saturating: %v", many[0].Score)
	}
	if len(many[0].Matches) != MaxMatches {
		t.Errorf("%d matches listed, want at most %d", len(many[0].Matches), MaxMatches)
	}
}

func TestThresholdAndOrder(t *testing.T) {
	set, err := Compile([]Topic{
		{Name: "strict", Query: "ceasefire", Threshold: 0.7},
		{Name: "loose", Query: "ceasefire OR truce"},
		{Name: "other", Query: "truce", Threshold: 0.3},
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &pipeline.Article{Title: "Truce", Text: "a ceasefire"}
	var names []string
	for _, m := range set.Match(a) {
		names = append(names, m.Name)
	}
	// loose: 2 terms (title 1.5 + text 1) 0.82; other 0.65; strict 0.5 < 0.7.
	if want := []string{"loose", "other"}; !reflect.DeepEqual(names, want) {
		t.Errorf("tagged %v, want %v", names, want)
	}
	if all := set.MatchAll(a); len(all) != 3 {
		t.Errorf("MatchAll gave %d topics, want 3", len(all))
	}
	if tp := set.Topics(); len(tp) != 3 || tp[1].Threshold != DefaultThreshold || tp[0].Threshold != 0.7 {
		t.Errorf("Topics() = %+v", tp)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, ts := range [][]Topic{
		{{Name: "x", Query: "a AND"}},
		{{Name: "x", Query: "NOT a"}},
		{{Name: "x", Query: "lang:en"}},
		{{Name: "x", Query: "a OR -b"}},
		{{Name: "x", Query: "a"}, {Name: "x", Query: "b"}},
		{{Name: "X", Query: "a"}},
		{{Name: "x", Query: "a", Threshold: 2}},
		{{Name: "x", Query: "a", Threshold: 0.8, SeverityThreshold: 0.5}},
	} {
		if _, err := Compile(ts); err == nil {
			t.Errorf("Compile(%+v) succeeded, want an error", ts)
		}
	}
}

func TestMatchEmpty(t *testing.T) {
	set := mustSet(t, "a")
	if ms := set.Match(&pipeline.Article{}); ms != nil {
		t.Errorf("empty article: %+v", ms)
	}
	empty, err := Compile(nil)
	if err != nil {
		t.Fatal(err)
	}
	if ms := empty.Match(&pipeline.Article{Title: "a"}); ms != nil {
		t.Errorf("empty set: %+v", ms)
	}
}

// TestMatchConcurrent checks a Set under -race.
func TestMatchConcurrent(t *testing.T) {
	set := Default()
	arts := []*pipeline.Article{
		{Title: "Ukraine peace talks in Paris", Text: "security guarantees and a ceasefire"},
		{Title: "UEFA sanctions a club", Text: "the club was fined"},
		{Title: "Drone light show", Text: "a drone show over the harbour"},
	}
	want := make([]int, len(arts))
	for i, a := range arts {
		want[i] = len(set.Match(a))
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				k := i % len(arts)
				if got := len(set.Match(arts[k])); got != want[k] {
					t.Errorf("article %d: %d tags, want %d", k, got, want[k])
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestNearRandom checks NEAR and ONEAR between OR-groups of words against
// a brute-force reading of their definition on random texts.
func TestNearRandom(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	vocab := []string{"a", "b", "c", "d", "e"}
	for iter := 0; iter < 2000; iter++ {
		words := make([]string, rng.IntN(30))
		for i := range words {
			words[i] = vocab[rng.IntN(len(vocab))]
		}
		left := []string{vocab[rng.IntN(3)], vocab[rng.IntN(5)]}
		right := []string{vocab[rng.IntN(5)]}
		n := rng.IntN(4)
		ordered := rng.IntN(2) == 0
		op := "NEAR"
		if ordered {
			op = "ONEAR"
		}
		q := fmt.Sprintf("(%s OR %s) %s/%d %s", left[0], left[1], op, n, right[0])
		want := false
		for i, wi := range words {
			for j, wj := range words {
				if i == j || !slices.Contains(left, wi) || wj != right[0] || (ordered && j < i) {
					continue
				}
				if d := i - j; max(d, -d)-1 <= n {
					want = true
				}
			}
		}
		set := mustSet(t, q)
		text := strings.Join(words, " ")
		if got := len(set.MatchAll(&pipeline.Article{Text: text})) > 0; got != want {
			t.Fatalf("%s on %q: %v, want %v", q, text, got, want)
		}
	}
}

// TestNearLongArticle: NEAR between frequent terms that are never close
// must not take time quadratic in their occurrences.
func TestNearLongArticle(t *testing.T) {
	text := strings.Repeat("alpha ", 50000) + strings.Repeat("gap ", 10) + strings.Repeat("beta ", 50000)
	set := mustSet(t, "alpha NEAR/9 beta", "alpha NEAR/10 beta")
	ms := set.MatchAll(&pipeline.Article{Text: text})
	if len(ms) != 1 || ms[0].Name != "tb" {
		t.Fatalf("got %+v, want only tb", ms)
	}
	if len(ms[0].Matches) != 2 {
		t.Errorf("evidence %+v, want the two words either side of the gap", ms[0].Matches)
	}
}
