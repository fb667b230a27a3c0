package daemon

import (
	"net/http"
	"net/netip"
	"strconv"

	"xdpgw/dataplane/pipeline"
	"xdpgw/dataplane/session"
)

// Limits of GET /v1/sessions (xdpgw ctl sessions).
const (
	sessionsDefaultLimit = 100
	sessionsMaxLimit     = 100_000
)

// apiSessions serves GET /v1/sessions: the session table's entries as
// pipeline.SessionInfo, optionally only those of one kind (kind=flow,
// nat64, bib, fragment) or with one address in either key (addr=), at most
// limit of them, from entry index from on. "next" is where to continue (0
// when the table was read to its end). The table is read without stopping
// the workers (session.Table.Range): a dump under traffic sees each session
// as it was when read. A filtered request reads the whole table (66 ns per
// entry on the development VM: 7 s for 100M sessions) unless it fills
// limit first.
func (d *daemon) apiSessions(w http.ResponseWriter, r *http.Request) {
	tab := d.dp.Sessions()
	if tab == nil {
		http.Error(w, "no session table", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	limit, from := sessionsDefaultLimit, 0
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > sessionsMaxLimit {
			http.Error(w, "limit: a number from 1 to "+strconv.Itoa(sessionsMaxLimit), http.StatusBadRequest)
			return
		}
	}
	if v := q.Get("from"); v != "" {
		if from, err = strconv.Atoi(v); err != nil || from < 0 {
			http.Error(w, "from: an entry index (the \"next\" of the previous answer)", http.StatusBadRequest)
			return
		}
	}
	kind := q.Get("kind")
	switch kind {
	case "", "flow", "nat64", "bib", "fragment":
	default:
		http.Error(w, "kind: flow, nat64, bib or fragment", http.StatusBadRequest)
		return
	}
	var addr netip.Addr
	if v := q.Get("addr"); v != "" {
		if addr, err = netip.ParseAddr(v); err != nil {
			http.Error(w, "addr: "+err.Error(), http.StatusBadRequest)
			return
		}
	}
	env := d.dp.Env()
	now := pipeline.Now()
	out := struct {
		Sessions []pipeline.SessionInfo `json:"sessions"`
		Next     int                    `json:"next"`
	}{Sessions: []pipeline.SessionInfo{}}
	next := tab.Range(from, func(fwd *session.Key, e *session.Entry) bool {
		if addr.IsValid() && !pipeline.SessionMatches(fwd, e, addr) {
			return true
		}
		in := env.DescribeSession(tab, fwd, e, now)
		if kind != "" && in.Kind != kind {
			return true
		}
		out.Sessions = append(out.Sessions, in)
		return len(out.Sessions) < limit
	})
	if next < tab.Capacity() {
		out.Next = next
	}
	writeJSON(w, out)
}
