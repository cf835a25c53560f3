package normalize

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

func TestLanguage(t *testing.T) {
	cases := []struct {
		name, title, text, feedLang, want string
	}{
		{
			name:  "english",
			title: "Ferry link approved",
			text: "Residents of the island voted on Thursday to back a year-round ferry link to the mainland, " +
				"ending a dispute that has divided the community for more than a decade. The council said " +
				"the first sailings could begin next spring if the funding is agreed.",
			feedLang: "de",
			want:     "en",
		},
		{
			name:  "german",
			title: "Fährverbindung beschlossen",
			text: "Die Bewohner der Insel haben am Donnerstag für eine ganzjährige Fährverbindung zum Festland " +
				"gestimmt. Damit endet ein Streit, der die Gemeinde seit mehr als zehn Jahren gespalten hat. " +
				"Der Gemeinderat teilte mit, dass die ersten Fahrten im nächsten Frühjahr beginnen könnten.",
			want: "de",
		},
		{
			name:  "polish",
			title: "Połączenie promowe zatwierdzone",
			text: "Mieszkańcy wyspy zagłosowali w czwartek za całorocznym połączeniem promowym ze stałym lądem. " +
				"Kończy to spór, który od ponad dziesięciu lat dzielił lokalną społeczność. Rada gminy " +
				"poinformowała, że pierwsze rejsy mogą rozpocząć się wiosną przyszłego roku.",
			feedLang: "en",
			want:     "pl",
		},
		{
			// Not a fast-path language: whatlanggo decides.
			name: "finnish",
			text: "Saaren asukkaat äänestivät torstaina ympärivuotisen lauttayhteyden puolesta mantereelle. " +
				"Päätös päättää kiistan, joka on jakanut yhteisöä yli kymmenen vuoden ajan. Kunta kertoi, " +
				"että ensimmäiset vuorot voisivat alkaa ensi keväänä, jos rahoitus varmistuu.",
			feedLang: "en",
			want:     "fi",
		},
		{
			name: "greek",
			text: "Οι κάτοικοι του νησιού ψήφισαν την Πέμπτη υπέρ μιας ακτοπλοϊκής σύνδεσης με την ηπειρωτική " +
				"χώρα όλο τον χρόνο. Έτσι τελειώνει μια διαμάχη που χώριζε την κοινότητα για περισσότερα από δέκα χρόνια.",
			want: "el",
		},
		{name: "short title uses feed language", title: "Ferry vote passes", feedLang: "en-GB", want: "en"},
		{name: "feed language upper case", title: "Ferry vote passes", feedLang: "EN", want: "en"},
		{name: "feed language underscore", title: "Vote", feedLang: "pt_BR", want: "pt"},
		{name: "feed language ISO 639-3", title: "Vote", feedLang: "deu", want: "de"},
		{name: "feed language garbage", title: "Vote", feedLang: "english?", want: ""},
		{name: "nothing known", title: "Vote", want: ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := &pipeline.Article{Title: c.title, Content: c.text, FeedLanguage: c.feedLang}
			if err := New(nil).Process(context.Background(), a); err != nil {
				t.Fatal(err)
			}
			if a.Language != c.want {
				t.Errorf("Language = %q, want %q", a.Language, c.want)
			}
		})
	}
}

func TestNormalizeLangTag(t *testing.T) {
	for in, want := range map[string]string{
		"en-US": "en", "EN": "en", "en_GB": "en", " fr ": "fr", "eng": "en",
		"pol": "pl", "": "", "x": "", "e1": "", "zzz": "", "english": "",
	} {
		if got := normalizeLangTag(in); got != want {
			t.Errorf("normalizeLangTag(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestProcess(t *testing.T) {
	n := New(nil)
	if n.Name() != "normalize" {
		t.Errorf("Name() = %q", n.Name())
	}
	a := &pipeline.Article{
		ID:      "a1",
		Title:   "  <b>Tom &amp;amp; Jerry</b>\n\tback\x07 on screen ",
		Content: "<p>Tom &amp; Jerry return.</p><p>TOM &amp; JERRY back on screen</p><p>Tom &amp; Jerry return!</p><p>Filming starts in May.</p>",
		URL:     "HTTPS://Example.com:443/tv/tom-jerry?utm_source=rss#top",
	}
	if err := n.Process(context.Background(), a); err != nil {
		t.Fatal(err)
	}
	if want := "Tom & Jerry back on screen"; a.Title != want {
		t.Errorf("Title = %q, want %q", a.Title, want)
	}
	if want := "Tom & Jerry return.\n\nFilming starts in May."; a.Text != want {
		t.Errorf("Text = %q, want %q", a.Text, want)
	}
	if want := "https://example.com/tv/tom-jerry"; a.CanonicalURL != want {
		t.Errorf("CanonicalURL = %q, want %q", a.CanonicalURL, want)
	}
}

func TestProcessCanonicalURLSource(t *testing.T) {
	cases := []struct{ url, guid, want string }{
		{"https://example.com/a?utm_source=x", "https://example.com/guid", "https://example.com/a"},
		{"", "https://Example.com/b#x", "https://example.com/b"},
		{"", "urn:uuid:1234", ""},
		{"", "tag:example.com,2025:1", ""},
		{"/relative/link", "https://example.com/guid", ""}, // an error, not a stage failure
	}
	for _, c := range cases {
		a := &pipeline.Article{Title: "T", URL: c.url, GUID: c.guid, CanonicalURL: "stale"}
		if err := New(nil).Process(context.Background(), a); err != nil {
			t.Fatalf("url %q guid %q: %v", c.url, c.guid, err)
		}
		if a.CanonicalURL != c.want {
			t.Errorf("url %q guid %q: CanonicalURL = %q, want %q", c.url, c.guid, a.CanonicalURL, c.want)
		}
	}
}

func TestProcessEmpty(t *testing.T) {
	for _, a := range []*pipeline.Article{
		{},
		{Title: "  ", Content: "<p>\n</p><script>var x = 1;</script>"},
		{Title: "<img src=x>", Content: "\x00\x01 \u200b"},
	} {
		err := New(nil).Process(context.Background(), a)
		reason, ok := pipeline.IsPermanent(err)
		if !ok || reason != "empty" {
			t.Errorf("Process(%+v) = %v, want a permanent error with reason empty", a, err)
		}
	}
}

func TestProcessCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := New(nil).Process(ctx, &pipeline.Article{Title: "T"})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Process = %v, want context.Canceled", err)
	}
	if _, ok := pipeline.IsPermanent(err); ok {
		t.Error("cancellation must not be permanent")
	}
}

func TestTextConversion(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"plain paragraphs", "First para\nwraps here.\n\nSecond para.", "First para wraps here.\n\nSecond para."},
		{"plain CRLF", "One.\r\n\r\nTwo.\r\n", "One.\n\nTwo."},
		{"plain entities", "Tom &amp; Jerry &amp;amp; AT&T, a=1&not=2", "Tom & Jerry & AT&T, a=1&not=2"},
		{"plain not HTML", "x < y and I <3 you", "x < y and I <3 you"},
		{"escaped HTML", "&lt;p&gt;One&lt;/p&gt;&lt;p&gt;Two&lt;/p&gt;", "One\n\nTwo"},
		{"br and li", "a<br>b<ul><li>c</li><li>d</ul>", "a\n\nb\n\nc\n\nd"},
		{"headings", "<h2>Title</h2>Body <em>text</em>.", "Title\n\nBody text."},
		{"dropped", "<nav>Menu</nav><p>Keep</p><footer>Foot</footer><aside>Side</aside><form>F</form><template>T</template><svg><text>S</text></svg>", "Keep"},
		{"unclosed dropped element ends with parent", "<div><nav>Menu</div><p>Keep</p>", "Keep"},
		{"self-closing script", "<script/>alert(1)</script><p>Keep</p>", "Keep"},
		{"head without end tag", "<html><head><title>T</title><meta charset=utf-8><p>Body", "Body"},
		{"double encoded", "<p>R&amp;amp;D &amp;lt;b&amp;gt; &amp;#8217;</p>", "R&D <b> ’"},
		{"nbsp and collapse", "<p>  a&nbsp;&nbsp; b \n c  </p>", "a b c"},
		{"NFC", "<p>Cafe\u0301</p>", "Café"},
		{"controls and invalid UTF-8", "<p>a\x00b\x1bc\u0085d\xffe\u200bf\ufeffg</p>", "abc defg"},
		{"table cells", "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>", "a b\n\nc"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := ToText(c.in)
			if got != c.want {
				t.Errorf("ToText(%q) = %q, want %q", c.in, got, c.want)
			}
			checkTextInvariants(t, got)
		})
	}
}

func TestHTMLToTextIsHTML(t *testing.T) {
	// HTMLToText always reads HTML: newlines are whitespace.
	if got, want := HTMLToText("one\n\ntwo &amp; three"), "one two & three"; got != want {
		t.Errorf("HTMLToText = %q, want %q", got, want)
	}
}

func TestTweetResidue(t *testing.T) {
	text := strings.Join([]string{
		"Real paragraph one.",
		"Tweet text here https://t.co/AbC123",
		"— Some Person (@someone) March 3, 2025",
		"Real paragraph two mentions https://t.co/ in a long sentence that is clearly prose, not a tweet, because it goes on " + strings.Repeat("and on ", 50) + "forever.",
		"- A bullet that is not a signature (@handle)",
		"Follow us at @news for more.",
	}, "\n\n")
	got := cleanParagraphs(New(nil).seed, text, "")
	want := strings.Join([]string{
		"Real paragraph one.",
		"Real paragraph two mentions https://t.co/ in a long sentence that is clearly prose, not a tweet, because it goes on " + strings.Repeat("and on ", 50) + "forever.",
		"- A bullet that is not a signature (@handle)",
		"Follow us at @news for more.",
	}, "\n\n")
	if got != want {
		t.Errorf("cleanParagraphs:\n got %q\nwant %q", got, want)
	}
}
