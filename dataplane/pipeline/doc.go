// Package pipeline is the per-packet core of xdpgw: the stages of design.md
// (parse -> classify -> fast path -> slow path -> output), the verdicts, the
// per-worker counters and the Port interface that the AF_XDP engine and the
// pcap replayer both implement. The same Worker.Process runs under `xdpgw
// run` and `xdpgw replay`.
//
// Rules for everything in this package (checked by tests):
//   - no allocation, lock, channel operation, interface call, map or fmt
//     per packet; interface calls (Port) happen once per batch;
//   - the immutable tables (Env) are loaded once per batch through an
//     atomic.Pointer, so a configuration reload never blocks a worker;
//   - every frame that is not sent ends with a DropReason or as Local;
//     a malformed frame is counted and dropped, never a panic.
//
// This package must never import control/, gRPC, fmt or any logging package.
package pipeline
