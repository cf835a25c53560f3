package natsutil

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream, subject and bucket names. Subjects are documented in the README.
const (
	StreamIngest   = "INGEST"
	StreamArticles = "ARTICLES"
	StreamAlerts   = "ALERTS"
	// StreamLedger holds one record per article (hashes, never text): the
	// order every daemon's dedup index is built in (pipeline/ledger).
	StreamLedger = "LEDGER"

	// SubjectIngest is followed by the feed key: ww.ingest.<feed-key>.
	SubjectIngest = "ww.ingest"
	// SubjectArticle is followed by the feed key: ww.article.<feed-key>.
	SubjectArticle = "ww.article"
	// SubjectAlert is followed by topic and severity: ww.alert.<topic>.<severity>.
	SubjectAlert = "ww.alert"
	// SubjectLedger carries the ledger records.
	SubjectLedger = "ww.ledger"

	BucketFeeds = "ww_feeds"
	BucketDedup = "ww_dedup"
)

// Limits bound what JetStream keeps, so the disk cannot fill silently.
type Limits struct {
	Replicas int

	IngestMaxAge     time.Duration
	IngestMaxBytes   int64
	ArticlesMaxAge   time.Duration
	ArticlesMaxBytes int64
	AlertsMaxAge     time.Duration
	AlertsMaxBytes   int64
	// DedupHorizon is how long duplicate fingerprints are kept; the
	// ledger keeps its records an hour longer.
	DedupHorizon   time.Duration
	LedgerMaxBytes int64
}

// DefaultLimits are used for any zero field.
var defaultLimits = Limits{
	Replicas:         1,
	IngestMaxAge:     48 * time.Hour,
	IngestMaxBytes:   2 << 30,
	ArticlesMaxAge:   30 * 24 * time.Hour,
	ArticlesMaxBytes: 20 << 30,
	AlertsMaxAge:     30 * 24 * time.Hour,
	AlertsMaxBytes:   2 << 30,
	DedupHorizon:     7 * 24 * time.Hour,
	LedgerMaxBytes:   4 << 30,
}

// WithDefaults fills zero fields from the defaults.
func (l Limits) WithDefaults() Limits {
	d := defaultLimits
	if l.Replicas > 0 {
		d.Replicas = l.Replicas
	}
	set := func(dst *time.Duration, v time.Duration) {
		if v > 0 {
			*dst = v
		}
	}
	setB := func(dst *int64, v int64) {
		if v > 0 {
			*dst = v
		}
	}
	set(&d.IngestMaxAge, l.IngestMaxAge)
	set(&d.ArticlesMaxAge, l.ArticlesMaxAge)
	set(&d.AlertsMaxAge, l.AlertsMaxAge)
	set(&d.DedupHorizon, l.DedupHorizon)
	setB(&d.IngestMaxBytes, l.IngestMaxBytes)
	setB(&d.ArticlesMaxBytes, l.ArticlesMaxBytes)
	setB(&d.AlertsMaxBytes, l.AlertsMaxBytes)
	setB(&d.LedgerMaxBytes, l.LedgerMaxBytes)
	return d
}

// Resources are the declared streams and buckets.
type Resources struct {
	Ingest, Articles, Alerts, Ledger jetstream.Stream
	Feeds, Dedup                     jetstream.KeyValue
}

// EnsureResources creates or updates every stream and KV bucket. It is
// idempotent and safe to call from several daemons at once.
func EnsureResources(ctx context.Context, js jetstream.JetStream, l Limits) (*Resources, error) {
	return EnsureResourcesWith(ctx, js, l, Once)
}

// EnsureResourcesWith is EnsureResources making each declaration through
// declare (Retrying, for a daemon).
func EnsureResourcesWith(ctx context.Context, js jetstream.JetStream, l Limits, declare Declarer) (*Resources, error) {
	l = l.WithDefaults()
	var r Resources
	streams := []struct {
		dst *jetstream.Stream
		cfg jetstream.StreamConfig
	}{
		{&r.Ingest, jetstream.StreamConfig{
			Name: StreamIngest, Subjects: []string{SubjectIngest + ".>"},
			Description: "New feed items, one message per article, Nats-Msg-Id = article key",
			Storage:     jetstream.FileStorage, Replicas: l.Replicas,
			MaxAge: l.IngestMaxAge, MaxBytes: l.IngestMaxBytes, Discard: jetstream.DiscardOld,
			Duplicates: 2 * time.Hour,
		}},
		{&r.Articles, jetstream.StreamConfig{
			Name: StreamArticles, Subjects: []string{SubjectArticle + ".>"},
			Description: "Processed articles: the archive",
			Storage:     jetstream.FileStorage, Replicas: l.Replicas,
			MaxAge: l.ArticlesMaxAge, MaxBytes: l.ArticlesMaxBytes, Discard: jetstream.DiscardOld,
			Duplicates: 2 * time.Hour,
		}},
		{&r.Alerts, jetstream.StreamConfig{
			Name: StreamAlerts, Subjects: []string{SubjectAlert + ".>"},
			Description: "Alerts, ww.alert.<topic>.<severity>",
			Storage:     jetstream.FileStorage, Replicas: l.Replicas,
			MaxAge: l.AlertsMaxAge, MaxBytes: l.AlertsMaxBytes, Discard: jetstream.DiscardOld,
			// Alerts are few; a long window makes a redelivery after a long
			// outage still collapse onto the alert already stored.
			Duplicates: 24 * time.Hour,
		}},
		{&r.Ledger, jetstream.StreamConfig{
			Name: StreamLedger, Subjects: []string{SubjectLedger},
			Description: "Dedup ledger: records of hashes, one per article, batched",
			Storage:     jetstream.FileStorage, Replicas: l.Replicas,
			MaxAge: l.DedupHorizon + time.Hour, MaxBytes: l.LedgerMaxBytes, Discard: jetstream.DiscardOld,
			Duplicates: 2 * time.Hour,
		}},
	}
	for _, s := range streams {
		var err error
		if *s.dst, err = DeclareStream(ctx, js, declare, s.cfg); err != nil {
			return nil, err
		}
	}
	buckets := []struct {
		dst *jetstream.KeyValue
		cfg jetstream.KeyValueConfig
	}{
		{&r.Feeds, jetstream.KeyValueConfig{
			Bucket: BucketFeeds, Description: "Per-feed poll state",
			Storage: jetstream.FileStorage, Replicas: l.Replicas, History: 1,
		}},
		{&r.Dedup, jetstream.KeyValueConfig{
			Bucket: BucketDedup, Description: "Duplicate fingerprints -> first article id",
			Storage: jetstream.FileStorage, Replicas: l.Replicas, History: 1,
			TTL: l.DedupHorizon,
		}},
	}
	for _, b := range buckets {
		var err error
		if *b.dst, err = DeclareBucket(ctx, js, declare, b.cfg); err != nil {
			return nil, err
		}
	}
	return &r, nil
}

// DeclareStream creates or updates the stream cfg through declare.
func DeclareStream(ctx context.Context, js jetstream.JetStream, declare Declarer, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	return declareOne(ctx, declare, "stream "+cfg.Name, func(ctx context.Context) (jetstream.Stream, error) {
		return js.CreateOrUpdateStream(ctx, cfg)
	})
}

// DeclareBucket creates or updates the KV bucket cfg through declare.
func DeclareBucket(ctx context.Context, js jetstream.JetStream, declare Declarer, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	return declareOne(ctx, declare, "KV bucket "+cfg.Bucket, func(ctx context.Context) (jetstream.KeyValue, error) {
		return js.CreateOrUpdateKeyValue(ctx, cfg)
	})
}

// declareOne makes the declaration call, named what, through declare.
func declareOne[T any](ctx context.Context, declare Declarer, what string, call func(context.Context) (T, error)) (T, error) {
	var v T
	if err := declare(ctx, what, func(ctx context.Context) (err error) {
		v, err = call(ctx)
		return err
	}); err != nil {
		var zero T
		return zero, fmt.Errorf("declare %s: %w", what, err)
	}
	return v, nil
}

// IsNotFound reports whether err is a JetStream "key not found".
func IsNotFound(err error) bool { return errors.Is(err, jetstream.ErrKeyNotFound) }

// Token makes s a valid subject token or KV key token: letters, digits,
// - and _ are kept, anything else becomes _, and "" becomes "_".
func Token(s string) string {
	if s == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}
