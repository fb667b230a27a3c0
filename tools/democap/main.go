// Command democap writes the demo capture of `make demo`: the frames of
// tools/fixture.Demo for the embedded default configuration, as pcapng with
// one interface per port so that `xdpgw replay` knows where each frame came
// in.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"xdpgw/control/config"
	"xdpgw/tools/fixture"
)

func main() {
	out := flag.String("o", "demo.pcapng", "output pcapng")
	list := flag.Bool("list", false, "also print what each frame is meant to show")
	flag.Parse()
	if err := write(*out, *list); err != nil {
		fmt.Fprintln(os.Stderr, "democap:", err)
		os.Exit(1)
	}
}

func write(path string, list bool) error {
	cfg := config.Default()
	frames, err := fixture.Demo(cfg)
	if err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{Name: cfg.Ports[0].Name, LinkType: layers.LinkTypeEthernet},
		pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "xdpgw democap"}})
	if err != nil {
		return err
	}
	ids := map[string]int{cfg.Ports[0].Name: 0}
	for _, p := range cfg.Ports[1:] {
		id, err := w.AddInterface(pcapgo.NgInterface{Name: p.Name, LinkType: layers.LinkTypeEthernet})
		if err != nil {
			return err
		}
		ids[p.Name] = id
	}
	t0 := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for i, fr := range frames {
		id, ok := ids[fr.Port]
		if !ok {
			return fmt.Errorf("frame %d: no port %q", i+1, fr.Port)
		}
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(fr.Data), Length: len(fr.Data), InterfaceIndex: id}
		if err := w.WritePacket(ci, fr.Data); err != nil {
			return err
		}
		if list {
			fmt.Printf("#%-3d %-9s %s\n", i+1, fr.Port, fr.Desc)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
