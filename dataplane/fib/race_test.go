//go:build race

package fib_test

// raceEnabled scales the randomised tests down under the race detector,
// which slows the linear-scan reference by an order of magnitude.
const raceEnabled = true
