package daemon

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"xdpgw/control/config"
	"xdpgw/dataplane/pipeline"
	"xdpgw/tools/fixture"
)

// GET /v1/sessions (xdpgw ctl sessions): filters, paging, bad queries.
func TestAPISessions(t *testing.T) {
	_, dp := testDataplane(t, config.Default())
	w := dp.NewWorker()
	send := func(port uint16, frame []byte) {
		buf := make([]byte, 4096)
		n := copy(buf[256:], frame)
		fr := []pipeline.Frame{{Buf: buf, Off: 256, Len: n, InPort: port}}
		w.Process(fr, 1e9)
		w.Flush()
		if fr[0].Verdict != pipeline.VerdictTx {
			t.Fatalf("setup frame dropped: %v", fr[0].Drop)
		}
	}
	for _, sp := range []uint16{50000, 50001, 50002} {
		send(2, fixture.New().Eth("02:00:00:00:04:07", "02:00:00:00:01:03").IPv6("2001:db8:6::7", "64:ff9b::202:20b").TCP(sp, 80, "S").Bytes())
	}
	send(0, fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "2.2.2.11").TCP(40000, 22, "S").Bytes())

	d := &daemon{dp: dp}
	get := func(query string) (int, []pipeline.SessionInfo, int) {
		rec := httptest.NewRecorder()
		d.apiSessions(rec, httptest.NewRequest(http.MethodGet, "/v1/sessions?"+query, nil))
		var out struct {
			Sessions []pipeline.SessionInfo `json:"sessions"`
			Next     int                    `json:"next"`
		}
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		return rec.Code, out.Sessions, out.Next
	}
	for _, tc := range []struct {
		query string
		n     int
		kind  string
	}{
		{"", 7, ""}, // 3 sessions, 3 bindings, 1 flow
		{"kind=nat64", 3, "nat64"},
		{"kind=bib", 3, "bib"},
		{"kind=flow&addr=1.1.1.7", 1, "flow"},
		{"addr=2001:db8:6::7", 6, ""},
		{"addr=2001:db8:6::8", 0, ""},
	} {
		code, ss, next := get(tc.query)
		if code != http.StatusOK || len(ss) != tc.n || next != 0 {
			t.Errorf("%q: %d, %d sessions, next %d; want 200, %d, 0", tc.query, code, len(ss), next, tc.n)
		}
		for _, s := range ss {
			if tc.kind != "" && s.Kind != tc.kind {
				t.Errorf("%q: a %s session", tc.query, s.Kind)
			}
		}
	}
	// Paging: 7 sessions by 3.
	seen, from, pages := 0, 0, 0
	for {
		code, ss, next := get("limit=3&from=" + strconv.Itoa(from))
		if code != http.StatusOK || len(ss) > 3 {
			t.Fatalf("page %d: %d, %d sessions", pages, code, len(ss))
		}
		seen += len(ss)
		pages++
		if next == 0 {
			break
		}
		from = next
	}
	if seen != 7 || pages < 3 {
		t.Errorf("paging saw %d sessions in %d pages, want 7 in 3 or more", seen, pages)
	}
	for _, q := range []string{"limit=0", "limit=x", "from=-1", "kind=nat46", "addr=300.1.1.1"} {
		if code, _, _ := get(q); code != http.StatusBadRequest {
			t.Errorf("%q: %d, want 400", q, code)
		}
	}
}
