//go:build tools

// Package tools pins grafana/dashboard-linter for CI (.ci/run builds it
// from this module: the proxy serves this version but not its version
// list, so `go install ...@version` cannot be used).
package tools

import _ "github.com/grafana/dashboard-linter"
