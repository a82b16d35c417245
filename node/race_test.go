//go:build race

package node_test

// raceEnabled reports whether the tests run under the race detector,
// which makes large in-process clusters several times slower.
const raceEnabled = true
