package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineWriter collects output and calls back on each complete line.
type lineWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	lines  []string
	onLine func(n int)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			break
		}
		w.lines = append(w.lines, line)
		w.onLine(len(w.lines))
	}
	return len(p), nil
}

// `wirewatch demo`, the README's first command: with no network it streams
// alerts from the shipped sample feeds, and stops cleanly on Ctrl-C.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	const want = 8
	out := &lineWriter{onLine: func(n int) {
		if n == want {
			cancel() // what Ctrl-C does
		}
	}}
	var errb bytes.Buffer
	code := run(ctx, []string{"demo", "--every", "200ms", "--json"}, out, &errb)
	if code != 0 {
		t.Fatalf("demo exit %d:\n%s", code, errb.String())
	}
	out.mu.Lock()
	defer out.mu.Unlock()
	if len(out.lines) < want {
		t.Fatalf("demo printed %d alerts before the deadline, want %d:\n%s", len(out.lines), want, errb.String())
	}
	topics := map[string]bool{}
	for _, l := range out.lines[:want] {
		var a struct {
			Topic   string  `json:"topic"`
			Score   float64 `json:"score"`
			Article struct {
				Title, Feed, URL string
			} `json:"article"`
			Matches []json.RawMessage `json:"matches"`
		}
		if err := json.Unmarshal([]byte(l), &a); err != nil {
			t.Fatalf("not a JSON alert: %v: %s", err, l)
		}
		if a.Topic == "" || a.Score <= 0 || a.Article.Title == "" || a.Article.Feed == "" || len(a.Matches) == 0 {
			t.Errorf("alert lacks what a reader needs: %s", l)
		}
		if strings.Contains(a.Article.URL, "utm_") {
			t.Errorf("alert link keeps tracking parameters: %s", a.Article.URL)
		}
		topics[a.Topic] = true
	}
	if len(topics) < 3 {
		t.Errorf("the demo stream shows only %d topics in %d alerts: %v", len(topics), want, topics)
	}
	if strings.Contains(errb.String(), "level=WARN") || strings.Contains(errb.String(), "level=ERROR") {
		t.Errorf("demo logged warnings:\n%s", errb.String())
	}
}
