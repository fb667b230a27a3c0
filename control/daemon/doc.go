// Package daemon is `xdpgw run`: it brings the configured ports up on
// AF_XDP (dataplane/afxdp), loads and attaches the XDP program
// (control/daemon/xdpprog), keeps the data plane's neighbour table in step
// with the kernel's (netlink), reloads the configuration on SIGHUP and
// shuts down cleanly on SIGINT/SIGTERM, detaching everything it attached.
// It also runs the control-plane roles of system B (roles.go,
// docs/scaleout.md): the BGP speaker (nat64: VIP and pools, access: the
// /96; drained by SIGUSR1, resumed by SIGUSR2), the software access
// target's P4Runtime server, the manager, and the local API on api.socket.
//
// One goroutine owns all the daemon's state (the gobgp pattern): signals,
// netlink neighbour updates, neighbour misses reported by the workers and
// the stats ticker all arrive in one select loop, so nothing here is
// locked. The packet path runs in the engine's workers and never waits for
// this goroutine: configuration and neighbours reach it through
// atomic.Pointer swaps (pipeline.Dataplane.Publish, neigh.Cache.Publish).
package daemon
