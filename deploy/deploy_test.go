package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/wirewatch/wirewatch/config"
)

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestPromtoolRules is `promtool check rules` and `promtool test rules`
// over deploy/prometheus.
func TestPromtoolRules(t *testing.T) {
	promtool := requireTool(t, "promtool", "apt-get install -y prometheus")
	run(t, promtool, "check", "rules", "prometheus/wirewatch.rules.yml")
	tests, _ := filepath.Glob("prometheus/tests/*.yml")
	if len(tests) == 0 {
		t.Fatal("no promtool unit tests in deploy/prometheus/tests")
	}
	out := run(t, promtool, append([]string{"test", "rules"}, tests...)...)
	if !strings.Contains(out, "SUCCESS") {
		t.Fatalf("promtool test rules:\n%s", out)
	}
}

// TestPrometheusConfig is `promtool check config` over the scrape config,
// with the rule file path it expects (/etc/prometheus/rules/) pointed at
// the project's rules.
func TestPrometheusConfig(t *testing.T) {
	promtool := requireTool(t, "promtool", "apt-get install -y prometheus")
	b, err := os.ReadFile("prometheus/prometheus.yml")
	if err != nil {
		t.Fatal(err)
	}
	rules, _ := filepath.Abs("prometheus/wirewatch.rules.yml")
	conf := strings.ReplaceAll(string(b), "/etc/prometheus/rules/wirewatch.rules.yml", rules)
	if conf == string(b) {
		t.Fatal("prometheus.yml no longer loads /etc/prometheus/rules/wirewatch.rules.yml; update this test")
	}
	p := filepath.Join(t.TempDir(), "prometheus.yml")
	if err := os.WriteFile(p, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, promtool, "check", "config", p)
}

// TestComposeConfig validates deploy/compose.yaml with `docker compose
// config` or docker-compose (neither needs a running engine).
func TestComposeConfig(t *testing.T) {
	var out []byte
	var err error
	if _, e := exec.LookPath("docker"); e == nil && exec.Command("docker", "compose", "version").Run() == nil {
		out, err = exec.Command("docker", "compose", "-f", "compose.yaml", "config", "-q").CombinedOutput()
	} else {
		bin := requireTool(t, "docker-compose", "apt-get install -y docker-compose")
		out, err = exec.Command(bin, "-f", "compose.yaml", "config", "-q").CombinedOutput()
	}
	if err != nil {
		t.Fatalf("compose config: %v\n%s", err, out)
	}
	var c struct {
		Services map[string]struct {
			Image   string   `yaml:"image"`
			Volumes []string `yaml:"volumes"`
		} `yaml:"services"`
	}
	readYAML(t, "compose.yaml", &c)
	for _, s := range []string{"nats-1", "nats-2", "nats-3", "wirewatch-1", "wirewatch-2", "prometheus", "grafana"} {
		if _, ok := c.Services[s]; !ok {
			t.Errorf("compose.yaml: no service %s", s)
		}
	}
	// Every file the compose file mounts exists.
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("compose.yaml: service %s mounts %s: %v", name, src, err)
				}
			}
		}
	}
}

// TestExampleConfigsLoad loads the daemons' config files (compose and the
// Kubernetes ConfigMap) with the project's own config loader.
func TestExampleConfigsLoad(t *testing.T) {
	if _, err := config.Load("compose/wirewatch.yaml"); err != nil {
		t.Errorf("compose/wirewatch.yaml: %v", err)
	}
	var cm struct {
		Data map[string]string `yaml:"data"`
	}
	readYAML(t, "kubernetes/configmap.yaml", &cm)
	p := filepath.Join(t.TempDir(), "wirewatch.yaml")
	if err := os.WriteFile(p, []byte(cm.Data["wirewatch.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(p); err != nil {
		t.Errorf("kubernetes/configmap.yaml wirewatch.yaml: %v", err)
	}
}

// TestKubernetesManifests parses every manifest and checks what an
// operator relies on: probes on /healthz and /readyz, resources, a
// non-root read-only container, the secret wired to the password variable.
// (kubeconform's schemas cannot be fetched on this machine.)
func TestKubernetesManifests(t *testing.T) {
	files, _ := filepath.Glob("kubernetes/*.yaml")
	kinds := map[string]int{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		for {
			var doc map[string]any
			err := dec.Decode(&doc)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			kind, _ := doc["kind"].(string)
			if doc["apiVersion"] == nil || kind == "" {
				t.Errorf("%s: a document without apiVersion or kind", f)
			}
			kinds[kind]++
			if kind == "Deployment" {
				checkDeployment(t, f, b)
			}
		}
	}
	for _, k := range []string{"Deployment", "ConfigMap", "Secret", "Service", "Kustomization"} {
		if kinds[k] == 0 {
			t.Errorf("no %s in deploy/kubernetes", k)
		}
	}
}

func checkDeployment(t *testing.T, f string, b []byte) {
	t.Helper()
	type probe struct {
		HTTPGet struct {
			Path string `yaml:"path"`
		} `yaml:"httpGet"`
	}
	var d struct {
		Kind string `yaml:"kind"`
		Spec struct {
			Template struct {
				Spec struct {
					Containers []struct {
						Env []struct {
							Name      string `yaml:"name"`
							ValueFrom struct {
								SecretKeyRef struct {
									Name string `yaml:"name"`
								} `yaml:"secretKeyRef"`
							} `yaml:"valueFrom"`
						} `yaml:"env"`
						Liveness  probe `yaml:"livenessProbe"`
						Readiness probe `yaml:"readinessProbe"`
						Resources struct {
							Requests map[string]string `yaml:"requests"`
							Limits   map[string]string `yaml:"limits"`
						} `yaml:"resources"`
						SecurityContext struct {
							ReadOnlyRootFilesystem   bool `yaml:"readOnlyRootFilesystem"`
							AllowPrivilegeEscalation bool `yaml:"allowPrivilegeEscalation"`
						} `yaml:"securityContext"`
					} `yaml:"containers"`
					SecurityContext struct {
						RunAsNonRoot bool `yaml:"runAsNonRoot"`
					} `yaml:"securityContext"`
				} `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	for dec.Decode(&d) == nil && d.Kind != "Deployment" {
	}
	spec := d.Spec.Template.Spec
	if len(spec.Containers) != 1 {
		t.Fatalf("%s: want one container, have %d", f, len(spec.Containers))
	}
	c := spec.Containers[0]
	if c.Liveness.HTTPGet.Path != "/healthz" || c.Readiness.HTTPGet.Path != "/readyz" {
		t.Errorf("%s: probes %q %q, want /healthz and /readyz", f, c.Liveness.HTTPGet.Path, c.Readiness.HTTPGet.Path)
	}
	if c.Resources.Requests["memory"] == "" || c.Resources.Limits["memory"] == "" || c.Resources.Requests["cpu"] == "" {
		t.Errorf("%s: resources requests and limits are required: %+v", f, c.Resources)
	}
	if !spec.SecurityContext.RunAsNonRoot || !c.SecurityContext.ReadOnlyRootFilesystem || c.SecurityContext.AllowPrivilegeEscalation {
		t.Errorf("%s: want runAsNonRoot, readOnlyRootFilesystem, no privilege escalation", f)
	}
	found := false
	for _, e := range c.Env {
		if e.Name == "WIREWATCH_NATS_PASSWORD" && e.ValueFrom.SecretKeyRef.Name == "wirewatch" {
			found = true
		}
	}
	if !found {
		t.Errorf("%s: WIREWATCH_NATS_PASSWORD must come from the wirewatch Secret", f)
	}
}

// TestSystemdUnit runs `systemd-analyze verify` on the unit (with
// ExecStart pointed at an existing binary) and checks its hardening.
func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("systemd/wirewatch.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{"DynamicUser=yes", "ProtectSystem=strict", "NoNewPrivileges=yes", "ProtectHome=yes",
		"PrivateTmp=yes", "CapabilityBoundingSet=\n", "SystemCallFilter=@system-service", "StateDirectory=wirewatch", "ExecReload=/bin/kill -HUP $MAINPID"} {
		if !strings.Contains(unit, want) {
			t.Errorf("wirewatch.service lacks %q", strings.TrimSpace(want))
		}
	}
	sa := requireTool(t, "systemd-analyze", "apt-get install -y systemd")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "wirewatch.service")
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(unit, "/usr/local/bin/wirewatch", exe)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", p).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// TestDockerfile checks the image's promises: multi-stage, a static
// binary, a non-root user. (No Docker engine runs here to build it.)
func TestDockerfile(t *testing.T) {
	b, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	if strings.Count(df, "\nFROM ") < 2 {
		t.Error("Dockerfile: want a multi-stage build")
	}
	for _, want := range []string{"CGO_ENABLED=0", "USER 65532", "distroless/static", "./cmd/wirewatch"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Contains(df, "USER root") || strings.Contains(df, "USER 0") {
		t.Error("Dockerfile: the runtime user must not be root")
	}
}
