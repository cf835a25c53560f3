package normalize

import (
	"strings"
	"testing"

	"github.com/abadojack/whatlanggo"
)

// langSamples are short news paragraphs, one per language the stopword
// fast path knows (written for these tests).
var langSamples = map[string]string{
	"en": "Residents of the island voted on Thursday to back a year-round ferry link to the mainland, ending a dispute that has divided the community for more than a decade. The council said the first sailings could begin next spring if the funding is agreed.",
	"de": "Die Bewohner der Insel haben am Donnerstag für eine ganzjährige Fährverbindung zum Festland gestimmt. Damit endet ein Streit, der die Gemeinde seit mehr als zehn Jahren gespalten hat. Der Gemeinderat teilte mit, dass die ersten Fahrten im nächsten Frühjahr beginnen könnten.",
	"fr": "Les habitants de l'île ont voté jeudi en faveur d'une liaison par ferry toute l'année avec le continent, mettant fin à un conflit qui divise la commune depuis plus de dix ans. Le conseil a indiqué que les premières traversées pourraient commencer au printemps prochain.",
	"es": "Los vecinos de la isla votaron el jueves a favor de una conexión en ferry durante todo el año con el continente, lo que pone fin a una disputa que ha dividido a la comunidad durante más de una década. El ayuntamiento dijo que los primeros viajes podrían empezar la próxima primavera.",
	"it": "Gli abitanti dell'isola hanno votato giovedì a favore di un collegamento in traghetto per tutto l'anno con la terraferma, mettendo fine a una disputa che ha diviso la comunità per più di dieci anni. Il consiglio ha detto che le prime corse potrebbero partire la prossima primavera.",
	"pt": "Os moradores da ilha votaram na quinta-feira a favor de uma ligação de ferry durante todo o ano com o continente, pondo fim a uma disputa que dividiu a comunidade durante mais de uma década. A câmara disse que as primeiras viagens podem começar na próxima primavera.",
	"nl": "De bewoners van het eiland hebben donderdag gestemd voor een veerverbinding met het vasteland die het hele jaar vaart. Daarmee komt een einde aan een conflict dat de gemeenschap meer dan tien jaar heeft verdeeld. De gemeente zei dat de eerste overtochten volgend voorjaar kunnen beginnen.",
	"pl": "Mieszkańcy wyspy zagłosowali w czwartek za całorocznym połączeniem promowym ze stałym lądem. Kończy to spór, który od ponad dziesięciu lat dzielił lokalną społeczność. Rada gminy poinformowała, że pierwsze rejsy mogą rozpocząć się wiosną przyszłego roku.",
	"sv": "Invånarna på ön röstade i torsdags för en färjeförbindelse med fastlandet som går året runt. Det avslutar en tvist som har splittrat samhället i mer än tio år. Kommunen sa att de första turerna kan börja nästa vår om finansieringen blir klar.",
	"ru": "Жители острова в четверг проголосовали за круглогодичное паромное сообщение с материком. Это положило конец спору, который разделял местное сообщество более десяти лет. В совете сообщили, что первые рейсы могут начаться уже следующей весной.",
	"uk": "Мешканці острова в четвер проголосували за цілорічне поромне сполучення з материком. Це поклало край суперечці, яка розділяла громаду понад десять років. У раді повідомили, що перші рейси можуть початися вже наступної весни.",
	"da": "Beboerne på øen stemte torsdag for en færgeforbindelse til fastlandet hele året. Det afslutter en strid, som har splittet lokalsamfundet i mere end ti år. Kommunen sagde, at de første overfarter kan begynde næste forår, hvis finansieringen kommer på plads.",
	"nb": "Innbyggerne på øya stemte torsdag for en fergeforbindelse til fastlandet hele året. Det avslutter en strid som har splittet lokalsamfunnet i mer enn ti år. Kommunen sa at de første overfartene kan starte neste vår dersom finansieringen kommer på plass.",
	"ca": "Els veïns de l'illa van votar dijous a favor d'una connexió en transbordador durant tot l'any amb el continent, cosa que posa fi a una disputa que ha dividit la comunitat durant més d'una dècada. L'ajuntament va dir que els primers viatges podrien començar la primavera vinent.",
	"sk": "Obyvatelia ostrova vo štvrtok hlasovali za celoročné trajektové spojenie s pevninou. Tým sa skončil spor, ktorý miestnu komunitu rozdeľoval viac ako desať rokov. Rada uviedla, že prvé plavby by sa mohli začať budúcu jar, ak sa podarí zabezpečiť financovanie.",
	"ro": "Locuitorii insulei au votat joi în favoarea unei legături cu feribotul pe tot parcursul anului cu continentul, punând capăt unei dispute care a divizat comunitatea timp de peste un deceniu. Consiliul a spus că primele curse ar putea începe în primăvara viitoare.",
	"hr": "Stanovnici otoka u četvrtak su glasali za cjelogodišnju trajektnu vezu s kopnom. Time je okončan spor koji je više od deset godina dijelio lokalnu zajednicu. Vijeće je priopćilo da bi prva putovanja mogla početi sljedećeg proljeća ako se osigura financiranje.",
	"cs": "Obyvatelé ostrova ve čtvrtek hlasovali pro celoroční trajektové spojení s pevninou. Tím skončil spor, který místní komunitu rozděloval více než deset let. Rada uvedla, že první plavby by mohly začít příští jaro, pokud se podaří zajistit financování.",
}

// TestLanguageSamples: the stopword fast path decides every sample, as
// its own language, and whatlanggo, where it is reliable, agrees. The
// exception is Norwegian, too close to Danish for either: the declared
// language decides.
func TestLanguageSamples(t *testing.T) {
	for lang, text := range langSamples {
		if lang == "nb" {
			if got, _, _ := dominantLanguage(text); got != "" && got != lang {
				t.Errorf("nb sample: the fast path says %q", got)
			}
			if got := detectLanguage("", text, "nb-NO"); got != "nb" {
				t.Errorf("nb sample declared nb-NO: detected %q", got)
			}
			continue
		}
		if got, _, _ := dominantLanguage(text); got != lang {
			t.Errorf("%s sample: the fast path says %q", lang, got)
		}
		info := whatlanggo.Detect(text)
		if got := iso6391[info.Lang]; info.IsReliable() && got != lang {
			t.Errorf("%s sample: whatlanggo says %q (confidence %.2f)", lang, got, info.Confidence)
		}
		for _, declared := range []string{"", lang, "en", "de"} {
			if got := detectLanguage("", text, declared); got != lang {
				t.Errorf("%s sample declared %q: detected %q", lang, declared, got)
			}
		}
	}
}

// TestLanguageFastPathUndecided: text in a script or language the fast
// path does not know is left to whatlanggo.
func TestLanguageFastPathUndecided(t *testing.T) {
	for _, text := range []string{
		"Kindle for PCをCtrl＋Alt＋Kのショートカットキーで立ち上がらなくする方法についての記事です。",
		"Η κυβέρνηση ανακοίνωσε νέα μέτρα για την ενίσχυση της οικονομίας και των νοικοριών.",
		"Saarten asukkaat äänestivät torstaina ympärivuotisen lauttayhteyden puolesta mantereelle.",
		"", "12345 67890",
	} {
		if got, _, _ := dominantLanguage(text); got != "" {
			t.Errorf("dominantLanguage(%q) = %q, want undecided", text, got)
		}
	}
}

func TestStopwordListsAreLowerCase(t *testing.T) {
	for i, words := range stopwordLists {
		for _, w := range words {
			if w != strings.ToLower(w) {
				t.Errorf("%s: %q is not lower case", stopwordLangs[i], w)
			}
		}
	}
}
