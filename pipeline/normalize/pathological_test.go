package normalize

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/pipeline"
)

// TestPathologicalInputs runs inputs (about 1 MB each) built to make a
// careless implementation quadratic. Linear code takes milliseconds; the
// generous limit only catches quadratic blow-ups.
func TestPathologicalInputs(t *testing.T) {
	const n = 100_000
	inputs := map[string]string{
		"unclosed paragraphs then stray end tags": strings.Repeat("<p>x", n) + strings.Repeat("</div>", n),
		"deep nesting":                strings.Repeat("<div>", n) + "text" + strings.Repeat("</div>", n),
		"headers inside deep article": strings.Repeat("<div>", n/2) + "<article>" + strings.Repeat("<header>h</header>", n/2),
		"unclosed skipped elements":   strings.Repeat("<nav><span>", n) + "text",
		"ampersands":                  strings.Repeat("&amp;amp;&#x;&abc &", n),
		"plain lines":                 strings.Repeat("a line of text\n", n),
		"one long line":               strings.Repeat("word ", 2*n),
		"repeated paragraphs":         strings.Repeat("<p>same paragraph</p><p>other one</p>", n/4),
		"tweet-like paragraphs":       strings.Repeat("<p>x https://t.co/abc</p><p>— N (@h) May 1, 2025</p>", n/8),
		"many distinct paragraphs":    strings.Repeat("<p>alpha beta</p><p>gamma delta</p><p>epsilon</p>", n/6),
		"less-than signs":             strings.Repeat("a <3 b < c <", n),
	}
	n0 := New(nil)
	for name, in := range inputs {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			a := &pipeline.Article{Title: in[:min(len(in), 2000)], Content: in}
			if err := n0.Process(context.Background(), a); err != nil {
				if _, ok := pipeline.IsPermanent(err); !ok {
					t.Fatal(err)
				}
			}
			checkTextInvariants(t, a.Text)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("took %v for %d bytes: quadratic?", d, len(in))
			}
		})
	}
}
