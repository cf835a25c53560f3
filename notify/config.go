package notify

import (
	"fmt"

	"github.com/wirewatch/wirewatch/config"
)

// FromConfig builds the subscriptions of the config, reading secrets from
// the environment variables it names through getenv. A variable that is
// named but empty is an error naming the variable, never its value.
func FromConfig(subs []config.Subscription, getenv func(string) string) ([]Subscription, error) {
	out := make([]Subscription, 0, len(subs))
	for _, c := range subs {
		env := func(name string) (string, error) {
			v := getenv(name)
			if v == "" {
				return "", fmt.Errorf("subscription %s: environment variable %s is empty or not set", c.Name, name)
			}
			return v, nil
		}
		s := Subscription{
			Name: c.Name, Topics: c.Topics, MinScore: c.MinScore, Sources: c.Sources, Languages: c.Languages,
			Entities: c.Entities, BreakingOnly: c.BreakingOnly, Timeout: c.Timeout,
			Attempts: c.Retry.Attempts, Backoff: c.Retry.Backoff, MaxBackoff: c.Retry.MaxBackoff,
		}
		var err error
		switch {
		case c.Slack != nil:
			d := &Slack{Channel: c.Slack.Channel, APIURL: c.Slack.APIURL}
			if c.Slack.WebhookURLEnv != "" {
				d.WebhookURL, err = env(c.Slack.WebhookURLEnv)
			} else {
				d.Token, err = env(c.Slack.TokenEnv)
			}
			s.Destination = d
		case c.Webhook != nil:
			d := &Webhook{URL: c.Webhook.URL}
			if c.Webhook.URLEnv != "" {
				d.URL, err = env(c.Webhook.URLEnv)
			}
			if err == nil && c.Webhook.SecretEnv != "" {
				var sec string
				sec, err = env(c.Webhook.SecretEnv)
				d.Secret = []byte(sec)
			}
			s.Destination = d
		case c.Email != nil:
			d := &Email{Host: c.Email.SMTP.Host, Port: c.Email.SMTP.Port, TLS: c.Email.SMTP.TLS,
				Username: c.Email.SMTP.Username, From: c.Email.From, To: c.Email.To}
			if c.Email.SMTP.PasswordEnv != "" {
				d.Password, err = env(c.Email.SMTP.PasswordEnv)
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
