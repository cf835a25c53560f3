package config

import "time"

// Dedup tunes duplicate detection and stories (pipeline/dedup,
// pipeline/story). The horizon is pipeline.dedup_horizon.
type Dedup struct {
	// Near turns near-duplicate detection on (default true).
	Near *bool `yaml:"near"`
	// NearThreshold is the estimated Jaccard similarity of 3-word
	// shingles from which an article is a near duplicate (default 0.5).
	NearThreshold float64 `yaml:"near_threshold"`
	Stories       Stories `yaml:"stories"`
	// SnapshotEvery is how often a daemon saves its dedup index to
	// <data_dir>/dedup-index.snap (and as it stops), so that a restart
	// replays only the ledger records after it (default 5m).
	SnapshotEvery time.Duration `yaml:"snapshot_every"`
}

// Stories tunes the story stage and per-story alerting.
type Stories struct {
	// Threshold is the similarity of headline and lead words from which
	// two articles tell the same story (default 0.3).
	Threshold float64 `yaml:"threshold"`
	// AlertOnce: the sink alerts once per story and topic, then updates
	// as sources join, instead of once per article (default false for
	// now: existing subscribers expect one alert per original article).
	AlertOnce *bool `yaml:"alert_once"`
	// BreakingSources within BreakingWindow mark a story breaking
	// (defaults 5 and 30m).
	BreakingSources int           `yaml:"breaking_sources"`
	BreakingWindow  time.Duration `yaml:"breaking_window"`
}

// NearOn reports whether near-duplicate detection is on.
func (d Dedup) NearOn() bool { return d.Near == nil || *d.Near }

// AlertOnceOn reports whether the sink alerts once per story.
func (s Stories) AlertOnceOn() bool { return s.AlertOnce != nil && *s.AlertOnce }

func (c *Config) validateDedup(bad func(path, format string, args ...any)) {
	d := c.Dedup
	if d.NearThreshold < 0 || d.NearThreshold > 1 {
		bad("dedup.near_threshold", "%v is not between 0 and 1", d.NearThreshold)
	}
	if d.Stories.Threshold < 0 || d.Stories.Threshold > 1 {
		bad("dedup.stories.threshold", "%v is not between 0 and 1", d.Stories.Threshold)
	}
	if d.Stories.BreakingSources < 0 {
		bad("dedup.stories.breaking_sources", "must not be negative")
	}
	if d.SnapshotEvery < 0 {
		bad("dedup.snapshot_every", "must not be negative")
	}
	if d.Stories.BreakingWindow < 0 {
		bad("dedup.stories.breaking_window", "must not be negative")
	}
}
