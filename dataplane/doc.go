// Package dataplane holds everything a worker touches per packet: packet
// views (packet), checksums (checksum), longest-prefix match (fib), the
// neighbour table (neigh) and the pipeline. Its packages must never import
// control/, gRPC, fmt or any logging package, and never allocate, lock or
// make interface calls per packet; imports_test.go keeps the import rule.
package dataplane
