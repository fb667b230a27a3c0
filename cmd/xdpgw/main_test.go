package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"xdpgw/control/config"
	"xdpgw/tools/fixture"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"
)

func runCmd(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	rc := run(args, &out, &errb)
	return rc, out.String(), errb.String()
}

func TestConfigDefaultChecks(t *testing.T) {
	rc, out, errs := runCmd("config", "default")
	if rc != 0 || !strings.Contains(out, "tenants:") {
		t.Fatalf("config default: rc %d stderr %q", rc, errs)
	}
	path := filepath.Join(t.TempDir(), "default.yaml")
	os.WriteFile(path, []byte(out), 0o644)
	if rc, out, errs := runCmd("config", "check", path); rc != 0 || !strings.Contains(out, "ok") {
		t.Fatalf("config check of the default: rc %d out %q err %q", rc, out, errs)
	}
}

func TestConfigCheckNamesPathAndLine(t *testing.T) {
	def := string(config.DefaultYAML())
	tests := []struct {
		name    string
		edit    func(string) string
		wantMsg []string
	}{
		{
			name: "unknown key",
			edit: func(s string) string {
				return strings.Replace(s, "    role: external\n", "    role: external\n    mtuu: 9000\n", 1)
			},
			wantMsg: []string{"ports[0].mtuu", ":"},
		},
		{
			name:    "bad CIDR",
			edit:    func(s string) string { return strings.Replace(s, "prefix: 1.1.1.0/24", "prefix: 1.1.1.0/33", 1) },
			wantMsg: []string{"vrfs[0].routes[0].prefix", "1.1.1.0/33"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := tt.edit(def)
			if edited == def {
				t.Fatal("the edit did not apply: the default changed shape")
			}
			path := filepath.Join(t.TempDir(), "bad.yaml")
			os.WriteFile(path, []byte(edited), 0o644)
			rc, _, errs := runCmd("config", "check", path)
			if rc == 0 {
				t.Fatal("bad config accepted")
			}
			// The line of the bad field, as the file has it.
			line := 0
			for i, l := range strings.Split(edited, "\n") {
				if strings.Contains(l, "mtuu") || strings.Contains(l, "/33") {
					line = i + 1
					break
				}
			}
			wantLoc := filepath.Base(path) + ":" + strconv.Itoa(line) + ":"
			if !strings.Contains(errs, wantLoc) {
				t.Errorf("error %q does not give the line as %q", errs, wantLoc)
			}
			for _, m := range tt.wantMsg {
				if !strings.Contains(errs, m) {
					t.Errorf("error %q does not mention %q", errs, m)
				}
			}
		})
	}
}

func TestReplayCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	good := fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "172.168.0.11").UDP(1, 2).Bytes()
	bad := fixture.SetIPv4IHL(fixture.New().Eth("02:00:00:00:02:07", "02:00:00:00:01:01").IPv4("1.1.1.7", "172.168.0.11").UDP(1, 2).Bytes(), 14, 2)
	var b bytes.Buffer
	w := pcapgo.NewWriter(&b)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	for _, f := range [][]byte{good, bad} {
		w.WritePacket(gopacket.CaptureInfo{CaptureLength: len(f), Length: len(f)}, f)
	}
	os.WriteFile(in, b.Bytes(), 0o644)

	rc, out, errs := runCmd("replay", "--in", in, "--port", "internet", "--out", filepath.Join(dir, "out.pcapng"), "--out-dir", filepath.Join(dir, "ports"))
	if rc != 0 {
		t.Fatalf("rc %d: %s", rc, errs)
	}
	for _, want := range []string{"frames read: 2", "bad_ip_header_len", "underlay"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "ports", "underlay.pcap")); err != nil {
		t.Error(err)
	}
	if rc, _, errs := runCmd("replay", "--in", filepath.Join(dir, "missing.pcap")); rc == 0 || !strings.Contains(errs, "missing.pcap") {
		t.Errorf("missing input: rc %d err %q", rc, errs)
	}
	if rc, _, _ := runCmd("replay"); rc != 2 {
		t.Errorf("replay without --in: rc %d, want 2 (usage)", rc)
	}
}

func TestUnknownCommand(t *testing.T) {
	if rc, _, errs := runCmd("frobnicate"); rc != 2 || !strings.Contains(errs, "unknown command") {
		t.Fatalf("rc %d err %q", rc, errs)
	}
}

func TestCtlErrors(t *testing.T) {
	if rc, _, _ := runCmd("ctl"); rc != 2 {
		t.Errorf("ctl without a verb: rc %d, want 2", rc)
	}
	if rc, _, errs := runCmd("ctl", "frob"); rc != 2 || !strings.Contains(errs, "unknown verb") {
		t.Errorf("unknown verb: rc %d %q", rc, errs)
	}
	sock := filepath.Join(t.TempDir(), "none.sock")
	if rc, _, errs := runCmd("ctl", "--socket", sock, "stats"); rc != 1 || !strings.Contains(errs, "is xdpgw running") {
		t.Errorf("no daemon: rc %d %q", rc, errs)
	}
}
