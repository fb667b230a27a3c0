module xdpgw

go 1.26

require (
	github.com/cilium/ebpf v0.22.0
	github.com/google/gopacket v1.1.19
	github.com/vishvananda/netlink v1.3.1
	github.com/vishvananda/netns v0.0.5
	golang.org/x/sys v0.43.0
	gopkg.in/yaml.v3 v3.0.1
)

require golang.org/x/net v0.48.0 // indirect
