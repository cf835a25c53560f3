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

	// pipeline
	StageProcessed *prometheus.CounterVec   // stage
	StageErrors    *prometheus.CounterVec   // stage, reason
	StageDuration  *prometheus.HistogramVec // stage
	ConsumerLag    *prometheus.GaugeVec     // consumer
	Redeliveries   *prometheus.CounterVec   // consumer
	Duplicates     *prometheus.CounterVec   // kind
	TopicMatches   *prometheus.CounterVec   // topic
	Alerts         *prometheus.CounterVec   // topic, severity
	ArticlesStored prometheus.Counter
	TopicReloads   *prometheus.CounterVec // result (ok, error)
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
		StageProcessed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_stage_processed_total",
			Help: "Articles processed by each pipeline stage.",
		}, []string{"stage"}),
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
		Duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wirewatch_duplicates_total",
			Help: "Duplicate articles by kind (url, guid, content, near).",
		}, []string{"kind"}),
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
	}
	reg.MustRegister(
		m.Fetches, m.FetchDuration, m.FetchBytes, m.ItemsParsed, m.ArticlesPublish,
		m.FeedsByState, m.FeedErrors, m.StageProcessed, m.StageErrors,
		m.StageDuration, m.ConsumerLag, m.Redeliveries, m.Duplicates, m.TopicMatches,
		m.Alerts, m.ArticlesStored, m.TopicReloads,
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewBuildInfoCollector(),
	)
	return m
}

// NewUnregistered returns metrics registered on a private throwaway
// registry: for offline commands (inspect) and tests that do not scrape.
func NewUnregistered() *Metrics { return New(prometheus.NewRegistry()) }
