//go:build race

package manager_test

// raceEnabled: the race detector slows gRPC and protobuf ten-fold, so the
// one-second deadline is not checked under it.
const raceEnabled = true
