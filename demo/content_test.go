package demo

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

func catalogOrFail(t *testing.T) []Item {
	t.Helper()
	items, err := Catalog()
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func itemText(it Item) string {
	return strings.ToLower(it.Title + "\n" + strings.Join(it.Paragraphs, "\n"))
}

// TestThemesCovered checks, by simple keyword presence, that every theme the
// demo is meant to show has at least one (non-trap) item.
func TestThemesCovered(t *testing.T) {
	items := catalogOrFail(t)
	themes := []struct {
		name string
		any  []string // one of these, lower case
	}{
		{"peace talks", []string{"peace talks", "peace plan", "peace framework"}},
		{"envoys", []string{"envoy"}},
		{"ceasefire proposal", []string{"ceasefire proposal", "proposal for a ceasefire", "partial ceasefire"}},
		{"ceasefire violation", []string{"violating the truce", "violations of a", "ceasefire violations"}},
		{"coalition of the willing", []string{"coalition of the willing"}},
		{"reassurance force", []string{"reassurance force"}},
		{"sanctions package", []string{"sanctions package"}},
		{"asset freeze", []string{"asset freeze", "frozen assets", "immobilised russian"}},
		{"oil price cap", []string{"oil price cap", "price cap on seaborne"}},
		{"export controls", []string{"export controls"}},
		{"economic restrictions", []string{"economic restrictions"}},
		{"security guarantees", []string{"security guarantee"}},
		{"backstop", []string{"backstop"}},
		{"occupied regions", []string{"occupied"}},
		{"line of control", []string{"line of control", "line of contact"}},
		{"air defence aid", []string{"air defence"}},
		{"ammunition", []string{"ammunition", "155mm shells"}},
		{"aid suspension", []string{"paused deliveries", "suspension"}},
		{"undersea cable sabotage", []string{"undersea cable"}},
		{"drones over airports", []string{"drones were spotted above the runway", "drones were reported near its runways"}},
		{"gps jamming", []string{"gps jamming"}},
		{"cyberattack attributed", []string{"military intelligence"}},
	}
	for _, th := range themes {
		found := ""
		for _, it := range items {
			if it.Trap {
				continue
			}
			text := itemText(it)
			for _, kw := range th.any {
				if strings.Contains(text, kw) {
					found = it.ID
				}
			}
		}
		if found == "" {
			t.Errorf("theme %q: no item mentions any of %q", th.name, th.any)
		}
	}

	// The topic pack names: every topic is the intended topic of 3+ items.
	perTopic := map[string]int{}
	for _, it := range items {
		for _, tp := range it.Topics {
			perTopic[tp]++
		}
	}
	for _, tp := range []string{"peace-talks", "ceasefire", "coalition", "sanctions",
		"security-guarantees", "territory", "military-aid", "hybrid-threats"} {
		if perTopic[tp] < 3 {
			t.Errorf("topic %s: only %d items", tp, perTopic[tp])
		}
		delete(perTopic, tp)
	}
	if len(perTopic) > 0 {
		t.Errorf("unknown topics used: %v", perTopic)
	}

	// "Sanctions without the word sanctions" (as in seed 002).
	ok := false
	for _, it := range items {
		if strings.Contains(strings.Join(it.Topics, ","), "sanctions") && !strings.Contains(itemText(it), "sanction") {
			ok = true
		}
	}
	if !ok {
		t.Error("no sanctions item that avoids the word sanctions")
	}
}

// TestSyndicatedDuplicate checks the wire story republished by two other
// outlets: same body, new headline, extra boilerplate, three feeds.
func TestSyndicatedDuplicate(t *testing.T) {
	items := catalogOrFail(t)
	byID := map[string]Item{}
	copies := map[string][]Item{}
	for _, it := range items {
		byID[it.ID] = it
		if it.DuplicateOf != "" {
			copies[it.DuplicateOf] = append(copies[it.DuplicateOf], it)
		}
	}
	found := false
	for origID, cs := range copies {
		orig := byID[origID]
		feeds := map[string]bool{orig.Feed: true}
		for _, c := range cs {
			feeds[c.Feed] = true
			if c.Title == orig.Title {
				t.Errorf("%s: same headline as the original", c.ID)
			}
			body := strings.Join(c.Paragraphs, "\n")
			if !strings.Contains(body, "first published by") {
				t.Errorf("%s: no \"first published by\" boilerplate", c.ID)
			}
			shared := 0
			for _, p := range orig.Paragraphs {
				if strings.Contains(body, p) {
					shared++
				}
			}
			if shared < len(orig.Paragraphs)-1 {
				t.Errorf("%s: shares %d of %d paragraphs with %s", c.ID, shared, len(orig.Paragraphs), origID)
			}
		}
		newsletter := 0
		for _, c := range cs {
			if strings.Contains(strings.Join(c.Paragraphs, "\n"), "Sign up for our newsletter") {
				newsletter++
			}
		}
		if len(feeds) == 3 && newsletter == len(cs) {
			found = true
		}
	}
	if !found {
		t.Errorf("no story in three feeds with newsletter boilerplate on the copies: %v", copies)
	}
}

// TestTraps checks the items that use topic words in another sense.
func TestTraps(t *testing.T) {
	items := catalogOrFail(t)
	want := []struct{ title, word string }{
		{"UEFA sanctions club over fan violence", "sanctions"},
		{"Coalition talks in Berlin stall over budget", "coalition"},
		{"Drone light show opens", "drone"},
		{"Humanitarian aid convoy reaches flood victims", "aid"},
		{"ceasefire in their war of words", "ceasefire"},
		{"union resume peace talks", "peace talks"},
		{"liquidity backstop", "backstop"},
	}
	traps := 0
	for _, it := range items {
		if it.Trap {
			traps++
			if len(it.Topics) != 0 {
				t.Errorf("trap %s has topics", it.ID)
			}
		}
	}
	if traps < 6 || traps > 8 {
		t.Errorf("%d traps, want 6 to 8", traps)
	}
	for _, w := range want {
		ok := false
		for _, it := range items {
			if it.Trap && strings.Contains(it.Title, w.title) && strings.Contains(itemText(it), w.word) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("no trap titled %q using %q", w.title, w.word)
		}
	}
}

// TestNoiseAndVariants checks the scraping noise and the entity spelling
// variants.
func TestNoiseAndVariants(t *testing.T) {
	items := catalogOrFail(t)
	repeated := 0
	for _, it := range items {
		seen := map[string]bool{}
		for _, p := range it.Paragraphs {
			if seen[p] {
				repeated++
			}
			seen[p] = true
		}
	}
	if repeated != 1 {
		t.Errorf("%d repeated paragraphs, want exactly 1 (one noisy item)", repeated)
	}
	all := ""
	for _, it := range items {
		all += it.Title + "\n" + strings.Join(it.Paragraphs, "\n") + "\n"
	}
	for _, v := range []string{"Zelensky ", "Zelenskyy", "Kyiv", "Kiev", "Zaporizhzhia", "Zaporizhia ",
		"Starmer", "Macron", "Merz", "Putin", "Trump", "Rubio", "Witkoff", "Lavrov",
		"London", "Paris", "Riyadh", "Donetsk", "Crimea", "NATO", "EU"} {
		if !strings.Contains(all, v) {
			t.Errorf("no item mentions %q", v)
		}
	}
}

// words splits text into words (letters, digits, apostrophes, hyphens).
func words(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '\'' && r != '’' && r != '-'
	})
}

// TestShape checks the size of the sample: about 48 items, 2 to 4
// paragraphs of 40 to 120 words each (syndication boilerplate and the
// repeated paragraph aside), unique GUIDs and links, five feeds.
func TestShape(t *testing.T) {
	items := catalogOrFail(t)
	if len(items) < 44 || len(items) > 52 {
		t.Errorf("%d items, want about 48", len(items))
	}
	guids, links, feeds := map[string]bool{}, map[string]bool{}, map[string]int{}
	for _, it := range items {
		feeds[it.Feed]++
		if guids[it.GUID] || links[it.Link] {
			t.Errorf("%s: GUID or link not unique", it.ID)
		}
		guids[it.GUID], links[it.Link] = true, true
		if !strings.HasPrefix(it.Link, "https://demo.wirewatch.invalid/"+it.Feed+"/") {
			t.Errorf("%s: link %s", it.ID, it.Link)
		}
		if it.Author == "" || len(it.Categories) == 0 {
			t.Errorf("%s: no author or categories", it.ID)
		}
		if it.DuplicateOf != "" {
			continue
		}
		uniq := map[string]bool{}
		for _, p := range it.Paragraphs {
			uniq[p] = true
			if n := len(words(p)); n < 40 || n > 120 {
				t.Errorf("%s: paragraph of %d words: %.60q", it.ID, n, p)
			}
		}
		if len(uniq) < 2 || len(uniq) > 4 {
			t.Errorf("%s: %d paragraphs", it.ID, len(uniq))
		}
	}
	if len(feeds) != 5 {
		t.Errorf("%d feeds: %v", len(feeds), feeds)
	}
	for f, n := range feeds {
		if n < 8 {
			t.Errorf("feed %s has only %d items", f, n)
		}
	}
}

// TestNotCopiedFromSeeds guards the rule that the sample text is original:
// no run of 8 words from a seed article appears in it.
func TestNotCopiedFromSeeds(t *testing.T) {
	seeds, _ := filepath.Glob("../../shared/seeds/*.txt")
	if len(seeds) == 0 {
		t.Skip("seed articles not found")
	}
	const run = 8
	shingles := map[string]string{}
	for _, path := range seeds {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		w := words(strings.ToLower(string(b)))
		for i := 0; i+run <= len(w); i++ {
			shingles[strings.Join(w[i:i+run], " ")] = filepath.Base(path)
		}
	}
	for _, it := range catalogOrFail(t) {
		w := words(itemText(it))
		for i := 0; i+run <= len(w); i++ {
			if seed, ok := shingles[strings.Join(w[i:i+run], " ")]; ok {
				t.Errorf("%s shares %q with seed %s", it.ID, strings.Join(w[i:i+run], " "), seed)
				break
			}
		}
	}
}

func TestParseCatalogErrors(t *testing.T) {
	head := "feeds:\n  - {key: aa, slug: a-feed, title: A, format: rss}\nitems:\n"
	for name, src := range map[string]string{
		"bad yaml":      "feeds: [",
		"no items":      head,
		"unknown feed":  head + "  - {id: bb-x, title: T, author: A, topics: [x], paragraphs: [p]}\n",
		"no topic/trap": head + "  - {id: aa-x, title: T, author: A, paragraphs: [p]}\n",
		"bad copy":      head + "  - {id: aa-x, title: T, author: A, copy_of: aa-y}\n",
		"twice":         head + "  - {id: aa-x, title: T, author: A, trap: true, paragraphs: [p]}\n  - {id: aa-x, title: T, author: A, trap: true, paragraphs: [p]}\n",
		"bad format":    "feeds:\n  - {key: aa, slug: a-feed, title: A, format: gopher}\nitems: []\n",
	} {
		if _, err := parseCatalog([]byte(src)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
