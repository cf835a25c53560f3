package config

import (
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"time"

	"github.com/wirewatch/wirewatch/notify/schedule"
)

// Subscription sends the alerts of some topics to one destination: Slack,
// email or a webhook. Exactly one destination is set. Secrets (webhook
// URLs with tokens, bot tokens, passwords, signing keys) are never in the
// file: the *_env keys name the environment variables that hold them, the
// *_file keys files that hold them (surrounding whitespace trimmed).
type Subscription struct {
	// Name identifies the subscription: its durable consumer is
	// notify-<name>, its dead letters go to ww.deadletter.<name>.
	Name string `yaml:"name"`
	// Topics are the topic names to deliver (empty: every topic).
	Topics []string `yaml:"topics"`
	// MinScore drops alerts scoring below it.
	MinScore float64 `yaml:"min_score"`
	// Sources keeps only alerts from these feeds (feed names as shown in
	// alerts); empty: every feed.
	Sources []string `yaml:"sources"`
	// Languages keeps only articles in these languages (ISO 639-1).
	Languages []string `yaml:"languages"`
	// Entities keeps only articles mentioning one of these people, places
	// or organisations (canonical names).
	Entities []string `yaml:"entities"`
	// BreakingOnly keeps only alerts of stories marked breaking.
	BreakingOnly bool `yaml:"breaking_only"`
	// Timeout bounds one delivery attempt (default 10s).
	Timeout time.Duration `yaml:"timeout"`
	// Retry says how often and how patiently a failed delivery is retried.
	Retry Retry `yaml:"retry"`
	// Digest collects alerts and sends them as one message per period:
	// "daily 07:00 Europe/London" or "every 30m" (empty: each at once).
	Digest string `yaml:"digest"`
	// RateLimit caps messages per window, "20/h": beyond it alerts fold
	// into a digest sent when the window ends; none is dropped.
	RateLimit string `yaml:"rate_limit"`

	Slack   *Slack   `yaml:"slack"`
	Email   *Email   `yaml:"email"`
	Webhook *Webhook `yaml:"webhook"`
}

// Retry is the delivery retry policy: attempt n waits
// min(backoff * 2^(n-1), max_backoff), or what the destination's
// Retry-After asks.
type Retry struct {
	Attempts   int           `yaml:"attempts"`    // default 12
	Backoff    time.Duration `yaml:"backoff"`     // default 5s
	MaxBackoff time.Duration `yaml:"max_backoff"` // default 10m
}

// Slack posts to an incoming webhook (webhook_url_env), or with a bot
// token (token_env) to channel through chat.postMessage.
type Slack struct {
	WebhookURLEnv  string `yaml:"webhook_url_env"`
	WebhookURLFile string `yaml:"webhook_url_file"`
	TokenEnv       string `yaml:"token_env"`
	TokenFile      string `yaml:"token_file"`
	Channel        string `yaml:"channel"`
	// APIURL is the Web API base (default https://slack.com/api).
	APIURL string `yaml:"api_url"`
}

// Email sends one mail per alert through an SMTP server.
type Email struct {
	To   []string `yaml:"to"`
	From string   `yaml:"from"` // default wirewatch@<smtp.host>
	SMTP SMTP     `yaml:"smtp"`
}

// SMTP is the mail server.
type SMTP struct {
	Host         string `yaml:"host"`
	Port         int    `yaml:"port"` // default 587 (starttls), 465 (tls), 25 (none)
	Username     string `yaml:"username"`
	PasswordEnv  string `yaml:"password_env"`
	PasswordFile string `yaml:"password_file"`
	// CAFile is a PEM bundle of the CAs to trust for this server instead
	// of the system's (a private relay's CA).
	CAFile string `yaml:"ca_file"`
	// TLS is starttls (default), tls (implicit TLS) or none (only for a
	// relay on loopback).
	TLS string `yaml:"tls"`
}

// Webhook POSTs a signed JSON document (schema in the README).
type Webhook struct {
	URL     string `yaml:"url"`
	URLEnv  string `yaml:"url_env"` // when the URL itself is a secret
	URLFile string `yaml:"url_file"`
	// SecretEnv names the variable holding the HMAC-SHA256 signing key;
	// SecretFile a file holding it.
	SecretEnv  string `yaml:"secret_env"`
	SecretFile string `yaml:"secret_file"`
}

var subscriptionName = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,64}$`)

func (c *Config) validateSubscriptions(bad func(path, format string, args ...any)) {
	names := map[string]int{}
	for i, s := range c.Subscriptions {
		p := fmt.Sprintf("subscriptions[%d]", i)
		if !subscriptionName.MatchString(s.Name) {
			bad(p+".name", "%q must be 1-64 letters, digits, '-' or '_'", s.Name)
		} else if j, dup := names[s.Name]; dup {
			bad(p+".name", "%q is already used by subscriptions[%d]", s.Name, j)
		}
		names[s.Name] = i
		for k, t := range s.Topics {
			if !subscriptionName.MatchString(t) {
				bad(fmt.Sprintf("%s.topics[%d]", p, k), "%q is not a topic name", t)
			}
		}
		if s.MinScore < 0 || s.MinScore > 1 {
			bad(p+".min_score", "%v is not between 0 and 1", s.MinScore)
		}
		if s.Timeout < 0 {
			bad(p+".timeout", "must not be negative")
		}
		if s.Retry.Attempts < 0 || s.Retry.Backoff < 0 || s.Retry.MaxBackoff < 0 {
			bad(p+".retry", "attempts, backoff and max_backoff must not be negative")
		}
		if s.Digest != "" {
			if _, err := schedule.Parse(s.Digest); err != nil {
				bad(p+".digest", "%v", err)
			}
		}
		if s.RateLimit != "" {
			if _, err := schedule.ParseRate(s.RateLimit); err != nil {
				bad(p+".rate_limit", "%v", err)
			}
		}
		n := 0
		if s.Slack != nil {
			n++
			sl := s.Slack
			hook, token := sl.WebhookURLEnv != "" || sl.WebhookURLFile != "", sl.TokenEnv != "" || sl.TokenFile != ""
			switch {
			case sl.WebhookURLEnv != "" && sl.WebhookURLFile != "":
				bad(p+".slack", "set webhook_url_env or webhook_url_file, not both")
			case sl.TokenEnv != "" && sl.TokenFile != "":
				bad(p+".slack", "set token_env or token_file, not both")
			case hook && token:
				bad(p+".slack", "set a webhook URL or a token, not both")
			case !hook && !token:
				bad(p+".slack", "needs webhook_url_env (or _file), or token_env (or _file) and channel")
			case token && sl.Channel == "":
				bad(p+".slack.channel", "is required with a token")
			}
			if sl.APIURL != "" {
				checkHTTPURL(bad, p+".slack.api_url", sl.APIURL)
			}
		}
		if s.Email != nil {
			n++
			e := s.Email
			if len(e.To) == 0 {
				bad(p+".email.to", "needs at least one address")
			}
			for k, a := range e.To {
				if _, err := mail.ParseAddress(a); err != nil {
					bad(fmt.Sprintf("%s.email.to[%d]", p, k), "%q: %v", a, err)
				}
			}
			if e.From != "" {
				if _, err := mail.ParseAddress(e.From); err != nil {
					bad(p+".email.from", "%q: %v", e.From, err)
				}
			}
			if e.SMTP.Host == "" {
				bad(p+".email.smtp.host", "is required")
			}
			if e.SMTP.Port < 0 || e.SMTP.Port > 65535 {
				bad(p+".email.smtp.port", "%d is not a port", e.SMTP.Port)
			}
			switch e.SMTP.TLS {
			case "", "starttls", "tls", "none":
			default:
				bad(p+".email.smtp.tls", "%q is not one of starttls, tls, none", e.SMTP.TLS)
			}
			if e.SMTP.PasswordEnv != "" && e.SMTP.PasswordFile != "" {
				bad(p+".email.smtp", "set password_env or password_file, not both")
			}
			if (e.SMTP.PasswordEnv != "" || e.SMTP.PasswordFile != "") && e.SMTP.Username == "" {
				bad(p+".email.smtp.username", "is required with a password")
			}
			if e.SMTP.CAFile != "" && e.SMTP.TLS == "none" {
				bad(p+".email.smtp.ca_file", "needs tls: starttls or tls")
			}
		}
		if s.Webhook != nil {
			n++
			w := s.Webhook
			switch {
			case btoi(w.URL != "")+btoi(w.URLEnv != "")+btoi(w.URLFile != "") != 1:
				bad(p+".webhook", "set exactly one of url, url_env and url_file")
			case w.URL != "":
				checkHTTPURL(bad, p+".webhook.url", w.URL)
			}
		}
		if s.Webhook != nil && s.Webhook.SecretEnv != "" && s.Webhook.SecretFile != "" {
			bad(p+".webhook", "set secret_env or secret_file, not both")
		}
		if n != 1 {
			bad(p, "needs exactly one destination: slack, email or webhook (has %d)", n)
		}
	}
}

func checkHTTPURL(bad func(path, format string, args ...any), path, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		bad(path, "not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		bad(path, "scheme must be http or https")
	case u.Host == "":
		bad(path, "has no host")
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
