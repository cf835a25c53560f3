package config

import (
	"strings"
	"testing"
)

func TestRolesDefaultAll(t *testing.T) {
	cfg, err := Parse("w.yaml", nil, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{RolePoll, RoleProcess, RoleNotify} {
		if !cfg.Runs(r) {
			t.Errorf("default config does not run %s", r)
		}
	}
}

func TestRolesSubset(t *testing.T) {
	cfg, err := Parse("w.yaml", []byte("roles: [poll, notify]\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Runs(RolePoll) || cfg.Runs(RoleProcess) || !cfg.Runs(RoleNotify) {
		t.Errorf("roles [poll, notify]: runs poll %v, process %v, notify %v", cfg.Runs(RolePoll), cfg.Runs(RoleProcess), cfg.Runs(RoleNotify))
	}
}

func TestRolesProblems(t *testing.T) {
	for src, want := range map[string]string{
		"data_dir: d\nroles: [poll, fetch]\n": `w.yaml:2:15: roles[1]: "fetch" is not one of poll, process, notify`,
		"roles: [poll, poll]\n":               `w.yaml:1:15: roles[1]: "poll" is listed twice`,
		"roles: []\n":                         `w.yaml:1:8: roles: is empty`,
	} {
		_, err := Parse("w.yaml", []byte(src), noEnv)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", src, err, want)
		}
	}
}
