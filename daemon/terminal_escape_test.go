package daemon_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wirewatch/wirewatch/internal/testkit"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/tail"
)

// Terminal escape sequences in a feed's title and an item's title and text
// (a JSON Feed carries them as \u escapes, which survive parsing; RSS
// carries the 8-bit CSI U+009B and a bidi override literally) go through
// the whole daemon and reach `tail`'s text output neutralised: no ESC, BEL,
// C1 control or bidi override, while the words stay readable.
func TestTerminalEscapesNeverReachTail(t *testing.T) {
	const esc = `\u001b`
	jsonFeed := `{"version":"https://jsonfeed.org/version/1.1",
	 "title":"Evil ` + esc + `]0;owned terminal\u0007 News` + esc + `[2J",
	 "items":[{"id":"e-1","url":"https://evil.example/a",
	  "title":"` + esc + `[31mCeasefire` + esc + `[0m agreed as envoys open peace talks` + esc + `[1A` + esc + `[K",
	  "content_text":"Negotiators agreed a ceasefire and opened peace talks on security guarantees.` + esc + `]8;;https://evil.example/x\u0007click` + esc + `]8;;\u0007 Envoys met in Geneva."}]}`
	rss := "<?xml version=\"1.0\" encoding=\"UTF-8\"?><rss version=\"2.0\"><channel><title>Sneaky \u009b2J Wire \u202egnp.exe</title>" +
		"<item><guid>s-1</guid><link>https://sneaky.example/b</link><title>Sanctions \u009b31mpackage\u009b0m adopted against Russian oil exports \u202edetrats</title>" +
		"<description>The European Union adopted a sanctions package against Russia, with an asset freeze and an oil price cap.</description></item></channel></rss>"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/evil.json":
			w.Header().Set("Content-Type", "application/feed+json")
			fmt.Fprint(w, jsonFeed)
		case "/sneaky.rss":
			w.Header().Set("Content-Type", "application/rss+xml")
			fmt.Fprint(w, rss)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	d := start(t, testConfig(t.TempDir(), srv.URL+"/evil.json", srv.URL+"/sneaky.rss"))
	testkit.WaitFor(t, 30*time.Second, "both articles archived and alerted", func() (bool, string) {
		n := streamMsgs(t, d.js, natsutil.StreamArticles)
		return n == 2 && idle(t, d.js) && streamMsgs(t, d.js, natsutil.StreamAlerts) >= 2, fmt.Sprintf("%d archived", n)
	})
	alerts := int(streamMsgs(t, d.js, natsutil.StreamAlerts))

	// The escapes did reach the alert itself (the daemon stores what the
	// feed said); it is tail's printing that must neutralise them.
	stored, _ := readAlerts(t, d.js)
	raw := ""
	for _, a := range stored {
		raw += a.Article.Feed + a.Article.Title
	}
	if !strings.ContainsAny(raw, "\x1b\u009b\u202e") {
		t.Fatalf("no escape reached the stored alerts, so the test proves nothing: %q", raw)
	}

	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := tail.Follow(ctx, d.js, tail.Options{All: true, Limit: alerts}, &out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Logf("tail output:\n%s", text)
	for _, r := range text {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == '\u202e' || r == '\u202d' || r == '\u2066' || r == '\u2067' {
			t.Errorf("tail output carries control or bidi character %U", r)
		}
	}
	for _, want := range []string{"Ceasefire", "agreed as envoys open peace talks", "Evil", "Sanctions", "package", "Sneaky"} {
		if !strings.Contains(text, want) {
			t.Errorf("tail output lacks %q", want)
		}
	}
}
