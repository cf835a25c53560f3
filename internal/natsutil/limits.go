package natsutil

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Limit labels of a limit hit.
const (
	LimitMaxBytes = "max_bytes"
	LimitMaxMsgs  = "max_msgs"
	LimitMaxAge   = "max_age"
)

// DefaultLimitCheckInterval is how often WatchLimits looks at the streams.
const DefaultLimitCheckInterval = 30 * time.Second

// LimitWatch configures WatchLimits.
type LimitWatch struct {
	// Streams to watch (default INGEST, ARTICLES, ALERTS).
	Streams []string
	// Interval between checks (default DefaultLimitCheckInterval).
	Interval time.Duration
	// OnHit is called when a stream discarded messages because of a limit:
	// discarded is how many since the last check. Required.
	OnHit  func(stream, limit string, discarded uint64)
	Logger *slog.Logger
}

// WatchLimits compares each stream's state with its limits every interval
// until ctx is done, and reports the messages a stream discarded because of
// a limit (JetStream sends no advisory for a DiscardOld removal, so the
// stream's first sequence is followed instead): when it moves forward, the
// messages before it were removed. In a limits-retention stream nothing
// else removes messages (unless an operator purges or deletes by hand), so
// the removal is put on the limit the stream is at: max_bytes when the
// stream holds at least 90% of its MaxBytes, else max_msgs likewise, else
// max_age. Each hit is logged at warn level with the stream, the limit and
// the count. A stream that cannot be read is retried at the next check.
func WatchLimits(ctx context.Context, js jetstream.JetStream, w LimitWatch) error {
	if w.OnHit == nil {
		return fmt.Errorf("watch stream limits: OnHit is required")
	}
	if len(w.Streams) == 0 {
		w.Streams = []string{StreamIngest, StreamArticles, StreamAlerts, StreamLedger}
	}
	if w.Interval <= 0 {
		w.Interval = DefaultLimitCheckInterval
	}
	log := w.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "stream-limits")
	first := map[string]uint64{} // stream -> first sequence at the last check
	check := func() {
		for _, name := range w.Streams {
			cctx, cancel := context.WithTimeout(ctx, w.Interval)
			s, err := js.Stream(cctx, name)
			cancel()
			var info *jetstream.StreamInfo
			if err == nil {
				// js.Stream fetched the info already.
				info = s.CachedInfo()
			}
			if err != nil {
				if ctx.Err() == nil {
					log.Debug("stream state unavailable", "stream", name, "err", err)
				}
				continue
			}
			prev, seen := first[name]
			cur := info.State.FirstSeq
			if info.State.Msgs == 0 {
				// An empty stream's first sequence is last+1.
				cur = info.State.LastSeq + 1
			}
			first[name] = cur
			if !seen || cur <= prev {
				continue
			}
			n := cur - prev
			limit := limitAt(info)
			w.OnHit(name, limit, n)
			log.Warn("stream limit hit: messages discarded", "stream", name, "limit", limit, "discarded", n,
				"msgs", info.State.Msgs, "bytes", info.State.Bytes, "max_bytes", info.Config.MaxBytes,
				"max_msgs", info.Config.MaxMsgs, "max_age", info.Config.MaxAge)
		}
		log.Debug("stream limits checked", "streams", len(w.Streams))
	}
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		check()
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// limitAt names the limit a stream that just discarded messages is at.
func limitAt(info *jetstream.StreamInfo) string {
	c, st := info.Config, info.State
	switch {
	case c.MaxBytes > 0 && st.Bytes*10 >= uint64(c.MaxBytes)*9:
		return LimitMaxBytes
	case c.MaxMsgs > 0 && st.Msgs*10 >= uint64(c.MaxMsgs)*9:
		return LimitMaxMsgs
	}
	return LimitMaxAge
}
