package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) string { return "" }

func TestEmptyFileIsDefaults(t *testing.T) {
	cfg, err := Parse("empty.yaml", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != "./data" || cfg.NATS.Listen != "127.0.0.1:4222" || cfg.Poll.Interval != 5*time.Minute {
		t.Errorf("defaults not applied: %+v", cfg)
	}
}

func TestParseFull(t *testing.T) {
	src := `
data_dir: /var/lib/wirewatch
nats:
  url: "nats://a:4222,nats://b:4222"
  replicas: 3
http:
  listen: 0.0.0.0:9464
fetch:
  allow_networks: [10.1.0.0/16]
feeds:
  - url: https://example.org/world.rss
    interval: 2m
    name: Example World
`
	cfg, err := Parse("w.yaml", []byte(src), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.Replicas != 3 || len(cfg.Feeds) != 1 || cfg.Feeds[0].Interval != 2*time.Minute {
		t.Errorf("got %+v", cfg)
	}
	if n := cfg.AllowedNetworks(); len(n) != 1 || n[0].String() != "10.1.0.0/16" {
		t.Errorf("allow_networks = %v", n)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{"WIREWATCH_NATS_URL": "nats://x:4222", "WIREWATCH_DATA_DIR": "/tmp/ww"}
	cfg, err := Parse("w.yaml", []byte("data_dir: ./d\n"), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.NATS.URL != "nats://x:4222" || cfg.DataDir != "/tmp/ww" {
		t.Errorf("env not applied: %+v", cfg)
	}
}

// Every problem is reported at once, each with file:line:col.
func TestProblemsCarryPositions(t *testing.T) {
	src := `data_dir: ./d
nats:
  url: "http://nope"
fetch:
  allow_networks:
    - 10.0.0.0/8
    - not-a-cidr
feeds:
  - url: https://ok.example/a.rss
  - url: ftp://x.example/b.rss
  - url: https://ok.example/a.rss
    interval: 1ms
log:
  level: loud
`
	_, err := Parse("bad.yaml", []byte(src), noEnv)
	ps, ok := AsProblems(err)
	if !ok {
		t.Fatalf("want Problems, got %v", err)
	}
	want := []string{
		`bad.yaml:3:8: nats.url: "http://nope": scheme "http" is not nats`,
		`bad.yaml:7:7: fetch.allow_networks[1]: "not-a-cidr" is not a CIDR`,
		`bad.yaml:10:10: feeds[1].url: "ftp://x.example/b.rss": scheme must be http or https`,
		`bad.yaml:11:10: feeds[2].url: "https://ok.example/a.rss" is already listed as feeds[0]`,
		`bad.yaml:12:15: feeds[2].interval: 1ms is too short`,
		`bad.yaml:14:10: log.level: "loud" is not one of`,
	}
	text := err.Error()
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("missing %q in:\n%s", w, text)
		}
	}
	if len(ps) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(ps), len(want), text)
	}
}

func TestUnknownKeyAndTypeErrors(t *testing.T) {
	_, err := Parse("u.yaml", []byte("data_dir: x\nfeedz: []\npoll:\n  interval: soon\n"), noEnv)
	if err == nil {
		t.Fatal("want error")
	}
	for _, w := range []string{"u.yaml:2:1: field feedz not found", "u.yaml:4:13: cannot unmarshal"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("missing %q in %q", w, err)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("s.yaml", []byte("a: [1, 2\n"), noEnv)
	if err == nil || !strings.HasPrefix(err.Error(), "s.yaml:") {
		t.Fatalf("want s.yaml:line error, got %v", err)
	}
}

func TestRelativePathsAndMissingFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "topics.yaml"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "w.yaml")
	if err := os.WriteFile(path, []byte("topics: topics.yaml\nopml: missing.opml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), "w.yaml:2:7: opml:") {
		t.Fatalf("want a problem for the missing opml at 2:7, got %v", err)
	}
	if err := os.WriteFile(path, []byte("topics: topics.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Topics != filepath.Join(dir, "topics.yaml") {
		t.Errorf("topics resolved to %q", cfg.Topics)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("data_dir: x\nfeeds:\n  - url: https://a.example/\n"))
	f.Add([]byte("nats: {url: 'nats://a:1'}\n"))
	f.Add([]byte("- - -\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("nil config without error")
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}
