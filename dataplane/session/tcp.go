package session

// TCPState is a session's state in the TCP state machine of RFC 6146
// 3.5.2. The machine is symmetric in its two sides: the RFC's "V6" side is
// the entry's forward direction (the key that created it: the IPv6 side of
// a NAT64 session, the initiating side of a gateway flow) and "V4" is the
// reverse direction, so the gateway uses it with inside/outside in place of
// V6/V4. Non-TCP sessions keep StateClosed and ignore it.
type TCPState uint8

const (
	StateClosed      TCPState = iota // no session (RFC 6146 CLOSED)
	StateV4Init                      // SYN seen from the V4 (reverse) side only
	StateV6Init                      // SYN seen from the V6 (forward) side only
	StateEstablished                 // SYN seen from both sides
	StateV4FinRcv                    // FIN seen from the V4 side
	StateV6FinRcv                    // FIN seen from the V6 side
	StateV4V6FinRcv                  // FIN seen from both sides
	StateTrans                       // RST seen (or lifetime ran low): transitory

	NumTCPStates
)

var tcpStateNames = [NumTCPStates]string{
	"CLOSED", "V4 INIT", "V6 INIT", "ESTABLISHED",
	"V4 FIN RCV", "V6 FIN RCV", "V4 FIN + V6 FIN RCV", "TRANS",
}

func (s TCPState) String() string {
	if s < NumTCPStates {
		return tcpStateNames[s]
	}
	return "INVALID"
}

// TCP header flag bits, as in the header's flags byte (the same values as
// packet.TCPFlagFIN, ...; redeclared so that this package imports nothing
// of the data plane).
const (
	FlagFIN uint8 = 1 << 0
	FlagSYN uint8 = 1 << 1
	FlagRST uint8 = 1 << 2
	FlagACK uint8 = 1 << 4
)

// NextTCPState is the transition function of RFC 6146 3.5.2.2 for one
// packet with TCP flags seen in direction dir (DirForward = V6, DirReverse
// = V4) in state s. It returns the new state and the timeout class the
// session's lifetime is set to, or ClassKeep when the RFC leaves the
// lifetime unchanged (the session keeps its class and last-seen time).
// A packet that does not create a session in CLOSED returns (StateClosed,
// ClassKeep): the caller does not create one.
//
// Where the RFC names TCP_INCOMING_SYN (6 s) for a stored V4 SYN under
// address-dependent filtering, this function uses the transitory class;
// packet storage is the NAT64's business, not the table's.
func NextTCPState(s TCPState, dir Dir, flags uint8) (TCPState, Class) {
	syn := flags&FlagSYN != 0
	fin := flags&FlagFIN != 0
	rst := flags&FlagRST != 0
	v6 := dir == DirForward
	switch s {
	case StateClosed:
		// "If a V6 SYN is received ... the state is moved to V6 INIT",
		// "If a V4 SYN is received ... the state is moved to V4 INIT";
		// lifetime TCP_TRANS. Anything else creates no session.
		if syn && !rst {
			if v6 {
				return StateV6Init, ClassTCPTransitory
			}
			return StateV4Init, ClassTCPTransitory
		}
		return StateClosed, ClassKeep
	case StateV4Init:
		// A V6 SYN completes the handshake: ESTABLISHED, TCP_EST.
		if v6 && syn {
			return StateEstablished, ClassTCPEstablished
		}
		return s, ClassKeep
	case StateV6Init:
		// A V4 SYN (the SYN+ACK) completes it; a retransmitted V6 SYN
		// restarts TCP_TRANS.
		if syn {
			if v6 {
				return s, ClassTCPTransitory
			}
			return StateEstablished, ClassTCPEstablished
		}
		return s, ClassKeep
	case StateEstablished:
		// FIN moves to the side's FIN RCV without touching the lifetime;
		// RST moves to TRANS with TCP_TRANS; any other packet refreshes
		// TCP_EST.
		if fin {
			if v6 {
				return StateV6FinRcv, ClassKeep
			}
			return StateV4FinRcv, ClassKeep
		}
		if rst {
			return StateTrans, ClassTCPTransitory
		}
		return s, ClassTCPEstablished
	case StateV4FinRcv:
		// The other side's FIN: both closed, TCP_TRANS. Anything else
		// refreshes TCP_EST.
		if v6 && fin {
			return StateV4V6FinRcv, ClassTCPTransitory
		}
		return s, ClassTCPEstablished
	case StateV6FinRcv:
		if !v6 && fin {
			return StateV4V6FinRcv, ClassTCPTransitory
		}
		return s, ClassTCPEstablished
	case StateV4V6FinRcv:
		// "All packets are translated ... the lifetime is not updated":
		// the session dies when TCP_TRANS runs out.
		return s, ClassKeep
	case StateTrans:
		// Any non-RST packet revives the session: ESTABLISHED, TCP_EST.
		if !rst {
			return StateEstablished, ClassTCPEstablished
		}
		return s, ClassKeep
	}
	return s, ClassKeep
}
