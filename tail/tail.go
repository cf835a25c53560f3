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
	n := 0
	for {
		m, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("follow %s: %w", natsutil.StreamAlerts, err)
		}
		if err := Print(w, m.Data(), o.JSON); err != nil {
			return err
		}
		n++
		if o.Limit > 0 && n >= o.Limit {
			return nil
		}
	}
}

// Print writes one alert: the JSON as stored (one line) or a text line.
func Print(w io.Writer, data []byte, asJSON bool) error {
	var a pipeline.Alert
	if err := json.Unmarshal(data, &a); err != nil {
		return fmt.Errorf("decode alert: %w", err)
	}
	if asJSON {
		line, err := json.Marshal(&a)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", line)
		return err
	}
	_, err := io.WriteString(w, Format(&a))
	return err
}

// Format renders an alert as two lines: when, topic, score, source and
// title; then why it matched and the link. Every field from a feed is
// cleaned of control characters and terminal escape sequences.
func Format(a *pipeline.Alert) string {
	when := a.Article.Published
	if when.IsZero() {
		when = a.Created
	}
	var why []string
	seen := map[string]bool{}
	for _, m := range a.Matches {
		k := strings.ToLower(m.Text) + "/" + m.Field
		if seen[k] {
			continue
		}
		seen[k] = true
		why = append(why, fmt.Sprintf("%q in %s", Clean(m.Text), m.Field))
		if len(why) == 5 {
			break
		}
	}
	mark := " "
	if a.Severity == "high" {
		mark = "!"
	}
	return fmt.Sprintf("%s %s %-20s %.2f  %-24s %s\n      why: %s  %s\n",
		when.Local().Format("15:04:05"), mark, Clean(a.Topic), a.Score,
		clip(Clean(a.Article.Feed), 24), Clean(a.Article.Title),
		strings.Join(why, ", "), Clean(a.Article.URL))
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
