package replay

import (
	"encoding/json"
	"io"
	"net"
	"strings"

	"github.com/google/gopacket/pcapgo"

	"xdpgw/control/config"
	"xdpgw/dataplane/pipeline"
)

// CaptureContext is what replaying a live capture (`xdpgw ctl capture`)
// needs from the daemon besides its configuration: the ports' MACs (the
// daemon reads them from the interfaces when the configuration leaves them
// out, so a replay would otherwise drop every frame as for another host)
// and the neighbours it had learned from the kernel (a replay has no
// kernel to ask). It travels as JSON in the pcapng section comment, after
// CaptureContextPrefix.
type CaptureContext struct {
	Ports      map[string]string  `json:"ports"` // port name -> MAC
	Neighbours []CaptureNeighbour `json:"neighbours"`
}

// CaptureNeighbour is one neighbour of a CaptureContext.
type CaptureNeighbour struct {
	Port string `json:"port"`
	IP   string `json:"ip"`
	MAC  string `json:"mac"`
}

// CaptureContextPrefix starts the section comment of a capture file.
const CaptureContextPrefix = "xdpgw-capture "

// NewCaptureContext describes env, whose ports are named names, as the
// section comment of a capture file.
func NewCaptureContext(env *pipeline.Env, names []string) string {
	c := CaptureContext{Ports: map[string]string{}}
	for i, n := range names {
		if i < len(env.Ports) {
			c.Ports[n] = net.HardwareAddr(env.Ports[i].MAC[:]).String()
		}
	}
	for _, e := range env.Neigh.Load().Entries() {
		// Multicast entries of the kernel's table are never next hops
		// (and a configuration refuses them).
		if int(e.Port) < len(names) && e.MAC[0]&1 == 0 && e.MAC != ([6]byte{}) {
			c.Neighbours = append(c.Neighbours, CaptureNeighbour{Port: names[e.Port], IP: e.Addr.String(), MAC: net.HardwareAddr(e.MAC[:]).String()})
		}
	}
	b, err := json.Marshal(c)
	if err != nil {
		return ""
	}
	return CaptureContextPrefix + string(b)
}

// ReadCaptureContext returns the context of a capture file written by
// `xdpgw ctl capture`, or nil for any other file (classic pcap, another
// tool's pcapng), and rewinds in to its start either way.
func ReadCaptureContext(in io.ReadSeeker) (*CaptureContext, error) {
	defer in.Seek(0, io.SeekStart)
	r, err := pcapgo.NewNgReader(in, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		return nil, nil // not pcapng (or unreadable: Run says why)
	}
	comment, ok := strings.CutPrefix(r.SectionInfo().Comment, CaptureContextPrefix)
	if !ok {
		return nil, nil
	}
	var c CaptureContext
	if err := json.Unmarshal([]byte(comment), &c); err != nil {
		return nil, err
	}
	return &c, nil
}

// Apply makes cfg describe the capture's daemon: ports without a MAC in
// the configuration get the daemon's, and its neighbours are added as
// static entries after the configuration's own (which win).
func (c *CaptureContext) Apply(cfg *config.Config) {
	for i := range cfg.Ports {
		p := &cfg.Ports[i]
		if mac, ok := c.Ports[p.Name]; ok && p.MAC == "" {
			p.MAC = mac
		}
	}
	have := map[[2]string]bool{}
	for _, n := range cfg.Neighbors {
		have[[2]string{n.Port, n.IP}] = true
	}
	for _, n := range c.Neighbours {
		if !have[[2]string{n.Port, n.IP}] {
			cfg.Neighbors = append(cfg.Neighbors, config.Neighbor{Port: n.Port, IP: n.IP, MAC: n.MAC})
		}
	}
}
