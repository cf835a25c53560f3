package notify

import (
	"crypto/x509"
	"fmt"
	"os"
	"strings"

	"github.com/wirewatch/wirewatch/config"
	"github.com/wirewatch/wirewatch/notify/schedule"
)

// FromConfig builds the subscriptions of the config, reading secrets from
// the environment variables it names through getenv, or from the files
// it names (surrounding whitespace trimmed). A variable or file that is
// named but empty is an error naming the variable or file, never the
// value.
func FromConfig(subs []config.Subscription, getenv func(string) string) ([]Subscription, error) {
	out := make([]Subscription, 0, len(subs))
	for _, c := range subs {
		// secret reads a secret from a variable (env) or a file.
		secret := func(env, file string) (string, error) {
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return "", fmt.Errorf("subscription %s: read secret file: %w", c.Name, err)
				}
				v := strings.TrimSpace(string(b))
				if v == "" {
					return "", fmt.Errorf("subscription %s: secret file %s is empty", c.Name, file)
				}
				return v, nil
			}
			v := getenv(env)
			if v == "" {
				return "", fmt.Errorf("subscription %s: environment variable %s is empty or not set", c.Name, env)
			}
			return v, nil
		}
		s := Subscription{
			Name: c.Name, Topics: c.Topics, MinScore: c.MinScore, Sources: c.Sources, Languages: c.Languages,
			Entities: c.Entities, BreakingOnly: c.BreakingOnly, Timeout: c.Timeout,
			Attempts: c.Retry.Attempts, Backoff: c.Retry.Backoff, MaxBackoff: c.Retry.MaxBackoff,
		}
		var err error
		if c.Digest != "" {
			if s.Digest, err = schedule.Parse(c.Digest); err != nil {
				return nil, fmt.Errorf("subscription %s: digest: %w", c.Name, err)
			}
		}
		if c.RateLimit != "" {
			if s.RateLimit, err = schedule.ParseRate(c.RateLimit); err != nil {
				return nil, fmt.Errorf("subscription %s: rate_limit: %w", c.Name, err)
			}
		}
		switch {
		case c.Slack != nil:
			d := &Slack{Channel: c.Slack.Channel, APIURL: c.Slack.APIURL}
			if c.Slack.WebhookURLEnv != "" || c.Slack.WebhookURLFile != "" {
				d.WebhookURL, err = secret(c.Slack.WebhookURLEnv, c.Slack.WebhookURLFile)
			} else {
				d.Token, err = secret(c.Slack.TokenEnv, c.Slack.TokenFile)
			}
			s.Destination = d
		case c.Webhook != nil:
			d := &Webhook{URL: c.Webhook.URL}
			if c.Webhook.URLEnv != "" || c.Webhook.URLFile != "" {
				d.URL, err = secret(c.Webhook.URLEnv, c.Webhook.URLFile)
			}
			if err == nil && (c.Webhook.SecretEnv != "" || c.Webhook.SecretFile != "") {
				var sec string
				sec, err = secret(c.Webhook.SecretEnv, c.Webhook.SecretFile)
				d.Secret = []byte(sec)
			}
			s.Destination = d
		case c.Email != nil:
			d := &Email{Host: c.Email.SMTP.Host, Port: c.Email.SMTP.Port, TLS: c.Email.SMTP.TLS,
				Username: c.Email.SMTP.Username, From: c.Email.From, To: c.Email.To}
			if c.Email.SMTP.PasswordEnv != "" || c.Email.SMTP.PasswordFile != "" {
				d.Password, err = secret(c.Email.SMTP.PasswordEnv, c.Email.SMTP.PasswordFile)
			}
			if err == nil && c.Email.SMTP.CAFile != "" {
				d.RootCAs, err = loadCAs(c.Email.SMTP.CAFile)
				if err != nil {
					err = fmt.Errorf("subscription %s: %w", c.Name, err)
				}
			}
			s.Destination = d
		default:
			err = fmt.Errorf("subscription %s: no destination", c.Name)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// loadCAs reads a PEM bundle of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("smtp.ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("smtp.ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}
