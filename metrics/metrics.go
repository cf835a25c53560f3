// Package metrics defines every Prometheus metric Wirewatch exports and
// serves them with the health endpoints. Metrics are registered on a
// registry passed in, never on the global one. No metric carries an
// article- or URL-level label: feeds are few enough to stay out of labels
// too, and are counted by reason and state instead.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics holds every collector. Components take the pointer and use the
// fields they need.
type Metrics struct {
	// sources
	Fetches         *prometheus.CounterVec   // result (ok, not_modified, error), reason
	FetchDuration   *prometheus.HistogramVec // result
	FetchBytes      prometheus.Counter
	ItemsParsed     prometheus.Counter
	ArticlesPublish *prometheus.CounterVec // result (new, duplicate, error)
	FeedsByState    *prometheus.GaugeVec   // state (ok, backing_off, failing)
	FeedErrors      *prometheus.CounterVec // reason
	ItemsCapped     prometheus.Counter     // items past the per-poll cap
	ArticlesCut     prometheus.Counter     // articles truncated to fit the NATS max payload

	// JetStream limits
	StreamLimitHits *prometheus.CounterVec // stream, limit (max_bytes, max_msgs, max_age)

	// pipeline
	StageProcessed *prometheus.CounterVec   // stage
	StageDropped   *prometheus.CounterVec   // stage, reason
	StageErrors    *prometheus.CounterVec   // stage, reason
	StageDuration  *prometheus.HistogramVec // stage
	ConsumerLag    *prometheus.GaugeVec     // consumer
	Redeliveries   *prometheus.CounterVec   // consumer
	ConsumerStalls *prometheus.CounterVec   // consumer
	Duplicates     *prometheus.CounterVec   // kind
	LedgerArticles prometheus.Gauge         // articles in this process's dedup index
	IndexSnapshots *prometheus.CounterVec   // op (load, save), result
	SnapshotHeld   prometheus.Gauge         // articles in the last snapshot saved or loaded
	TopicMatches   *prometheus.CounterVec   // topic
	Alerts         *prometheus.CounterVec   // topic, severity
	ArticlesStored prometheus.Counter
	TopicReloads   *prometheus.CounterVec // result (ok, error)
	Stories        *prometheus.CounterVec // event (new, joined, breaking)
	StoryAlerts    *prometheus.CounterVec // kind (new, update, suppressed)

	// notify
	NotificationsSent    *prometheus.CounterVec   // subscription, type
	NotificationsFailed  *prometheus.CounterVec   // subscription, type, reason
	NotificationsSkipped *prometheus.CounterVec   // subscription, reason (filtered, already_sent, dead_lettered)
	NotifyLatency        *prometheus.HistogramVec // subscription, type
	DeadLetters          *prometheus.CounterVec   // subscription, reason
	NotificationsFolded  *prometheus.CounterVec   // subscription, reason (digest, rate_limit)
	DigestSize           *prometheus.HistogramVec // subscription, type
}

// New creates the metrics and registers them, with the Go and process
// collectors and build info, on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_fetches_total",
			Help: "Feed fetches by result (ok, not_modified, error) and reason.",
		}, []string{"result", "reason"}),
		FetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wirewatch_fetch_duration_seconds",
			Help:    "Time to fetch and parse a feed.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"result"}),
		FetchBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wirewatch_fetch_bytes_total",
			Help: "Bytes of feed bodies read (after decompression).",
		}),
		ItemsParsed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wirewatch_items_parsed_total",
			Help: "Feed items parsed.",
		}),
		ArticlesPublish: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_articles_published_total",
			Help: "Articles published to the INGEST stream by result (new, duplicate, error).",
		}, []string{"result"}),
		FeedsByState: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wirewatch_feeds",
			Help: "Feeds by state (ok, backing_off, failing).",
		}, []string{"state"}),
		FeedErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_feed_errors_total",
			Help: "Feed poll failures by reason.",
		}, []string{"reason"}),
		ItemsCapped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wirewatch_items_capped_total",
			Help: "Feed items left out because a poll takes at most the newest N items.",
		}),
		ArticlesCut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wirewatch_articles_truncated_total",
			Help: "Articles whose content was truncated (with a marker) to fit the NATS max payload.",
		}),
		StreamLimitHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stream_limit_hits_total",
			Help: "Messages a JetStream stream discarded because of a limit, by stream and limit (max_bytes, max_msgs, max_age).",
		}, []string{"stream", "limit"}),
		StageProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stage_processed_total",
			Help: "Articles processed by each pipeline stage.",
		}, []string{"stage"}),
		StageDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stage_dropped_total",
			Help: "Articles a stage let through without effect, by reason (sink: archived without an alert because duplicate or no_topic).",
		}, []string{"stage", "reason"}),
		StageErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stage_errors_total",
			Help: "Stage errors by reason (permanent ones are terminated, others redelivered).",
		}, []string{"stage", "reason"}),
		StageDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wirewatch_stage_duration_seconds",
			Help:    "Time a stage spends on one article.",
			Buckets: []float64{.00001, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .5},
		}, []string{"stage"}),
		ConsumerLag: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wirewatch_consumer_pending_messages",
			Help: "Messages waiting for a durable consumer (lag).",
		}, []string{"consumer"}),
		Redeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_redeliveries_total",
			Help: "Messages delivered more than once to a consumer.",
		}, []string{"consumer"}),
		ConsumerStalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_consumer_stalls_total",
			Help: "Heartbeats a durable consumer missed (a NATS node down, its leader moving); the daemon asks again and goes on.",
		}, []string{"consumer"}),
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_duplicates_total",
			Help: "Duplicate articles by kind (url, guid, content, near).",
		}, []string{"kind"}),
		LedgerArticles: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wirewatch_dedup_index_articles",
			Help: "Articles in this process's dedup index (the ledger within the dedup horizon).",
		}),
		IndexSnapshots: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_dedup_index_snapshots_total",
			Help: "Dedup index snapshots loaded at start and saved, by result (load: ok, none, stale, gap, damaged, error; save: ok, error).",
		}, []string{"op", "result"}),
		SnapshotHeld: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wirewatch_dedup_index_snapshot_articles",
			Help: "Articles in the last dedup index snapshot this daemon saved or loaded (at least): against wirewatch_dedup_index_articles, what a restart would replay.",
		}),
		TopicMatches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_topic_matches_total",
			Help: "Articles tagged with each topic.",
		}, []string{"topic"}),
		Alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_alerts_total",
			Help: "Alerts published by topic and severity.",
		}, []string{"topic", "severity"}),
		ArticlesStored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wirewatch_articles_archived_total",
			Help: "Articles written to the ARTICLES stream.",
		}),
		TopicReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_topic_reloads_total",
			Help: "Topic file reloads by result (ok, error).",
		}, []string{"result"}),
		Stories: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stories_total",
			Help: "Story events: a new story, a source joining one, a source making one breaking.",
		}, []string{"event"}),
		StoryAlerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_story_alerts_total",
			Help: "Per-story alerting: first alert of a story and topic, update with more sources, alert suppressed.",
		}, []string{"kind"}),
		NotificationsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_notifications_sent_total",
			Help: "Notifications the destination accepted, by subscription and destination type.",
		}, []string{"subscription", "type"}),
		NotificationsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_notifications_failed_total",
			Help: "Failed delivery attempts by subscription, destination type and reason.",
		}, []string{"subscription", "type", "reason"}),
		NotificationsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_notifications_skipped_total",
			Help: "Alerts a subscription did not send, by reason (filtered, already_sent, dead_lettered).",
		}, []string{"subscription", "reason"}),
		NotifyLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wirewatch_notification_latency_seconds",
			Help:    "From alert creation to the destination accepting it (retries included).",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 7200},
		}, []string{"subscription", "type"}),
		DeadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_notification_dead_letters_total",
			Help: "Alerts given up on and published to ww.deadletter.<subscription>, by reason.",
		}, []string{"subscription", "reason"}),
		NotificationsFolded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_notifications_folded_total",
			Help: "Alerts collected for a digest instead of sent at once, by reason (digest, rate_limit).",
		}, []string{"subscription", "reason"}),
		DigestSize: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "wirewatch_notification_digest_size",
			Help:    "Articles in each digest the destination accepted.",
			Buckets: []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000},
		}, []string{"subscription", "type"}),
	}
	reg.MustRegister(
		m.Fetches, m.FetchDuration, m.FetchBytes, m.ItemsParsed, m.ArticlesPublish,
		m.FeedsByState, m.FeedErrors, m.ItemsCapped, m.ArticlesCut, m.StreamLimitHits, m.StageProcessed, m.StageDropped, m.StageErrors,
		m.StageDuration, m.ConsumerLag, m.Redeliveries, m.ConsumerStalls, m.Duplicates, m.LedgerArticles, m.IndexSnapshots, m.SnapshotHeld, m.TopicMatches,
		m.Alerts, m.ArticlesStored, m.TopicReloads, m.Stories, m.StoryAlerts,
		m.NotificationsSent, m.NotificationsFailed, m.NotificationsSkipped, m.NotifyLatency, m.DeadLetters,
		m.NotificationsFolded, m.DigestSize,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// NewUnregistered returns metrics registered on a private throwaway
// registry: for offline commands (inspect) and tests that do not scrape.
func NewUnregistered() *Metrics { return New(prometheus.NewRegistry()) }
