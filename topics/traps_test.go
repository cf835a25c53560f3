package topics

import (
	"slices"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

// TestDefaultPackHeadlines: headlines written for this test. Traps use a
// topic's words in another sense and must not be tagged with it; true
// positives must be.
func TestDefaultPackHeadlines(t *testing.T) {
	cases := []struct {
		title, text string
		want        []string // must be tagged
		not         []string // must not be tagged
	}{
		// Traps.
		{"UEFA sanctions a club over financial fair play breaches", "", nil, []string{"sanctions"}},
		{"FIFA sanctions Argentine federation after fans' chants", "The disciplinary committee fined the club.", nil, []string{"sanctions"}},
		{"Judge sanctions lawyers for AI-invented citations", "", nil, []string{"sanctions"}},
		{"Tennis star faces sanctions for skipping tournaments", "", nil, []string{"sanctions"}},
		{"Energy price cap to rise in April, Ofgem says", "", nil, []string{"sanctions"}},
		{"Coalition talks in Berlin stall as SPD and CDU clash over budget", "", nil, []string{"coalition", "peace-talks"}},
		{"Merz's governing coalition agrees pension reform", "The coalition partners met in the Bundestag.", nil, []string{"coalition"}},
		{"Dutch coalition government collapses over asylum row", "", nil, []string{"coalition"}},
		{"A coalition of 20 states sues over tariffs", "", nil, []string{"coalition"}},
		{"Drone light show dazzles crowds on New Year's Eve", "Thousands of drones lit up the sky over the harbour.", nil, []string{"hybrid-threats"}},
		{"Amazon expands drone deliveries to Texas", "", nil, []string{"hybrid-threats"}},
		{"Ransomware gang hits hospital chain", "A criminal gang demanded payment.", nil, []string{"hybrid-threats"}},
		{"UN appeals for humanitarian aid to Sudan", "", nil, []string{"military-aid"}},
		{"Humanitarian aid trucks enter Gaza", "Aid groups said more was needed.", nil, []string{"military-aid", "ceasefire"}},
		{"Patriots beat Jets in overtime thriller", "", nil, []string{"military-aid"}},
		{"Stocks slide into negative territory", "", nil, []string{"territory"}},
		{"Northern Territory police arrest man after crash", "", nil, []string{"territory"}},
		{"Uncharted territory: AI in the classroom", "", nil, []string{"territory"}},
		{"Bank guarantees deposits after outage", "", nil, []string{"security-guarantees"}},
		{"Peace of mind: five tips for a calmer 2026", "", nil, []string{"peace-talks"}},
		{"Senate holds talks on war powers resolution", "", nil, []string{"peace-talks"}},
		{"Trump talks tariffs with Xi", "", nil, []string{"peace-talks"}},
		// True positives.
		{"EU adopts 20th sanctions package against Russia", "", []string{"sanctions"}, nil},
		{"US Treasury sanctions Iranian oil tankers", "", []string{"sanctions"}, nil},
		{"G7 agrees oil price cap on Russian crude", "", []string{"sanctions"}, nil},
		{"UE przyjmuje nowe sankcje wobec Rosji", "", []string{"sanctions"}, nil},
		{"Coalition of the willing meets in Paris", "", []string{"coalition"}, nil},
		{"Saudi-led coalition strikes separatists in Yemen", "", []string{"coalition"}, nil},
		{"Szczyt koalicji chętnych w Paryżu", "", []string{"coalition"}, nil},
		{"Russia and Ukraine agree 30-day ceasefire", "", []string{"ceasefire"}, nil},
		{"Israel and Hamas trade accusations over truce violations", "", []string{"ceasefire"}, nil},
		{"Waffenruhe in Gaza brüchig", "", []string{"ceasefire"}, nil},
		{"Zelenskyy says security guarantees must be legally binding", "", []string{"security-guarantees"}, nil},
		{"UK and France pledge troops for a reassurance force in Ukraine", "", []string{"security-guarantees", "coalition"}, nil},
		{"Putin demands Ukraine cede territory in Donbas", "", []string{"territory"}, nil},
		{"Trump renews push to annex Greenland", "", []string{"territory"}, nil},
		{"Germany pledges €9bn in military aid to Ukraine", "", []string{"military-aid"}, nil},
		{"US pauses weapons deliveries to Kyiv", "", []string{"military-aid"}, nil},
		{"Finland investigates undersea cable damage", "Officials suspect a ship of Russia's shadow fleet.", []string{"hybrid-threats"}, nil},
		{"Drones spotted over Copenhagen airport force closure", "", []string{"hybrid-threats"}, nil},
		{"GPS jamming disrupts flights over the Baltic", "", []string{"hybrid-threats"}, nil},
		{"Witkoff and Kushner meet Putin for peace talks", "", []string{"peace-talks"}, nil},
		{"Rozmowy pokojowe w Genewie bez przełomu", "", []string{"peace-talks"}, nil},
		{"Friedensgespräche in Genf ohne Durchbruch", "", []string{"peace-talks"}, nil},
	}
	set := Default()
	for _, c := range cases {
		a := &pipeline.Article{Title: c.title, Text: c.text}
		var got []string
		for _, m := range set.Match(a) {
			got = append(got, m.Name)
		}
		for _, w := range c.want {
			if !slices.Contains(got, w) {
				t.Errorf("%q: not tagged %s (got %v)", c.title, w, got)
			}
		}
		for _, n := range c.not {
			if slices.Contains(got, n) {
				t.Errorf("%q: tagged %s, a trap (got %v)", c.title, n, got)
			}
		}
	}
}
