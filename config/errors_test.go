package config

import (
	"strings"
	"testing"
)

// Every invalid config gives file:line:col and a message that names the
// key and what is wrong with it.
func TestInvalidConfigsCarryLineAndColumn(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"unknown top-level key", "data_dir: x\nfeedz: []\n", "c.yaml:2:1: field feedz not found"},
		{"unknown nested key", "fetch:\n  timeout: 5s\n  tiemout: 5s\n", "c.yaml:3:3: field tiemout not found"},
		{"unknown key in a feed", "feeds:\n  - url: https://a.example/f\n    nmae: A\n", "c.yaml:3:5: field nmae not found"},
		{"wrong type: map for a string", "data_dir:\n  a: b\n", "c.yaml:2:3: "},
		{"wrong type: string for an int", "fetch:\n  concurrency: many\n", "c.yaml:2:16: cannot unmarshal !!str `many` into int"},
		{"bad duration", "poll:\n  interval: soon\n", "c.yaml:2:13: cannot unmarshal !!str `soon`"},
		{"bad duration in a feed", "feeds:\n  - url: https://a.example/f\n    interval: 5 minutes\n", "c.yaml:3:15: cannot unmarshal !!str `5 minutes`"},
		{"bad CIDR", "fetch:\n  allow_networks: [10.0.0.0/8, 300.1.0.0/16]\n", `c.yaml:2:32: fetch.allow_networks[1]: "300.1.0.0/16" is not a CIDR`},
		{"bad feed URL scheme", "feeds:\n  - url: file:///etc/passwd\n", `c.yaml:2:10: feeds[0].url: "file:///etc/passwd": scheme must be http or https`},
		{"duplicate feed", "feeds:\n  - url: https://a.example/f\n  - url: https://a.example/f\n", `c.yaml:3:10: feeds[1].url: "https://a.example/f" is already listed as feeds[0]`},
		{"bad NATS URL", "nats:\n  url: ftp://x\n", `c.yaml:2:8: nats.url: "ftp://x": scheme "ftp" is not nats`},
		{"bad log level", "log:\n  level: chatty\n", `c.yaml:2:10: log.level: "chatty" is not one of`},
		{"subscription: unknown key", "subscriptions:\n  - name: a\n    topcis: [x]\n", "c.yaml:3:5: field topcis not found"},
		{"subscription: wrong type", "subscriptions:\n  - name: a\n    min_score: high\n", "c.yaml:3:16: cannot unmarshal !!str `high`"},
		{"subscription: bad timeout", "subscriptions:\n  - name: a\n    timeout: later\n", "c.yaml:3:14: cannot unmarshal !!str `later`"},
		{"dedup: unknown key", "dedup:\n  nera: true\n", "c.yaml:2:3: field nera not found"},
		{"dedup: stories wrong type", "dedup:\n  stories:\n    breaking_sources: lots\n", "c.yaml:3:23: cannot unmarshal !!str `lots`"},
		{"dedup: bad window", "dedup:\n  stories:\n    breaking_window: a while\n", "c.yaml:3:22: cannot unmarshal !!str `a while`"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(c.src), noEnv)
			if err == nil {
				t.Fatalf("accepted:\n%s", c.src)
			}
			ps, ok := AsProblems(err)
			if !ok {
				t.Fatalf("not Problems: %v", err)
			}
			for _, p := range ps {
				if p.Line == 0 || p.Col == 0 {
					t.Errorf("problem without line and column: %q", p)
				}
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("got:\n%s\nwant it to contain:\n%s", err, c.want)
			}
		})
	}
}
