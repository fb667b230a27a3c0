package daemon

import (
	"xdpgw/dataplane/session"
)

// Expiry without traffic. The workers sweep the session table as they go,
// sweepPerBatch entries per batch (dataplane/pipeline): at a high packet
// rate that covers a large table within minutes, but at a low one it
// crawls (1,000 batches/s sweep 100M entries in 1.7 hours) and without
// packets it stops, so sessions outlive their timeouts and the session
// count an operator reads stays up. The daemon therefore sweeps too, from
// its own loop, at a rate that covers the whole table once per
// sweepPeriodTicks ticks (one minute at sweepInterval), whatever the
// traffic: capacity/600 entries every 100 ms, a few ms of one core per
// second for 100M sessions (the entries are read in order).

// sweepTicks is how many sweeper ticks cover the whole table.
const sweepTicks = 600

// sweeper is the daemon's session sweeper.
type sweeper struct {
	w     *session.Worker
	chunk int
}

func newSweeper(t *session.Table) *sweeper {
	return &sweeper{w: t.NewWorker(), chunk: max(64, (t.Capacity()+sweepTicks-1)/sweepTicks)}
}

// tick sweeps the next chunk of the table at now (the data plane's clock,
// pipeline.Now) and returns how many sessions expired.
func (s *sweeper) tick(now int64) int {
	n := s.w.Sweep(s.chunk, now)
	s.w.Flush()
	return n
}
