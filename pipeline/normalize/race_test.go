//go:build race

package normalize

// raceEnabled reports a build with the race detector, which makes the
// dataset test read a sample to stay fast.
const raceEnabled = true
