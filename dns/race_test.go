//go:build race

package dns

// raceEnabled: the race detector multiplies memory, so the RSS test skips.
const raceEnabled = true
