// Package gen is xdpgw's traffic generator and sink for the testbeds and
// the on-veth benchmarks (`xdpgw gen`, `xdpgw bench ceiling`,
// testbed/bench.sh).
//
// # Sending: BPF_PROG_RUN with live frames
//
// The sender runs an XDP program with BPF_PROG_RUN and the flag
// BPF_F_TEST_XDP_LIVE_FRAMES (the technique of xdp-trafficgen, whose
// binary does not load on this kernel: ../shared/docs/xdp-on-veth.md).
// The kernel builds a page pool of frames initialised from the template,
// runs the program on each and transmits the frames the program returns
// XDP_TX for on the interface named by the context's ingress_ifindex,
// which must be in the calling thread's network namespace. On a veth that
// is ndo_xdp_xmit into the peer's NAPI ring: it delivers only when the
// peer has an XDP program attached or GRO on (otherwise the peer has no
// NAPI instance and every frame is dropped at xmit).
//
// Two programs:
//
//   - minimal: `r0 = XDP_TX; exit`. Nothing counts, the sender counts
//     Repeat per call; the frame never changes (one flow).
//   - counting (the default): a per-CPU counter of frames run, and, for
//     more than one flow, a rewrite of the frame's source port to
//     SrcPort + n mod Flows with an incremental checksum update (RFC 1624).
//
// Varying flows: the frame data is copied into each page of the page
// pool once, when the page is created, and pages are recycled without
// being re-initialised (the kernel only resets the xdp_buff pointers of a
// frame whose head was moved). So a program's writes persist in the page:
// the rewrite must write the absolute port (not increment what it finds)
// and fix the checksum from the value it finds. Sending a different
// template per BPF_PROG_RUN call would vary flows only every call (tens of
// thousands of frames); the in-program rewrite varies them every frame at
// the cost of a map lookup and a dozen instructions.
//
// Pacing (SendOptions.Rate): the counting program compares
// bpf_ktime_get_ns with a schedule in a one-entry array map (next frame
// time, interval, slack, in picoseconds): an iteration whose time has not
// come returns XDP_DROP (not sent, not counted), the others are sent and
// advance the schedule by one interval. Frames leave evenly spaced; after
// a stall of the sender (another task, the ~17 ms between two calls) it
// catches up by at most 32 frames, so the receiving veth's 256-frame ring
// never sees a flood of the generator's making. Bursts (each period's
// frames sent at once, as before) overflowed that ring at any offered rate
// and made a loss-free rate unmeasurable.
//
// EINTR: cilium/ebpf retries an interrupted BPF_PROG_RUN from the start,
// so the Repeat count is a lower bound of what was sent when signals
// arrive (the Go runtime's preemption signal among them: run with
// GODEBUG=asyncpreemptoff=1, which `xdpgw gen` arranges). The counting
// program's counter is exact.
//
// # AF_XDP sender: not built
//
// An AF_XDP socket in copy mode (the only mode veth offers) transmits
// through the veth's ndo_start_xmit as an skb, one sendto per batch: the
// path of netsniff-ng's trafgen, measured at ~0.7 Mpps here. It would be
// a fallback for kernels without LIVE_FRAMES (before 5.18); every kernel
// this project runs on has it, so the sender fails with ErrNotSupported
// there instead.
//
// # Sink
//
// A counting XDP program (per-CPU packets and bytes) attached to an
// interface, read from Go. It passes ARP and ICMPv6 to the kernel (so
// neighbours resolve) and drops (or, for the XDP_TX ceiling, reflects)
// everything else.
//
// This package is control plane: it may import anything but is never
// imported by dataplane/.
package gen
