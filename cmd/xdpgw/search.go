package main

import (
	"context"
	"fmt"
	"io"
	"math"
)

// The rate search (`xdpgw gen -search`, `xdpgw bench ceiling -search`):
// the highest offered rate a device under test carries with at most a
// given loss. Flat-out figures measure an overloaded DUT, which spends CPU
// on frames it drops later; this one measures it at its best.
//
// It brackets first, from a hint (the flat-out throughput, say): up by
// searchStep while probes pass, or down while they fail; then it bisects
// (geometric means) until the bracket is within searchPrecision or the
// probes run out. Going down, the next rate is also at most what the
// failed probe carried (an overloaded DUT carries about its capacity, or
// less). A probe passes when its loss is at most maxLoss; a probe that
// failed narrowly (loss at most searchRetryLoss times maxLoss) is run once
// more and passes if the second run does (the machine is shared: one
// interruption of the DUT's CPU by another job must not decide the
// figure).

const (
	searchStep      = 1.3
	searchPrecision = 1.04
	searchMaxProbes = 14
	searchRetryLoss = 5
)

type searchParams struct {
	MaxLoss float64 // e.g. 0.01
	Start   float64 // pps: the first probe
	Max     float64 // pps: never probe above (0: 20x Start)
	Min     float64 // pps: give up below (0: Start/20)
}

// searchProbe is one probe as reported.
type searchProbe struct {
	Rate    float64 `json:"rate"` // asked for
	SentPPS float64 `json:"sent_pps"`
	RxPPS   float64 `json:"rx_pps"` // received / seconds
	Loss    float64 `json:"loss_fraction"`
	Pass    bool    `json:"pass"`
}

// searchResult: Best is the passing probe of the highest rate (zero if
// none passed); Above the lowest failing rate above it (0: none failed).
type searchResult struct {
	MaxLoss float64       `json:"max_loss"`
	Best    searchProbe   `json:"best"`
	Above   float64       `json:"fail_above"`
	Probes  []searchProbe `json:"probes"`
	// GenLimited: the best probe's sent rate fell short of the rate asked
	// for by more than 10% (the generator, not the DUT, set the limit).
	GenLimited bool `json:"gen_limited,omitempty"`
}

func probeOf(rate float64, r genReport) searchProbe {
	p := searchProbe{Rate: rate, SentPPS: r.SentPPS, Loss: r.Loss}
	if r.Seconds > 0 {
		p.RxPPS = float64(min(r.Received, r.Sent)) / r.Seconds
	}
	return p
}

// searchRate runs the search; probe runs the DUT at rate pps once.
func searchRate(ctx context.Context, sp searchParams, probe func(rate float64) (genReport, error), log io.Writer) (searchResult, error) {
	res := searchResult{MaxLoss: sp.MaxLoss}
	if sp.Start <= 0 {
		return res, fmt.Errorf("search: a positive start rate is needed")
	}
	if sp.Max <= 0 {
		sp.Max = 20 * sp.Start
	}
	if sp.Min <= 0 {
		sp.Min = sp.Start / 20
	}
	var last searchProbe
	run := func(rate float64) (bool, error) {
		for try := 0; try < 2; try++ {
			if len(res.Probes) >= searchMaxProbes || ctx.Err() != nil {
				return false, ctx.Err()
			}
			r, err := probe(rate)
			if err != nil {
				return false, err
			}
			p := probeOf(rate, r)
			p.Pass = r.Sent > 0 && r.Loss <= sp.MaxLoss
			res.Probes = append(res.Probes, p)
			last = p
			fmt.Fprintf(log, "  search: asked %.3f Mpps, sent %.3f, carried %.3f, loss %.2f%%: %s\n",
				rate/1e6, p.SentPPS/1e6, p.RxPPS/1e6, 100*p.Loss, map[bool]string{true: "pass", false: "fail"}[p.Pass])
			if p.Pass {
				if p.Rate > res.Best.Rate {
					res.Best = p
				}
				return true, nil
			}
			if p.Loss > searchRetryLoss*sp.MaxLoss {
				break
			}
		}
		return false, nil
	}
	// lo is the highest rate that passed, hi the lowest that failed.
	lo, hi := 0.0, 0.0
	try := func(r float64) error {
		ok, err := run(r)
		if ok {
			lo = r
		} else if err == nil {
			hi = r
		}
		return err
	}
	r := min(sp.Start, sp.Max)
	if err := try(r); err != nil {
		return res, err
	}
	// Step up from a pass, or down from a failure, until the other
	// outcome brackets the rate.
	for len(res.Probes) < searchMaxProbes {
		if lo > 0 && hi == 0 && r < sp.Max {
			r = min(r*searchStep, sp.Max)
		} else if hi > 0 && lo == 0 && r > sp.Min {
			r /= searchStep
			if last.RxPPS >= sp.Min {
				r = min(r, last.RxPPS)
			}
		} else {
			break
		}
		if err := try(r); err != nil {
			return res, err
		}
	}
	for lo > 0 && hi > 0 && hi/lo > searchPrecision && len(res.Probes) < searchMaxProbes {
		if err := try(math.Sqrt(lo * hi)); err != nil {
			return res, err
		}
	}
	res.Above = hi
	if res.Best.Rate > 0 && res.Best.SentPPS < 0.9*res.Best.Rate {
		res.GenLimited = true
	}
	return res, nil
}
