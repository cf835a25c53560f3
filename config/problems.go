package config

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong with a file, where it is.
type Problem struct {
	File      string
	Line, Col int
	Msg       string
}

func (p Problem) String() string {
	switch {
	case p.Line > 0 && p.Col > 0:
		return fmt.Sprintf("%s:%d:%d: %s", p.File, p.Line, p.Col, p.Msg)
	case p.Line > 0:
		return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
	default:
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
}

// Problems is every problem found; it is the error Load returns.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// AsProblems extracts Problems from err, if it holds some.
func AsProblems(err error) (Problems, bool) {
	var ps Problems
	ok := errors.As(err, &ps)
	return ps, ok
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// lineProblem turns yaml.v3's "line N: msg" into a Problem.
func lineProblem(file, msg string) Problem {
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: n, Msg: m[2]}
	}
	return Problem{File: file, Msg: msg}
}

func yamlProblem(file string, err error) Problem { return lineProblem(file, err.Error()) }

// position finds the line and column of a dotted path such as
// "feeds[2].url" in the YAML tree; it falls back to the nearest parent that
// exists, and to 0, 0 when nothing matches.
func position(root *yaml.Node, path string) (int, int) {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line, col := n.Line, n.Column
	for _, part := range strings.Split(path, ".") {
		key, idx := part, -1
		if i := strings.IndexByte(part, '['); i >= 0 && strings.HasSuffix(part, "]") {
			key = part[:i]
			idx, _ = strconv.Atoi(part[i+1 : len(part)-1])
		}
		next := mapValue(n, key)
		if next == nil {
			return line, col
		}
		n = next
		line, col = n.Line, n.Column
		if idx >= 0 {
			if n.Kind != yaml.SequenceNode || idx >= len(n.Content) {
				return line, col
			}
			n = n.Content[idx]
			line, col = n.Line, n.Column
		}
	}
	return line, col
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

var (
	unknownField = regexp.MustCompile("^field (\\S+) not found")
	badValue     = regexp.MustCompile("cannot unmarshal !!\\w+ `([^`]*)`")
)

// withCol adds the column to a yaml.v3 decode problem, which carries only
// a line: the key named by "field X not found", the value named by
// "cannot unmarshal !!T `V`", else the first node on the line.
func withCol(root *yaml.Node, p Problem) Problem {
	if p.Line == 0 || p.Col > 0 || root == nil {
		return p
	}
	want := ""
	if m := unknownField.FindStringSubmatch(p.Msg); m != nil {
		want = m[1]
	} else if m := badValue.FindStringSubmatch(p.Msg); m != nil {
		want = m[1]
	}
	first := 0
	var walk func(n *yaml.Node) bool
	walk = func(n *yaml.Node) bool {
		if n.Line == p.Line && n.Kind == yaml.ScalarNode {
			if first == 0 || n.Column < first {
				first = n.Column
			}
			if want != "" && (n.Value == want || strings.HasPrefix(n.Value, strings.TrimSuffix(want, "..."))) {
				p.Col = n.Column
				return true
			}
		}
		for _, c := range n.Content {
			if walk(c) {
				return true
			}
		}
		return false
	}
	if !walk(root) && first > 0 {
		p.Col = first
	}
	return p
}
