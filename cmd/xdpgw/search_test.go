package main

import (
	"context"
	"io"
	"testing"
)

// fakeDUT carries up to capacity pps and loses the excess; it delivers
// what is asked for.
func fakeDUT(capacity float64, calls *int) func(float64) (genReport, error) {
	return func(rate float64) (genReport, error) {
		*calls++
		sent := uint64(rate * 3)
		recv := sent
		if rate > capacity {
			recv = uint64(capacity * 3)
		}
		return genReport{Sent: sent, Received: recv, Seconds: 3, SentPPS: rate, Loss: float64(sent-recv) / float64(sent)}, nil
	}
}

func TestSearchRate(t *testing.T) {
	for _, c := range []struct{ start, capacity float64 }{
		{1e6, 1e6 * 1.005}, // start just below capacity: bracket upwards
		{4e6, 0.45e6},      // flat-out hint far above: downwards
		{0.1e6, 0.35e6},    // far below
	} {
		calls := 0
		res, err := searchRate(context.Background(), searchParams{MaxLoss: 0.01, Start: c.start}, fakeDUT(c.capacity, &calls), io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		// The true answer is capacity/(1-0.01); the search stops within
		// searchPrecision of it or when the probes run out.
		limit := c.capacity / 0.99
		if res.Best.Rate > limit || res.Best.Rate < limit/searchPrecision/searchPrecision {
			t.Errorf("start %.0f capacity %.0f: best %.0f, want about %.0f (probes %+v)", c.start, c.capacity, res.Best.Rate, limit, res.Probes)
		}
		if calls != len(res.Probes) || calls > searchMaxProbes {
			t.Errorf("%d calls, %d probes recorded, max %d", calls, len(res.Probes), searchMaxProbes)
		}
		if !res.Best.Pass || res.Above <= res.Best.Rate {
			t.Errorf("best %+v, fail above %.0f", res.Best, res.Above)
		}
	}
}

func TestSearchNeverPasses(t *testing.T) {
	calls := 0
	res, err := searchRate(context.Background(), searchParams{MaxLoss: 0.01, Start: 1e6}, fakeDUT(0, &calls), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if res.Best.Rate != 0 || calls > searchMaxProbes {
		t.Errorf("best %+v after %d probes, want none", res.Best, calls)
	}
}

// TestSearchNeverFlatOut: a probe never asks for rate 0 (flat out).
func TestSearchNeverFlatOut(t *testing.T) {
	calls := 0
	dut := fakeDUT(0, &calls)
	_, err := searchRate(context.Background(), searchParams{MaxLoss: 0.01, Start: 1e6}, func(r float64) (genReport, error) {
		if r <= 0 {
			t.Fatalf("probe at rate %v", r)
		}
		return dut(r)
	}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
}
