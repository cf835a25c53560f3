package normalize

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

// feedBody is a realistic content:encoded body as news feeds carry it
// (about 6 KB): paragraphs with links and entities, a figure, a list, an
// embedded tweet with its script, a related-links aside.
func feedBody() string { return feedBodyOf(englishParas) }

var englishParas = []string{
	`Residents of Port Elsin voted on Thursday to back a year-round <a href="https://example.com/ferry">ferry link</a> to the mainland, ending a decade&#8209;long dispute over the route.`,
	`The council&rsquo;s leader, Tom&nbsp;Reyes, said the result was &ldquo;a clear mandate&rdquo; &mdash; turnout was 71&nbsp;%, the highest in any local vote since 1998.`,
	`Opponents, who favoured a bridge, said they would &quot;keep campaigning&quot; and accused the council of <em>rushing</em> the decision before the regional budget was known.`,
	`The operator will run two crossings an hour in summer and one an hour in winter, with discounted fares for residents &amp; students and a new slipway at North Quay.`,
	`Funding of &pound;48m is expected from the regional development fund, although ministers have not yet confirmed the grant, and the harbour authority has warned of delays.`,
	`Fishermen&rsquo;s groups said they welcomed the plan but wanted guarantees that the new slipway would not restrict access to the inner harbour during the autumn season.`,
}

// finnishParas are in a language the stopword fast path does not know, so
// that Process runs whatlanggo.
var finnishParas = []string{
	`Saaren asukkaat äänestivät torstaina ympärivuotisen <a href="https://example.com/lautta">lauttayhteyden</a> puolesta mantereelle.`,
	`Päätös päättää kiistan, joka on jakanut yhteisöä yli kymmenen vuoden ajan, ja kunnanjohtaja kutsui tulosta &ldquo;selväksi valtakirjaksi&rdquo;.`,
	`Kunta kertoi, että ensimmäiset vuorot voisivat alkaa ensi keväänä, jos alueellinen rahoitus varmistuu ajoissa.`,
	`Kalastajat sanoivat tukevansa suunnitelmaa, mutta vaativat takeita siitä, että uusi luiska ei rajoita pääsyä sisäsatamaan syksyllä.`,
}

func feedBodyOf(paras []string) string {
	var b strings.Builder
	b.WriteString(`<div class="article-body">`)
	for i := 0; i < 3; i++ {
		for _, p := range paras {
			b.WriteString("<p>" + p + "</p>\n")
		}
		if i == 0 {
			b.WriteString(`<figure><img src="https://example.com/ferry.jpg" alt="The ferry"><figcaption>The current ferry, in service since 1987.</figcaption></figure>`)
			b.WriteString(`<ul><li>Two crossings an hour in summer</li><li>One an hour in winter</li><li>A new slipway at North Quay</li></ul>`)
		}
		if i == 1 {
			b.WriteString(`<blockquote class="twitter-tweet"><p lang="en" dir="ltr">Big day for Port Elsin: the ferry link is approved <a href="https://t.co/AbCdEf1234">pic.twitter.com/AbCdEf1234</a></p>&mdash; Port Elsin News (@portelsin) <a href="https://twitter.com/portelsin/status/1">March 14, 2025</a></blockquote><script async src="https://platform.twitter.com/widgets.js" charset="utf-8"></script>`)
		}
	}
	b.WriteString(`<aside class="related"><h3>Related</h3><ul><li><a href="/a">Bridge plan shelved</a></li><li><a href="/b">Harbour dues to rise</a></li></ul></aside></div>`)
	return b.String()
}

// BenchmarkProcess runs the stage over a realistic feed body: "en" is the
// common case (language decided by the stopword fast path), "fi" a
// language only whatlanggo detects.
func BenchmarkProcess(b *testing.B) {
	for _, c := range []struct {
		lang, title string
		paras       []string
	}{
		{"en", "Harbour town votes on new ferry link", englishParas},
		{"fi", "Saari äänesti lauttayhteydestä", finnishParas},
	} {
		body := feedBodyOf(c.paras)
		b.Run(c.lang, func(b *testing.B) {
			n := New(nil)
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				a := pipeline.Article{
					Title:   c.title,
					Content: body,
					URL:     "https://www.example.com/news/2025/03/14/ferry-link?utm_source=rss&utm_medium=feed",
				}
				if err := n.Process(ctx, &a); err != nil {
					b.Fatal(err)
				}
				if a.Language != c.lang {
					b.Fatalf("Language = %q, want %q", a.Language, c.lang)
				}
			}
		})
	}
}

// BenchmarkProcessParallel is BenchmarkProcess on every P, as the daemon
// runs it.
func BenchmarkProcessParallel(b *testing.B) {
	body := feedBody()
	n := New(nil)
	ctx := context.Background()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			a := pipeline.Article{Title: "Harbour town votes on new ferry link", Content: body, URL: "https://example.com/a?utm_source=x"}
			if err := n.Process(ctx, &a); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkHTMLToText(b *testing.B) {
	for _, name := range []string{"feed-body", "page"} {
		body := feedBody()
		if name == "page" {
			raw, err := os.ReadFile(filepath.Join("testdata", "golden", "article.html"))
			if err != nil {
				b.Fatal(err)
			}
			body = string(raw)
		}
		b.Run(name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				HTMLToText(body)
			}
		})
	}
}

func BenchmarkCanonicalURL(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CanonicalURL("https://www.Example.com/news/2025/03/14/ferry-link?id=7&utm_source=rss&utm_medium=feed#top"); err != nil {
			b.Fatal(err)
		}
	}
}
