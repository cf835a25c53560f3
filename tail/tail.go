// Package tail follows the ALERTS stream and prints alerts, as text a
// person reads at a glance or as JSON Lines a program reads. It is what
// `wirewatch tail` and `wirewatch demo` show.
package tail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wirewatch/wirewatch/internal/natsutil"
	"github.com/wirewatch/wirewatch/pipeline"
)

// Options choose which alerts to follow and how to print them.
type Options struct {
	// Topics restricts to these topics (all when empty).
	Topics []string
	// All replays every stored alert first; Since replays those newer than
	// now-Since. Neither: only alerts from now on.
	All   bool
	Since time.Duration
	JSON  bool
	// Limit stops after this many alerts (0: follow until ctx is done).
	Limit int
	Now   func() time.Time
}

// Follow prints alerts to w until ctx is done (or Limit is reached).
func Follow(ctx context.Context, js jetstream.JetStream, o Options, w io.Writer) error {
	if o.Now == nil {
		o.Now = time.Now
	}
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	for _, t := range o.Topics {
		cfg.FilterSubjects = append(cfg.FilterSubjects, natsutil.SubjectAlert+"."+t+".>")
	}
	switch {
	case o.All:
		cfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case o.Since > 0:
		start := o.Now().Add(-o.Since)
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		cfg.OptStartTime = &start
	}
	cons, err := js.OrderedConsumer(ctx, natsutil.StreamAlerts, cfg)
	if err != nil {
		return fmt.Errorf("follow %s: %w", natsutil.StreamAlerts, err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("follow %s: %w", natsutil.StreamAlerts, err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	p := NewPrinter(w, o.JSON)
	n := 0
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow %s: %w", natsutil.StreamAlerts, err)
		}
		if err := p.Print(m.Data()); err != nil {
			return err
		}
		n++
		if o.Limit > 0 && n >= o.Limit {
			return nil
		}
	}
}

// Printer writes alerts. In text mode an article that matched several
// topics is shown once, with one short line for each further topic, since
// its alerts arrive together.
type Printer struct {
	w      io.Writer
	json   bool
	recent map[string]bool
	order  []string
}

// recentArticles is how many article ids the printer remembers.
const recentArticles = 512

// NewPrinter returns a printer writing to w, as JSON Lines when asJSON.
func NewPrinter(w io.Writer, asJSON bool) *Printer {
	return &Printer{w: w, json: asJSON, recent: map[string]bool{}}
}

// Print writes one alert: the JSON as stored (one line), or text.
func (p *Printer) Print(data []byte) error {
	var a pipeline.Alert
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("decode alert: %w", err)
	}
	if p.json {
		line, err := json.Marshal(&a)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.w, "%s\n", line)
		return err
	}
	text := Format(&a)
	if p.recent[a.Article.ID] {
		text = FormatMore(&a)
	} else {
		p.remember(a.Article.ID)
	}
	_, err := io.WriteString(p.w, text)
	return err
}

func (p *Printer) remember(id string) {
	p.recent[id] = true
	p.order = append(p.order, id)
	if len(p.order) > recentArticles {
		delete(p.recent, p.order[0])
		p.order = p.order[1:]
	}
}

// Format renders an alert as two lines: when, topic, score, source and
// title; then why it matched and the link. Every field from a feed is
// cleaned of control characters and terminal escape sequences.
func Format(a *pipeline.Alert) string {
	when := a.Article.Published
	if when.IsZero() {
		when = a.Created
	}
	return fmt.Sprintf("%s %s %-20s %.2f  %-24s %s\n      why: %s\n      %s\n",
		when.Local().Format("15:04:05"), mark(a), Clean(a.Topic), a.Score,
		clip(Clean(a.Article.Feed), 24), Clean(a.Article.Title),
		why(a), Clean(a.Article.URL))
}

// FormatMore renders a further topic of an article already shown.
func FormatMore(a *pipeline.Alert) string {
	return fmt.Sprintf("       %s+%-20s %.2f  why: %s\n", mark(a), Clean(a.Topic), a.Score, why(a))
}

func mark(a *pipeline.Alert) string {
	if a.Severity == "high" {
		return "!"
	}
	return " "
}

// why lists up to five distinct matched words with their field.
func why(a *pipeline.Alert) string {
	var out []string
	seen := map[string]bool{}
	for _, m := range a.Matches {
		k := strings.ToLower(m.Text) + "/" + m.Field
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, fmt.Sprintf("%q (%s)", Clean(m.Text), m.Field))
		if len(out) == 5 {
			break
		}
	}
	return strings.Join(out, ", ")
}

// Clean removes control characters (which include the ESC that starts a
// terminal escape sequence) and folds whitespace, so text from a feed
// cannot move the cursor, recolour or retitle the user's terminal.
func Clean(s string) string {
	return strings.Join(strings.FieldsFunc(strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s), unicode.IsSpace), " ")
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
