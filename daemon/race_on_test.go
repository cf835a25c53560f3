//go:build race

package daemon_test

// raceEnabled: the race detector is on; heavy tests scale down.
const raceEnabled = true
