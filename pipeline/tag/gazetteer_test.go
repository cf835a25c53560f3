package tag

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wirewatch/wirewatch/pipeline"
)

func TestDefaultGazetteer(t *testing.T) {
	g := Default()
	if g.Len() < 150 {
		t.Errorf("default gazetteer has %d entities, want at least 150", g.Len())
	}
	if g.Name() != "gazetteer.yaml" {
		t.Errorf("Name() = %q", g.Name())
	}
	counts := map[string]int{}
	for _, e := range g.Entities() {
		counts[e.Type]++
		if !validType(e.Type) || strings.TrimSpace(e.Name) != e.Name || e.Name == "" {
			t.Errorf("bad entity %+v", e)
		}
	}
	for _, typ := range []string{TypePerson, TypePlace, TypeOrg} {
		if counts[typ] < 30 {
			t.Errorf("only %d entities of type %s", counts[typ], typ)
		}
	}
	// Every canonical name tags itself, as that entity and nothing else.
	tg := New(g)
	for _, e := range g.Entities() {
		got := tg.Tag(e.Name, "")
		if len(got) != 1 || got[0] != e {
			t.Errorf("Tag(%q) = %v, want just %v", e.Name, got, e)
		}
	}
}

func TestLoadMinimal(t *testing.T) {
	g, err := Load("mini.yaml", []byte(`version: 1
entities:
  - name: Kyiv
    type: place
    aliases: [Kiev]
  - {name: United States, type: place, case_sensitive_aliases: [US]}
  - {name: Turkey, type: place, case_sensitive_aliases: [Turkey]}
  - {name: St Petersburg, type: place, aliases: [St. Petersburg]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if g.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", g.Len())
	}
	tg := New(g)
	for _, c := range []struct {
		text string
		want []pipeline.Entity
	}{
		{"KIEV and kyiv", []pipeline.Entity{{Type: "place", Name: "Kyiv"}}},
		{"the US and us", []pipeline.Entity{{Type: "place", Name: "United States"}}},
		{"tell us", nil},
		// A name listed as case-sensitive is not also added case-insensitively.
		{"roast turkey", nil},
		{"Turkey said", []pipeline.Entity{{Type: "place", Name: "Turkey"}}},
		// Punctuation from a redundant spelling is merged into the first.
		{"in St. Petersburg", []pipeline.Entity{{Type: "place", Name: "St Petersburg"}}},
		{"in St Petersburg", []pipeline.Entity{{Type: "place", Name: "St Petersburg"}}},
	} {
		if got := tg.Tag("", c.text); !equalEntities(got, c.want) {
			t.Errorf("Tag(%q) = %v, want %v", c.text, got, c.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want []string // one line per error, in order
		is   error
	}{
		{
			name: "unknown type",
			yaml: "version: 1\nentities:\n  - {name: Kyiv, type: place}\n  - {name: Kherson, type: city}\n",
			want: []string{`bad.yaml:4: unknown type: "city" for entity "Kherson" (want person, place or org)`},
			is:   ErrUnknownType,
		},
		{
			name: "missing type",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n",
			want: []string{`bad.yaml:3: unknown type: entity "Kyiv" has no type (want person, place or org)`},
			is:   ErrUnknownType,
		},
		{
			name: "empty name",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place\n  - name: \"  \"\n    type: place\n",
			want: []string{`bad.yaml:5: empty name: entity name is empty`},
			is:   ErrEmptyName,
		},
		{
			name: "no name",
			yaml: "version: 1\nentities:\n  - type: org\n",
			want: []string{`bad.yaml:3: empty name: entity has no name`},
			is:   ErrEmptyName,
		},
		{
			name: "alias names two entities",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place\n    aliases: [Kiev]\n  - name: Kyiv Oblast\n    type: place\n    aliases:\n      - KIEV\n",
			want: []string{`bad.yaml:9: duplicate alias: alias "KIEV" of place "Kyiv Oblast" already names place "Kyiv" (line 5)`},
			is:   ErrDuplicateAlias,
		},
		{
			name: "case-insensitive alias shadows a case-sensitive one",
			yaml: "version: 1\nentities:\n  - {name: United States, type: place, case_sensitive_aliases: [US]}\n  - {name: Us Weekly, type: org, aliases: [us]}\n",
			want: []string{`bad.yaml:4: duplicate alias: alias "us" of org "Us Weekly" already names place "United States" (line 3)`},
			is:   ErrDuplicateAlias,
		},
		{
			name: "alias equals another entity's name",
			yaml: "version: 1\nentities:\n  - {name: Georgia, type: place}\n  - {name: Georgia Meloni, type: person, aliases: [Georgia]}\n",
			want: []string{`bad.yaml:4: duplicate alias: alias "Georgia" of person "Georgia Meloni" already names place "Georgia" (line 3)`},
			is:   ErrDuplicateAlias,
		},
		{
			name: "duplicate entity",
			yaml: "version: 1\nentities:\n  - {name: Kyiv, type: place}\n  - {name: Kyiv, type: place}\n",
			want: []string{`bad.yaml:4: duplicate entity: place "Kyiv" already defined at line 3`},
			is:   ErrDuplicateEntity,
		},
		{
			name: "alias without words",
			yaml: "version: 1\nentities:\n  - {name: Kyiv, type: place, aliases: [\"--\"]}\n",
			want: []string{`bad.yaml:3: bad alias: alias "--" of "Kyiv" has no words`},
			is:   ErrAlias,
		},
		{
			name: "unknown field",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place\n    alias: [Kiev]\n",
			want: []string{`bad.yaml:5: bad field: unknown field "alias" in an entity (want name, type, aliases, case_sensitive_aliases)`},
			is:   ErrField,
		},
		{
			name: "aliases not a list",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place\n    aliases: Kiev\n",
			want: []string{`bad.yaml:5: bad field: aliases must be a list of strings`},
			is:   ErrField,
		},
		{
			name: "wrong version",
			yaml: "version: 2\nentities: []\n",
			want: []string{`bad.yaml:1: unsupported version: version "2" (want 1)`},
			is:   ErrVersion,
		},
		{
			name: "missing version",
			yaml: "entities: []\n",
			want: []string{`bad.yaml:1: unsupported version: missing version (want version: 1)`},
			is:   ErrVersion,
		},
		{
			name: "syntax",
			yaml: "version: 1\nentities:\n  - {name: Kyiv, type: place\n",
			// yaml.v3 gives the line where the broken flow mapping starts.
			want: []string{`bad.yaml:3: syntax error: did not find expected ',' or '}'`},
			is:   ErrSyntax,
		},
		{
			name: "syntax, block mapping",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place\n   aliases: [Kiev]\n",
			want: []string{`bad.yaml:3: syntax error: did not find expected '-' indicator`},
			is:   ErrSyntax,
		},
		{
			name: "syntax, scanner",
			yaml: "version: 1\nentities:\n  - name: Kyiv\n    type: place: city\n",
			want: []string{`bad.yaml:4: syntax error: mapping values are not allowed in this context`},
			is:   ErrSyntax,
		},
		{
			name: "syntax, tab",
			yaml: "version: 1\nentities:\n\t- name: Kyiv\n",
			want: []string{`bad.yaml:3: syntax error: found character that cannot start any token`},
			is:   ErrSyntax,
		},
		{
			name: "empty file",
			yaml: "",
			want: []string{`bad.yaml: bad field: empty file: want version and entities`},
			is:   ErrField,
		},
		{
			name: "several problems reported together",
			yaml: "version: 1\nentities:\n  - {name: A, type: thing}\n  - {name: '', type: place}\n  - {name: B, type: org, aliases: [A B]}\n  - {name: C, type: org, aliases: [a b]}\n",
			want: []string{
				`bad.yaml:3: unknown type: "thing" for entity "A" (want person, place or org)`,
				`bad.yaml:4: empty name: entity name is empty`,
				`bad.yaml:6: duplicate alias: alias "a b" of org "C" already names org "B" (line 5)`,
			},
			is: ErrUnknownType,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, err := Load("bad.yaml", []byte(c.yaml))
			if err == nil {
				t.Fatalf("Load succeeded with %d entities, want error", g.Len())
			}
			if got := strings.Split(err.Error(), "\n"); !equalStrings(got, c.want) {
				t.Errorf("error:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
			if !errors.Is(err, c.is) {
				t.Errorf("errors.Is(err, %v) = false", c.is)
			}
			var le *LoadError
			if !errors.As(err, &le) || le.File != "bad.yaml" {
				t.Errorf("error %v is not a *LoadError naming the file", err)
			}
		})
	}
}

func TestLoadErrorsCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("version: 1\nentities:\n")
	for range 50 {
		b.WriteString("  - {name: X, type: thing}\n")
	}
	_, err := Load("many.yaml", []byte(b.String()))
	if err == nil {
		t.Fatal("want error")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != maxErrors+1 || !strings.HasSuffix(lines[maxErrors], "too many errors") {
		t.Errorf("got %d lines, last %q; want %d and a final 'too many errors'", len(lines), lines[len(lines)-1], maxErrors+1)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "g.yaml")
	if err := os.WriteFile(path, []byte("version: 1\nentities:\n  - {name: Kyiv, type: town}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFile(path)
	if want := path + `:3: unknown type: "town" for entity "Kyiv" (want person, place or org)`; err == nil || err.Error() != want {
		t.Errorf("LoadFile error %v, want %s", err, want)
	}
	_, err = LoadFile(filepath.Join(dir, "missing.yaml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("LoadFile(missing) error %v, want fs.ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("version: 1\nentities:\n  - {name: Kyiv, type: place}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g, err := LoadFile(path)
	if err != nil || g.Len() != 1 || g.Name() != path {
		t.Errorf("LoadFile = %v, %v", g, err)
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalEntities(a, b []pipeline.Entity) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
