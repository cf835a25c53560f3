package config

import (
	"strings"
	"testing"
)

func TestHTTPPprof(t *testing.T) {
	cfg, err := Parse("empty.yaml", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.HTTP.Pprof {
		t.Error("http.pprof is on by default")
	}
	cfg, err = Parse("on.yaml", []byte("http:\n  pprof: true\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.HTTP.Pprof || cfg.HTTP.Listen != "127.0.0.1:9464" {
		t.Errorf("http: %+v, want pprof on the default listen address", cfg.HTTP)
	}
	_, err = Parse("bad.yaml", []byte("http:\n  listen: \"\"\n  pprof: true\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:3:10: http.pprof: needs http.listen") {
		t.Errorf("pprof without a listen address: %v", err)
	}
	_, err = Parse("bad.yaml", []byte("http:\n  pprof: please\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "bad.yaml:2") {
		t.Errorf("pprof: please: %v, want a type error at line 2", err)
	}
}
