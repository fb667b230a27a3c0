package maglev_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"xdpgw/control/maglev"
)

// The two sizes of the goals: the default table with a cluster of 16
// NAT64 servers (under 5 ms) and a ten times larger table with 100
// (under 50 ms).
var benchCases = []struct{ n, m int }{{16, 65537}, {100, 655373}}

func BenchmarkBuild(b *testing.B) {
	for _, bc := range benchCases {
		bs := macs(rand.New(rand.NewPCG(1, 1)), bc.n)
		b.Run(fmt.Sprintf("M=%d/N=%d", bc.m, bc.n), func(b *testing.B) {
			for b.Loop() {
				maglev.Build(bs, bc.m)
			}
		})
	}
	bs := macs(rand.New(rand.NewPCG(1, 1)), 16)
	for i := range bs {
		bs[i].Weight = uint32(1 + i%4)
	}
	b.Run("M=65537/N=16/weighted", func(b *testing.B) {
		for b.Loop() {
			maglev.Build(bs, 65537)
		}
	})
}

func BenchmarkUpdate(b *testing.B) {
	for _, bc := range benchCases {
		bs := macs(rand.New(rand.NewPCG(2, 2)), bc.n+1)
		old := mustBuild(b, bs[:bc.n], bc.m)
		b.Run(fmt.Sprintf("remove/M=%d/N=%d", bc.m, bc.n), func(b *testing.B) {
			set := without(bs[:bc.n], bc.n/2)
			for b.Loop() {
				maglev.Update(old, set)
			}
		})
		b.Run(fmt.Sprintf("add/M=%d/N=%d", bc.m, bc.n), func(b *testing.B) {
			for b.Loop() {
				maglev.Update(old, bs)
			}
		})
	}
}

func BenchmarkDiff(b *testing.B) {
	for _, bc := range benchCases {
		bs := macs(rand.New(rand.NewPCG(3, 3)), bc.n+1)
		old := mustBuild(b, bs[:bc.n], bc.m)
		plain := mustBuild(b, bs, bc.m)
		b.Run(fmt.Sprintf("M=%d/N=%d", bc.m, bc.n), func(b *testing.B) {
			for b.Loop() {
				maglev.Diff(old, plain)
			}
		})
	}
}

func BenchmarkLookup(b *testing.B) {
	tab := mustBuild(b, macs(rand.New(rand.NewPCG(4, 4)), 16), 65537)
	h := uint64(0x9e3779b97f4a7c15)
	var sink maglev.BackendID
	for b.Loop() {
		h = h*6364136223846793005 + 1442695040888963407
		sink += tab.Lookup(h)
	}
	_ = sink
}
