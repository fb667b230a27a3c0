package session_test

import (
	"testing"

	"xdpgw/dataplane/session"
)

// TestNextTCPState checks every transition of RFC 6146 3.5.2.2 (V6 =
// DirForward, V4 = DirReverse).
func TestNextTCPState(t *testing.T) {
	const (
		fwd = session.DirForward
		rev = session.DirReverse
		SYN = session.FlagSYN
		ACK = session.FlagACK
		FIN = session.FlagFIN
		RST = session.FlagRST
	)
	type S = session.TCPState
	tests := []struct {
		name  string
		from  S
		dir   session.Dir
		flags uint8
		to    S
		class session.Class
	}{
		// CLOSED: a SYN opens the session on its side, TCP_TRANS; nothing
		// else creates one.
		{"closed v6 syn", session.StateClosed, fwd, SYN, session.StateV6Init, session.ClassTCPTransitory},
		{"closed v4 syn", session.StateClosed, rev, SYN, session.StateV4Init, session.ClassTCPTransitory},
		{"closed v6 ack", session.StateClosed, fwd, ACK, session.StateClosed, session.ClassKeep},
		{"closed v4 rst", session.StateClosed, rev, RST, session.StateClosed, session.ClassKeep},
		{"closed v6 syn+rst", session.StateClosed, fwd, SYN | RST, session.StateClosed, session.ClassKeep},
		// V4 INIT: the V6 SYN completes it; the rest keeps the lifetime.
		{"v4 init v6 syn", session.StateV4Init, fwd, SYN, session.StateEstablished, session.ClassTCPEstablished},
		{"v4 init v6 syn+ack", session.StateV4Init, fwd, SYN | ACK, session.StateEstablished, session.ClassTCPEstablished},
		{"v4 init v4 syn again", session.StateV4Init, rev, SYN, session.StateV4Init, session.ClassKeep},
		{"v4 init v6 ack", session.StateV4Init, fwd, ACK, session.StateV4Init, session.ClassKeep},
		// V6 INIT: the V4 SYN completes it; a V6 SYN restarts TCP_TRANS.
		{"v6 init v4 syn+ack", session.StateV6Init, rev, SYN | ACK, session.StateEstablished, session.ClassTCPEstablished},
		{"v6 init v6 syn again", session.StateV6Init, fwd, SYN, session.StateV6Init, session.ClassTCPTransitory},
		{"v6 init v4 ack", session.StateV6Init, rev, ACK, session.StateV6Init, session.ClassKeep},
		{"v6 init v4 rst", session.StateV6Init, rev, RST, session.StateV6Init, session.ClassKeep},
		// ESTABLISHED.
		{"est v4 fin", session.StateEstablished, rev, FIN | ACK, session.StateV4FinRcv, session.ClassKeep},
		{"est v6 fin", session.StateEstablished, fwd, FIN | ACK, session.StateV6FinRcv, session.ClassKeep},
		{"est v4 rst", session.StateEstablished, rev, RST, session.StateTrans, session.ClassTCPTransitory},
		{"est v6 rst", session.StateEstablished, fwd, RST | ACK, session.StateTrans, session.ClassTCPTransitory},
		{"est v6 ack", session.StateEstablished, fwd, ACK, session.StateEstablished, session.ClassTCPEstablished},
		{"est v4 data", session.StateEstablished, rev, ACK | 0x08, session.StateEstablished, session.ClassTCPEstablished},
		// V4 FIN RCV / V6 FIN RCV: the other side's FIN closes both.
		{"v4 fin v6 fin", session.StateV4FinRcv, fwd, FIN | ACK, session.StateV4V6FinRcv, session.ClassTCPTransitory},
		{"v4 fin v4 fin again", session.StateV4FinRcv, rev, FIN, session.StateV4FinRcv, session.ClassTCPEstablished},
		{"v4 fin v6 ack", session.StateV4FinRcv, fwd, ACK, session.StateV4FinRcv, session.ClassTCPEstablished},
		{"v6 fin v4 fin", session.StateV6FinRcv, rev, FIN | ACK, session.StateV4V6FinRcv, session.ClassTCPTransitory},
		{"v6 fin v6 fin again", session.StateV6FinRcv, fwd, FIN, session.StateV6FinRcv, session.ClassTCPEstablished},
		{"v6 fin v4 ack", session.StateV6FinRcv, rev, ACK, session.StateV6FinRcv, session.ClassTCPEstablished},
		// V4 FIN + V6 FIN RCV: only the timer ends it.
		{"both fin v6 ack", session.StateV4V6FinRcv, fwd, ACK, session.StateV4V6FinRcv, session.ClassKeep},
		{"both fin v4 syn", session.StateV4V6FinRcv, rev, SYN, session.StateV4V6FinRcv, session.ClassKeep},
		// TRANS: any non-RST packet revives it.
		{"trans v6 ack", session.StateTrans, fwd, ACK, session.StateEstablished, session.ClassTCPEstablished},
		{"trans v4 ack", session.StateTrans, rev, ACK, session.StateEstablished, session.ClassTCPEstablished},
		{"trans v4 rst", session.StateTrans, rev, RST, session.StateTrans, session.ClassKeep},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			to, class := session.NextTCPState(tc.from, tc.dir, tc.flags)
			if to != tc.to || class != tc.class {
				t.Errorf("NextTCPState(%v, %d, %#x) = %v, %d; want %v, %d",
					tc.from, tc.dir, tc.flags, to, class, tc.to, tc.class)
			}
		})
	}
}

func TestTCPStateString(t *testing.T) {
	if got := session.StateV4V6FinRcv.String(); got != "V4 FIN + V6 FIN RCV" {
		t.Errorf("String = %q", got)
	}
	if got := session.TCPState(99).String(); got != "INVALID" {
		t.Errorf("String = %q", got)
	}
}
