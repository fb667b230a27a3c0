package main

import (
	"errors"
	"flag"
	"io"
	"net/netip"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	base := []string{"--local", "172.168.0.11", "--remote", "172.168.0.1", "--addr", "10.0.0.7/24"}
	with := func(extra ...string) []string { return append(append([]string(nil), base...), extra...) }
	tests := []struct {
		name  string
		args  []string
		check func(t *testing.T, o options)
		err   string // substring of the error; empty for success
	}{
		{name: "minimal unkeyed", args: base, check: func(t *testing.T, o options) {
			if o.name != "gre1" || o.hasKey || o.mtu != 1476 || o.csum || o.verbose {
				t.Errorf("got %+v", o)
			}
			if o.local != netip.MustParseAddr("172.168.0.11") || o.remote != netip.MustParseAddr("172.168.0.1") {
				t.Errorf("addresses %v %v", o.local, o.remote)
			}
		}},
		{name: "keyed tenant 1", args: with("--key", "1000", "--name", "tun1"), check: func(t *testing.T, o options) {
			if !o.hasKey || o.key != 1000 || o.mtu != 1472 || o.name != "tun1" {
				t.Errorf("got %+v", o)
			}
			if c := o.greConfig(); !c.HasKey || c.Key != 1000 || c.Local != o.local || c.Remote != o.remote {
				t.Errorf("greConfig %+v", c)
			}
		}},
		{name: "key 0 is a key", args: with("--key", "0"), check: func(t *testing.T, o options) {
			if !o.hasKey || o.key != 0 {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "key hex", args: with("--key", "0x3e8"), check: func(t *testing.T, o options) {
			if o.key != 1000 {
				t.Errorf("key %d", o.key)
			}
		}},
		{name: "key dotted quad", args: with("--key", "0.0.3.232"), check: func(t *testing.T, o options) {
			if o.key != 1000 {
				t.Errorf("key %d", o.key)
			}
		}},
		{name: "key and csum mtu", args: with("--key", "1", "--csum"), check: func(t *testing.T, o options) {
			if o.mtu != 1468 || !o.csum {
				t.Errorf("got %+v", o)
			}
		}},
		{name: "addresses and routes", args: with("-addr6", "fd00::7/64", "--route", "0.0.0.0/0", "--route", "1.1.1.0/24", "--route", "::/0", "--mtu", "1400", "-v"),
			check: func(t *testing.T, o options) {
				if len(o.addrs) != 2 || o.addrs[1] != netip.MustParsePrefix("fd00::7/64") {
					t.Errorf("addrs %v", o.addrs)
				}
				if len(o.routes) != 3 || o.routes[1] != netip.MustParsePrefix("1.1.1.0/24") {
					t.Errorf("routes %v", o.routes)
				}
				if o.mtu != 1400 || !o.verbose {
					t.Errorf("got %+v", o)
				}
			}},
		{name: "only addr6", args: []string{"--local", "192.0.2.1", "--remote", "192.0.2.2", "--addr6", "fd00::1/64"}},
		{name: "no local", args: []string{"--remote", "172.168.0.1", "--addr", "10.0.0.7/24"}, err: "--local is required"},
		{name: "no remote", args: []string{"--local", "172.168.0.1", "--addr", "10.0.0.7/24"}, err: "--remote is required"},
		{name: "bad local", args: with("--local", "172.168.0.256"), err: `bad address "172.168.0.256"`},
		{name: "ipv6 underlay", args: with("--remote", "2001:db8::1"), err: "only an IPv4 underlay"},
		{name: "multicast remote", args: with("--remote", "224.0.0.1"), err: "not a unicast address"},
		{name: "same ends", args: with("--remote", "172.168.0.11"), err: "both 172.168.0.11"},
		{name: "no address", args: []string{"--local", "192.0.2.1", "--remote", "192.0.2.2"}, err: "--addr or --addr6 is required"},
		{name: "addr without length", args: with("--addr", "10.0.0.8"), err: `bad prefix "10.0.0.8"`},
		{name: "ipv6 in addr", args: with("--addr", "fd00::1/64"), err: "not IPv4"},
		{name: "ipv4 in addr6", args: with("--addr6", "10.0.0.1/24"), err: "not IPv6"},
		{name: "route host bits", args: with("--route", "1.1.1.7/24"), err: "did you mean 1.1.1.0/24"},
		{name: "key too big", args: with("--key", "4294967296"), err: "bad key"},
		{name: "key negative", args: with("--key", "-1"), err: "bad key"},
		{name: "mtu too small", args: with("--mtu", "67"), err: "out of range"},
		{name: "mtu too big", args: with("--mtu", "65516"), err: "out of range"},
		{name: "ipv6 needs 1280", args: with("--addr6", "fd00::1/64", "--mtu", "1279"), err: "at least 1280"},
		{name: "name too long", args: with("--name", "a23456789012345x"), err: "longer than 15"},
		{name: "name with slash", args: with("--name", "a/b"), err: "not a valid interface name"},
		{name: "empty name", args: with("--name", ""), err: "--name is empty"},
		{name: "stray argument", args: with("extra"), err: `unexpected argument "extra"`},
		{name: "unknown flag", args: with("--ttl", "3"), err: "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseArgs(tt.args, io.Discard)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("parseArgs error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseArgs: %v", err)
			}
			if tt.check != nil {
				tt.check(t, o)
			}
		})
	}
}

func TestParseArgsHelp(t *testing.T) {
	var out strings.Builder
	if _, err := parseArgs([]string{"-h"}, &out); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseArgs(-h) error = %v, want flag.ErrHelp", err)
	}
	if !strings.Contains(out.String(), "usage: greendpoint") || !strings.Contains(out.String(), "-route") {
		t.Errorf("usage text:\n%s", out.String())
	}
}

func TestDefaultMTU(t *testing.T) {
	// The kernel's ip_gre on a 1500-byte link: 1476, 1472 with a key.
	for _, tt := range []struct {
		hasKey, csum bool
		want         int
	}{{false, false, 1476}, {true, false, 1472}, {false, true, 1472}, {true, true, 1468}} {
		if got := defaultMTU(tt.hasKey, tt.csum); got != tt.want {
			t.Errorf("defaultMTU(%v, %v) = %d, want %d", tt.hasKey, tt.csum, got, tt.want)
		}
	}
}
