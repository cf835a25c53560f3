package config

import (
	"fmt"
	"slices"
)

// The roles a daemon can run (key `roles`, default all three).
const (
	// RolePoll polls the feeds this daemon owns and publishes to INGEST.
	RolePoll = "poll"
	// RoleProcess runs the pipeline: a competing consumer on INGEST.
	RoleProcess = "process"
	// RoleNotify runs the subscriptions' notifiers: competing consumers on
	// ALERTS.
	RoleNotify = "notify"
)

// AllRoles are the roles in the order they are documented.
var allRoles = []string{RolePoll, RoleProcess, RoleNotify}

// Runs reports whether the daemon runs role (an empty list runs all).
func (c *Config) Runs(role string) bool {
	return len(c.Roles) == 0 || slices.Contains(c.Roles, role)
}

func (c *Config) validateRoles(bad func(path, format string, args ...any)) {
	if c.Roles != nil && len(c.Roles) == 0 {
		bad("roles", "is empty: list at least one of poll, process, notify, or leave the key out for all")
	}
	seen := map[string]bool{}
	for i, r := range c.Roles {
		switch {
		case !slices.Contains(allRoles, r):
			bad(fmt.Sprintf("roles[%d]", i), "%q is not one of poll, process, notify", r)
		case seen[r]:
			bad(fmt.Sprintf("roles[%d]", i), "%q is listed twice", r)
		}
		seen[r] = true
	}
}
