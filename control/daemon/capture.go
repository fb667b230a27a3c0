package daemon

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"xdpgw/control/replay"
	"xdpgw/dataplane/pipeline"
)

// Live capture over the local API (`xdpgw ctl capture`):
//
//	GET /v1/capture?port=NAME&count=N&seconds=S&snaplen=L
//
// streams a pcapng file of the frames the data plane receives on port
// (every port if absent or "all"), as they arrived, with one pcapng
// interface per port named after it, so that `xdpgw replay --in FILE` with
// the same configuration runs them through the pipeline again. It ends
// after count frames (0: no limit), after seconds (default 10, at most
// 3600), when the client goes away or when the daemon stops. The trailers Xdpgw-Capture-Frames
// and Xdpgw-Capture-Dropped say how many frames were written and how many
// were not copied because the capture ring was full.

const (
	captureSlots       = 8192 // frames buffered per worker between reads
	captureDefaultSnap = 2048
	captureMaxSeconds  = 3600
)

func (d *daemon) apiCapture(names []string, stop <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		port := uint16(pipeline.AllPorts)
		if p := q.Get("port"); p != "" && p != "all" {
			i := -1
			for j, n := range names {
				if n == p {
					i = j
				}
			}
			if i < 0 {
				http.Error(w, "capture: no port named "+strconv.Quote(p), http.StatusBadRequest)
				return
			}
			port = uint16(i)
		}
		count, err1 := queryInt(q.Get("count"), 0, 0, 1<<31)
		secs, err2 := queryInt(q.Get("seconds"), 10, 1, captureMaxSeconds)
		snap, err3 := queryInt(q.Get("snaplen"), captureDefaultSnap, 64, pipeline.MaxCaptureSnap)
		if err := errors.Join(err1, err2, err3); err != nil {
			http.Error(w, "capture: "+err.Error(), http.StatusBadRequest)
			return
		}
		c, err := d.dp.StartCapture(port, snap, captureSlots)
		if err != nil {
			http.Error(w, "capture: "+err.Error(), http.StatusConflict)
			return
		}
		defer d.dp.StopCapture(c)
		d.log.Info("capture: started", "port", q.Get("port"), "count", count, "seconds", secs, "snaplen", snap)

		w.Header().Set("Content-Type", "application/x-pcapng")
		w.Header().Set("Trailer", "Xdpgw-Capture-Frames, Xdpgw-Capture-Dropped")
		ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{Name: names[0], LinkType: layers.LinkTypeEthernet, SnapLength: uint32(snap)},
			pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "xdpgw ctl capture", Comment: replay.NewCaptureContext(d.dp.Env(), names)}})
		if err != nil {
			d.log.Warn("capture: cannot write", "err", err)
			return
		}
		for _, n := range names[1:] {
			if _, err := ng.AddInterface(pcapgo.NgInterface{Name: n, LinkType: layers.LinkTypeEthernet, SnapLength: uint32(snap)}); err != nil {
				return
			}
		}
		flusher, _ := w.(http.Flusher)
		written := 0
		var werr error
		deadline := time.NewTimer(time.Duration(secs) * time.Second)
		defer deadline.Stop()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for done := false; !done; {
			select {
			case <-r.Context().Done():
				done = true
			case <-stop:
				done = true
			case <-deadline.C:
				done = true
			case <-tick.C:
			}
			c.Read(func(p uint16, t int64, origLen int, data []byte) {
				if werr != nil || (count > 0 && written >= count) || int(p) >= len(names) {
					return
				}
				ci := gopacket.CaptureInfo{Timestamp: pipeline.WallTime(t), CaptureLength: len(data), Length: origLen, InterfaceIndex: int(p)}
				if werr = ng.WritePacket(ci, data); werr == nil {
					written++
				}
			})
			if werr == nil {
				werr = ng.Flush()
			}
			if flusher != nil {
				flusher.Flush()
			}
			if werr != nil || (count > 0 && written >= count) {
				done = true
			}
		}
		w.Header().Set("Xdpgw-Capture-Frames", strconv.Itoa(written))
		w.Header().Set("Xdpgw-Capture-Dropped", strconv.FormatUint(c.Dropped(), 10))
		d.log.Info("capture: ended", "frames", written, "dropped", c.Dropped(), "err", werr)
	}
}

// queryInt parses a query parameter: def when absent, an error outside
// [lo, hi].
func queryInt(s string, def, lo, hi int) (int, error) {
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < lo || v > hi {
		return 0, errors.New("bad value " + strconv.Quote(s) + ": want " + strconv.Itoa(lo) + ".." + strconv.Itoa(hi))
	}
	return v, nil
}
