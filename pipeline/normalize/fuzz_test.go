package normalize

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/internal/fold"
	"github.com/wirewatch/wirewatch/pipeline"
)

// scriptMarker is put only inside a script element; it must never reach
// the text.
const scriptMarker = "SCRIPTMARKERqz"

func FuzzHTMLToText(f *testing.F) {
	for _, s := range []string{
		"",
		"plain text\n\nwith paragraphs",
		"<p>Hello &amp; goodbye</p>",
		"<div><p>a<p>b</div><nav>x</nav>",
		"<script>alert(1)</script><p>text</p>",
		"<scr<script>ipt>x</script>",
		"&amp;amp;lt;script&amp;amp;gt;",
		"<svg><title>x</title></svg><template>t</template>",
		"<head><title>t</title><body>b",
		"<p>\x00\x01\xff\u200b\u00ad</p>",
		"<table><tr><td>a<td>b</table>",
		"— Name (@handle) April 23, 2025",
		"a\n\nb\n\na",
		"&lt;p&gt;x&lt;/p&gt;",
		"<plaintext><p>x",
	} {
		f.Add(s)
	}
	n := New(nil)
	f.Fuzz(func(t *testing.T, s string) {
		out := HTMLToText(s)
		checkTextInvariants(t, out)

		if !strings.Contains(s, scriptMarker) {
			in := "<p>x</p><script>var s = '" + scriptMarker + "';</script>" + s
			if got := HTMLToText(in); strings.Contains(got, scriptMarker) {
				t.Fatalf("script content survived: HTMLToText(%q) = %q", in, got)
			}
		}

		text := ToText(s)
		checkTextInvariants(t, text)

		// paraKey agrees with fold.Words.
		ks, oks := paraKey(n.seed, s)
		kt, _ := paraKey(n.seed, text)
		ws, wt := fold.Words(s), fold.Words(text)
		if oks != (len(ws) > 0) {
			t.Fatalf("paraKey(%q) ok = %v, fold.Words = %q", s, oks, ws)
		}
		if (ks == kt) != slices.Equal(ws, wt) {
			t.Fatalf("paraKey and fold.Words disagree on %q and %q", s, text)
		}
		if sameWords(s, text) != (len(ws) > 0 && slices.Equal(ws, wt)) {
			t.Fatalf("sameWords and fold.Words disagree on %q and %q", s, text)
		}

		a := &pipeline.Article{Title: s, Content: s, URL: s}
		err := n.Process(context.Background(), a)
		if err != nil {
			if _, ok := pipeline.IsPermanent(err); !ok {
				t.Fatalf("Process: non-permanent error %v", err)
			}
		}
		checkTextInvariants(t, a.Text)
		checkTextInvariants(t, a.Title)
		if strings.Contains(a.Title, "\n") {
			t.Fatalf("title has a newline: %q", a.Title)
		}
	})
}

func FuzzCanonicalURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/a?utm_source=x&b=2&a=1#frag",
		"HTTP://Example.COM:80//a/./b/../c/",
		"https://Bücher.example/über?q=a b",
		"http://[2001:db8::1]:8080/x?%zz",
		"https://example.com/caf%c3%a9?x=%7e&y=%2B",
		"https://example.com:/?&&",
		"/relative",
		"mailto:x@example.com",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := CanonicalURL(s)
		if err != nil {
			if out != "" {
				t.Fatalf("CanonicalURL(%q) = %q with error %v", s, out, err)
			}
			return
		}
		if _, err := url.Parse(out); err != nil {
			t.Fatalf("CanonicalURL(%q) = %q, which does not parse: %v", s, out, err)
		}
		again, err := CanonicalURL(out)
		if err != nil {
			t.Fatalf("CanonicalURL(%q) = %q, then error %v", s, out, err)
		}
		if again != out {
			t.Fatalf("not idempotent: %q -> %q -> %q", s, out, again)
		}
	})
}
