package deploy_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// dashboard is the part of Grafana's dashboard JSON the checks read.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Editable   *bool   `json:"editable"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Type        string      `json:"type"`
	Title       string      `json:"title"`
	Description string      `json:"description"`
	Datasource  *datasource `json:"datasource"`
	Targets     []struct {
		Expr       string      `json:"expr"`
		RefID      string      `json:"refId"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []panel `json:"panels"` // collapsed rows
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Label      string          `json:"label"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *datasource     `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// queryString is the variable's query, whether Grafana stored it as a
// string or as an object with a "query" field.
func (v variable) queryString() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	_ = json.Unmarshal(v.Query, &o)
	return o.Query
}

func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

func dashboardFiles(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("grafana/dashboards/*.json")
	if err != nil || len(files) < 4 {
		t.Fatalf("want 4+ dashboards in deploy/grafana/dashboards, found %v (%v)", files, err)
	}
	return files
}

func readDashboard(t *testing.T, path string) dashboard {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return d
}

var (
	rateFuncRE   = regexp.MustCompile(`\b(rate|irate|increase|deriv|delta|idelta)\(([^()]|\([^()]*\))*?\[([^\]]+)\]\)`)
	selectorRE2  = regexp.MustCompile(`\b(wirewatch_[a-z0-9_]+|go_[a-z0-9_]+|process_[a-z0-9_]+|up)(\{[^}]*\})?`)
	jobMatch     = `job=~"$job"`
	instanceMatc = `instance=~"$instance"`
)

// TestDashboardsLint applies the rules of grafana/dashboard-linter
// (template-datasource, template-job, template-instance, panel-datasource,
// panel-title-description, panel-units, target-rate-interval, target-job,
// target-instance) without the linter binary, so `go test` alone keeps
// them. CI also runs the linter itself, built from the pinned module in
// .ci/dashboard-linter: `dashboard-linter lint --strict FILE` for each
// dashboard (it also wants `editable: false` and labelled Job and
// Instance variables).
func TestDashboardsLint(t *testing.T) {
	uids := map[string]string{}
	for _, path := range dashboardFiles(t) {
		name := filepath.Base(path)
		d := readDashboard(t, path)
		if d.Editable == nil || *d.Editable {
			t.Errorf("%s: want editable: false (provisioned dashboards are changed in the repo)", name)
		}
		if d.UID == "" || d.Title == "" {
			t.Errorf("%s: uid and title are required (provisioning keys on the uid)", name)
		}
		if prev, ok := uids[d.UID]; ok {
			t.Errorf("%s: uid %q already used by %s", name, d.UID, prev)
		}
		uids[d.UID] = name

		vars := map[string]variable{}
		for _, v := range d.Templating.List {
			vars[v.Name] = v
		}
		if v, ok := vars["datasource"]; !ok || v.Type != "datasource" || v.queryString() != "prometheus" || v.Label != "Data source" {
			t.Errorf("%s: want a variable datasource of type datasource, query prometheus, label \"Data source\"; have %+v", name, v)
		}
		for n, label := range map[string]string{"job": "Job", "instance": "Instance"} {
			v, ok := vars[n]
			switch {
			case !ok:
				t.Errorf("%s: no %s variable", name, n)
			case v.Label != label || v.Type != "query" || !v.Multi || !v.IncludeAll || v.AllValue != ".+":
				t.Errorf("%s: variable %s: want label %s, type query, multi, include all, allValue .+; have %+v", name, n, label, v)
			case v.Datasource == nil || v.Datasource.UID != "${datasource}":
				t.Errorf("%s: variable %s must use the ${datasource} variable", name, n)
			}
		}

		panels := d.allPanels()
		if len(panels) < 5 {
			t.Errorf("%s: only %d panels", name, len(panels))
		}
		for _, p := range panels {
			where := name + ": panel " + p.Title
			if p.Title == "" || p.Description == "" {
				t.Errorf("%s: title and description are required", where)
			}
			if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
				t.Errorf("%s: panel datasource must be ${datasource}", where)
			}
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit", where)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no query", where)
			}
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.UID != "${datasource}" {
					t.Errorf("%s %s: target datasource must be ${datasource}", where, tg.RefID)
				}
				for _, m := range rateFuncRE.FindAllStringSubmatch(tg.Expr, -1) {
					if m[3] != "$__rate_interval" {
						t.Errorf("%s %s: %s over [%s], want [$__rate_interval]", where, tg.RefID, m[1], m[3])
					}
				}
				if strings.Contains(tg.Expr, "[") && !strings.Contains(tg.Expr, "$__rate_interval") {
					t.Errorf("%s %s: range without $__rate_interval: %s", where, tg.RefID, tg.Expr)
				}
				for _, s := range selectorRE2.FindAllStringSubmatch(tg.Expr, -1) {
					if !strings.Contains(s[2], jobMatch) || !strings.Contains(s[2], instanceMatc) {
						t.Errorf("%s %s: selector %s lacks %s and %s", where, tg.RefID, s[0], jobMatch, instanceMatc)
					}
				}
			}
		}
	}
}
