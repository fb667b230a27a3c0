// Package access is the control side of the software NAT64 Access target
// (role `access`): a P4Runtime server for p4/access.p4's P4Info whose
// table writes become dataplane/access tables, published atomically to
// the workers. A manager programs it exactly as it would program a Tofino
// running access.p4, with the same client (control/p4rt).
//
// What it implements of the P4Runtime service (v1.5): StreamChannel
// arbitration (one device, the default role, highest election id is
// primary), SetForwardingPipelineConfig (VERIFY, VERIFY_AND_COMMIT,
// VERIFY_AND_SAVE, COMMIT, RECONCILE_AND_COMMIT; the P4Info must be
// access.p4's), GetForwardingPipelineConfig, Capabilities, Write of table
// entries (CONTINUE_ON_ERROR, per-update p4.v1.Error details) and of
// direct meter entries of syn_meter, Read of table entries, direct meter
// entries and direct counter entries. Not implemented: packet I/O,
// digests, action profiles, default-action changes, roles.
//
// All state is owned under one mutex: the control plane is not per
// packet. The data plane sees only immutable snapshots.
package access

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	dpaccess "xdpgw/dataplane/access"
	"xdpgw/p4"
)

// APIVersion is the P4Runtime version Capabilities reports.
const APIVersion = "1.5.0"

// Config of a software Access target.
type Config struct {
	DeviceID uint64
	// MaglevSize is the number of entries per VIP (MAGLEV_SIZE); 0 means
	// p4.MaglevSize. It must match the manager's Maglev table size.
	MaglevSize int
	// EIPSlots and MeterSlots bound eip_to_vip and syn_meter; 0 means the
	// P4Info sizes.
	EIPSlots, MeterSlots int
	Logger               *slog.Logger
}

// Metrics are raw counters of the server.
type Metrics struct {
	WriteRPCs   atomic.Uint64
	Updates     atomic.Uint64 // updates applied
	Rejected    atomic.Uint64 // updates refused
	ReadRPCs    atomic.Uint64
	Publishes   atomic.Uint64
	Arbitration atomic.Uint64 // arbitration messages handled
	// ErrorsByCode counts refused updates and RPCs by gRPC code.
	ErrorsByCode [17]atomic.Uint64
}

// Server is the software Access target's P4Runtime server.
type Server struct {
	p4v1.UnimplementedP4RuntimeServer
	cfg     Config
	schema  *p4.Schema
	target  *dpaccess.Target
	log     *slog.Logger
	Metrics Metrics

	mu       sync.Mutex
	pipeline *p4v1.ForwardingPipelineConfig // committed; nil before the first
	saved    *p4v1.ForwardingPipelineConfig // VERIFY_AND_SAVE, awaiting COMMIT
	streams  map[*stream]struct{}
	state    *state

	grpc *grpc.Server
}

// New returns a server with empty tables.
func New(cfg Config) (*Server, error) {
	schema, err := p4.LoadSchema()
	if err != nil {
		return nil, err
	}
	if cfg.MaglevSize == 0 {
		cfg.MaglevSize = p4.MaglevSize
	}
	if cfg.MaglevSize > 1<<p4.MaglevIndexBits {
		return nil, fmt.Errorf("access: maglev size %d does not fit the %d-bit index", cfg.MaglevSize, p4.MaglevIndexBits)
	}
	if cfg.EIPSlots == 0 {
		t, _ := schema.Table(p4.TableEIPToVIP)
		cfg.EIPSlots = int(t.GetSize())
	}
	if cfg.MeterSlots == 0 {
		t, _ := schema.Table(p4.TableSYNMeter)
		cfg.MeterSlots = int(t.GetSize())
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	target, err := dpaccess.NewTarget(cfg.EIPSlots, cfg.MeterSlots, cfg.MaglevSize)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, schema: schema, target: target, log: cfg.Logger, streams: map[*stream]struct{}{}}
	s.state = newState(s)
	return s, nil
}

// Target returns the data-plane side: what the pipeline's access stage
// reads (dataplane/access.NewStage).
func (s *Server) Target() *dpaccess.Target { return s.target }

// Register adds the P4Runtime service to a gRPC server.
func (s *Server) Register(g *grpc.Server) { p4v1.RegisterP4RuntimeServer(g, s) }

// Serve serves P4Runtime on lis until Stop.
func (s *Server) Serve(lis net.Listener) error {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(64 << 20))
	s.Register(g)
	s.mu.Lock()
	s.grpc = g
	s.mu.Unlock()
	return g.Serve(lis)
}

// Stop stops Serve, closing every stream.
func (s *Server) Stop() {
	s.mu.Lock()
	g := s.grpc
	s.mu.Unlock()
	if g != nil {
		g.Stop()
	}
}

func (s *Server) fail(c codes.Code, format string, args ...any) error {
	s.Metrics.ErrorsByCode[c].Add(1)
	msg := fmt.Sprintf(format, args...)
	s.log.Warn("p4runtime: request refused", "code", c.String(), "error", msg)
	return status.Error(c, msg)
}

// Capabilities reports the API version.
func (s *Server) Capabilities(context.Context, *p4v1.CapabilitiesRequest) (*p4v1.CapabilitiesResponse, error) {
	return &p4v1.CapabilitiesResponse{P4RuntimeApiVersion: APIVersion}, nil
}

// ---- Arbitration ----

type statusProto = rpcstatus.Status

type stream struct {
	srv      p4v1.P4Runtime_StreamChannelServer
	sendMu   sync.Mutex
	election *p4v1.Uint128 // nil: never primary
}

func (st *stream) send(m *p4v1.StreamMessageResponse) error {
	st.sendMu.Lock()
	defer st.sendMu.Unlock()
	return st.srv.Send(m)
}

func less(a, b *p4v1.Uint128) bool {
	if a.GetHigh() != b.GetHigh() {
		return a.GetHigh() < b.GetHigh()
	}
	return a.GetLow() < b.GetLow()
}

func sameID(a, b *p4v1.Uint128) bool {
	return a != nil && b != nil && a.GetHigh() == b.GetHigh() && a.GetLow() == b.GetLow()
}

// primaryLocked returns the stream with the highest election id.
func (s *Server) primaryLocked() *stream {
	var p *stream
	for st := range s.streams {
		if st.election != nil && (p == nil || less(p.election, st.election)) {
			p = st
		}
	}
	return p
}

// notifyLocked sends every stream its arbitration status (spec 5.4).
func (s *Server) notifyLocked() {
	p := s.primaryLocked()
	for st := range s.streams {
		resp := &p4v1.MasterArbitrationUpdate{DeviceId: s.cfg.DeviceID}
		switch {
		case p == nil:
			resp.Status = &statusProto{Code: int32(codes.NotFound), Message: "no primary"}
		case p == st:
			resp.ElectionId = p.election
			resp.Status = &statusProto{Code: int32(codes.OK), Message: "primary"}
		default:
			resp.ElectionId = p.election
			resp.Status = &statusProto{Code: int32(codes.AlreadyExists), Message: "backup"}
		}
		// A failed send ends that stream's Recv too; nothing to do here.
		_ = st.send(&p4v1.StreamMessageResponse{Update: &p4v1.StreamMessageResponse_Arbitration{Arbitration: resp}})
	}
}

// StreamChannel handles arbitration. The first message must be a
// MasterArbitrationUpdate for this device.
func (s *Server) StreamChannel(ss p4v1.P4Runtime_StreamChannelServer) error {
	st := &stream{srv: ss}
	defer func() {
		s.mu.Lock()
		if _, ok := s.streams[st]; ok {
			wasPrimary := s.primaryLocked() == st
			delete(s.streams, st)
			if wasPrimary {
				s.log.Info("p4runtime: primary controller gone")
			}
			s.notifyLocked()
		}
		s.mu.Unlock()
	}()
	for {
		m, err := ss.Recv()
		if err != nil {
			return nil // client closed or connection lost
		}
		arb := m.GetArbitration()
		if arb == nil {
			s.mu.Lock()
			_, joined := s.streams[st]
			s.mu.Unlock()
			if !joined {
				return s.fail(codes.FailedPrecondition, "first stream message must be an arbitration update")
			}
			continue // packet-out and digest acks: not supported, ignored
		}
		s.Metrics.Arbitration.Add(1)
		if arb.GetDeviceId() != s.cfg.DeviceID {
			return s.fail(codes.NotFound, "device id %d: this target is device %d", arb.GetDeviceId(), s.cfg.DeviceID)
		}
		if arb.GetRole() != nil && arb.GetRole().GetName() != "" {
			return s.fail(codes.InvalidArgument, "role %q: only the default role is supported", arb.GetRole().GetName())
		}
		s.mu.Lock()
		for other := range s.streams {
			if other != st && sameID(other.election, arb.GetElectionId()) {
				s.mu.Unlock()
				return s.fail(codes.InvalidArgument, "election id %v is used by another controller", arb.GetElectionId())
			}
		}
		st.election = arb.GetElectionId()
		s.streams[st] = struct{}{}
		if p := s.primaryLocked(); p == st {
			s.log.Info("p4runtime: new primary controller", "election_id_high", p.election.GetHigh(), "election_id_low", p.election.GetLow())
		}
		s.notifyLocked()
		s.mu.Unlock()
	}
}

// checkPrimaryLocked authorises a Write or SetForwardingPipelineConfig.
func (s *Server) checkPrimaryLocked(device uint64, role string, id *p4v1.Uint128) error {
	if device != s.cfg.DeviceID {
		return s.fail(codes.NotFound, "device id %d: this target is device %d", device, s.cfg.DeviceID)
	}
	if role != "" {
		return s.fail(codes.PermissionDenied, "role %q: only the default role is supported", role)
	}
	p := s.primaryLocked()
	if p == nil || !sameID(p.election, id) {
		return s.fail(codes.PermissionDenied, "election id %v is not the primary's", id)
	}
	return nil
}

// ---- Pipeline config ----

// SetForwardingPipelineConfig accepts access.p4's P4Info only.
func (s *Server) SetForwardingPipelineConfig(_ context.Context, req *p4v1.SetForwardingPipelineConfigRequest) (*p4v1.SetForwardingPipelineConfigResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkPrimaryLocked(req.GetDeviceId(), req.GetRole(), req.GetElectionId()); err != nil {
		return nil, err
	}
	verify := func() error {
		if req.GetConfig() == nil {
			return s.fail(codes.InvalidArgument, "no config")
		}
		if err := compatible(s.schema.Info, req.GetConfig().GetP4Info()); err != nil {
			return s.fail(codes.InvalidArgument, "p4info is not access.p4's: %v", err)
		}
		return nil
	}
	switch req.GetAction() {
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY:
		if err := verify(); err != nil {
			return nil, err
		}
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_SAVE:
		if err := verify(); err != nil {
			return nil, err
		}
		s.saved = proto.Clone(req.GetConfig()).(*p4v1.ForwardingPipelineConfig)
	case p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT:
		if err := verify(); err != nil {
			return nil, err
		}
		s.commitLocked(req.GetConfig(), false)
	case p4v1.SetForwardingPipelineConfigRequest_RECONCILE_AND_COMMIT:
		if err := verify(); err != nil {
			return nil, err
		}
		s.commitLocked(req.GetConfig(), true)
	case p4v1.SetForwardingPipelineConfigRequest_COMMIT:
		if s.saved == nil {
			return nil, s.fail(codes.NotFound, "COMMIT without a saved config")
		}
		s.commitLocked(s.saved, false)
		s.saved = nil
	default:
		return nil, s.fail(codes.InvalidArgument, "action %v", req.GetAction())
	}
	return &p4v1.SetForwardingPipelineConfigResponse{}, nil
}

// commitLocked installs a pipeline; without keep, the forwarding state is
// cleared, as a new pipeline on a switch starts with empty tables.
func (s *Server) commitLocked(cfg *p4v1.ForwardingPipelineConfig, keep bool) {
	s.pipeline = proto.Clone(cfg).(*p4v1.ForwardingPipelineConfig)
	if !keep {
		s.state.clear()
		s.state.publish()
	}
	s.log.Info("p4runtime: pipeline committed", "reconcile", keep, "device_config_bytes", len(cfg.GetP4DeviceConfig()))
}

// GetForwardingPipelineConfig returns the committed config.
func (s *Server) GetForwardingPipelineConfig(_ context.Context, req *p4v1.GetForwardingPipelineConfigRequest) (*p4v1.GetForwardingPipelineConfigResponse, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.GetDeviceId() != s.cfg.DeviceID {
		return nil, s.fail(codes.NotFound, "device id %d", req.GetDeviceId())
	}
	if s.pipeline == nil {
		return nil, s.fail(codes.FailedPrecondition, "no pipeline config set")
	}
	out := &p4v1.ForwardingPipelineConfig{Cookie: s.pipeline.GetCookie()}
	switch req.GetResponseType() {
	case p4v1.GetForwardingPipelineConfigRequest_ALL:
		out.P4Info, out.P4DeviceConfig = s.pipeline.GetP4Info(), s.pipeline.GetP4DeviceConfig()
	case p4v1.GetForwardingPipelineConfigRequest_P4INFO_AND_COOKIE:
		out.P4Info = s.pipeline.GetP4Info()
	case p4v1.GetForwardingPipelineConfigRequest_DEVICE_CONFIG_AND_COOKIE:
		out.P4DeviceConfig = s.pipeline.GetP4DeviceConfig()
	}
	return &p4v1.GetForwardingPipelineConfigResponse{Config: out}, nil
}

// compatible checks that theirs declares the same tables, fields, actions,
// params and direct resources, with the same ids and widths, as ours.
func compatible(ours, theirs *p4config.P4Info) error {
	if theirs == nil {
		return errors.New("no p4info")
	}
	if len(ours.GetTables()) != len(theirs.GetTables()) || len(ours.GetActions()) != len(theirs.GetActions()) {
		return fmt.Errorf("%d tables, %d actions; want %d, %d", len(theirs.GetTables()), len(theirs.GetActions()), len(ours.GetTables()), len(ours.GetActions()))
	}
	ts := p4.NewSchema(theirs)
	for _, t := range ours.GetTables() {
		o, err := ts.Table(t.GetPreamble().GetName())
		if err != nil {
			return err
		}
		if o.GetPreamble().GetId() != t.GetPreamble().GetId() || len(o.GetMatchFields()) != len(t.GetMatchFields()) {
			return fmt.Errorf("table %s differs", t.GetPreamble().GetName())
		}
		for i, f := range t.GetMatchFields() {
			g := o.GetMatchFields()[i]
			if g.GetId() != f.GetId() || g.GetName() != f.GetName() || g.GetBitwidth() != f.GetBitwidth() || g.GetMatchType() != f.GetMatchType() {
				return fmt.Errorf("table %s field %s differs", t.GetPreamble().GetName(), f.GetName())
			}
		}
	}
	for _, a := range ours.GetActions() {
		o, err := ts.Action(a.GetPreamble().GetName())
		if err != nil {
			return err
		}
		if o.GetPreamble().GetId() != a.GetPreamble().GetId() || len(o.GetParams()) != len(a.GetParams()) {
			return fmt.Errorf("action %s differs", a.GetPreamble().GetName())
		}
		for i, p := range a.GetParams() {
			g := o.GetParams()[i]
			if g.GetId() != p.GetId() || g.GetName() != p.GetName() || g.GetBitwidth() != p.GetBitwidth() {
				return fmt.Errorf("action %s param %s differs", a.GetPreamble().GetName(), p.GetName())
			}
		}
	}
	return nil
}
