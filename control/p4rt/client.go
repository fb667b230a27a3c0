// Package p4rt is the P4Runtime client the NAT64 manager programs the
// Access tier with: a Tofino running p4/access.p4, or xdpgw's software
// Access target (control/access), which serves the same P4Info.
//
// Client is the protocol: arbitration with an election id on the stream
// channel, SetForwardingPipelineConfig, batched Write with retries and
// exponential backoff on transient errors, Read, reconnection. Access
// (access.go) is the access tier's desired state on top of it: Maglev
// diffs become INSERT/MODIFY/DELETE of only the changed entries, and
// Reconcile reads a table back after a reconnect and writes the
// difference. Names of P4 objects come from xdpgw/p4 only.
//
// The package must never import dataplane/.
package p4rt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	p4config "github.com/p4lang/p4runtime/go/p4/config/v1"
	p4v1 "github.com/p4lang/p4runtime/go/p4/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
)

// Errors of the client; test them with errors.Is.
var (
	// ErrNotPrimary: another controller has a higher election id.
	ErrNotPrimary = errors.New("p4rt: not the primary controller")
	// ErrClosed: the client was closed.
	ErrClosed = errors.New("p4rt: client closed")
)

// Config of a Client.
type Config struct {
	Address  string
	DeviceID uint64
	// ElectionID of this controller: the highest among connected
	// controllers is primary. Must not be zero.
	ElectionID Uint128
	// BatchSize is the number of updates per WriteRequest; 0 means 2048
	// (well under gRPC's 4 MiB default message limit for these tables).
	BatchSize int
	// Retries of one RPC on a transient error; 0 means 5. Backoff starts
	// at BackoffMin (default 50 ms) and doubles up to BackoffMax (2 s).
	Retries                int
	BackoffMin, BackoffMax time.Duration
	// ArbitrationTimeout bounds the wait for the arbitration answer;
	// 0 means 5 s.
	ArbitrationTimeout time.Duration
	DialOptions        []grpc.DialOption
	Logger             *slog.Logger
}

// Uint128 is an election id.
type Uint128 struct{ High, Low uint64 }

func (u Uint128) proto() *p4v1.Uint128 { return &p4v1.Uint128{High: u.High, Low: u.Low} }

// Metrics are raw counters of a client, kept across reconnects.
type Metrics struct {
	WriteRPCs      atomic.Uint64 // WriteRequests sent, retries included
	EntriesWritten atomic.Uint64 // updates the target accepted
	ReadRPCs       atomic.Uint64
	EntriesRead    atomic.Uint64
	Retries        atomic.Uint64
	Reconnects     atomic.Uint64
	// Errors by gRPC code: failed RPCs, and each refused update of a
	// batch under its own code.
	Errors [17]atomic.Uint64
}

// Client is a connection to one P4Runtime device.
type Client struct {
	cfg     Config
	log     *slog.Logger
	Metrics *Metrics

	mu      sync.Mutex
	conn    *grpc.ClientConn
	rt      p4v1.P4RuntimeClient
	cancel  context.CancelFunc
	primary atomic.Bool
	closed  bool
	done    chan struct{} // closed when the stream ends
}

// Dial connects, opens the stream channel and arbitrates. It returns an
// error wrapping ErrNotPrimary (and a usable backup client) when another
// controller is primary.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 2048
	}
	if cfg.Retries <= 0 {
		cfg.Retries = 5
	}
	if cfg.BackoffMin <= 0 {
		cfg.BackoffMin = 50 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 2 * time.Second
	}
	if cfg.ArbitrationTimeout <= 0 {
		cfg.ArbitrationTimeout = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.ElectionID == (Uint128{}) {
		return nil, errors.New("p4rt: election id must not be zero")
	}
	c := &Client{cfg: cfg, log: cfg.Logger, Metrics: &Metrics{}}
	err := c.connect(ctx)
	if err != nil && !errors.Is(err, ErrNotPrimary) {
		return nil, err
	}
	return c, err
}

// connect dials and arbitrates, replacing any previous connection.
func (c *Client) connect(ctx context.Context) error {
	opts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64 << 20)),
	}, c.cfg.DialOptions...)
	conn, err := grpc.DialContext(ctx, c.cfg.Address, opts...)
	if err != nil {
		return fmt.Errorf("p4rt: dial %s: %w", c.cfg.Address, err)
	}
	rt := p4v1.NewP4RuntimeClient(conn)
	sctx, cancel := context.WithCancel(context.Background())
	stream, err := rt.StreamChannel(sctx)
	if err != nil {
		cancel()
		conn.Close()
		return fmt.Errorf("p4rt: open stream: %w", err)
	}
	arb := &p4v1.StreamMessageRequest{Update: &p4v1.StreamMessageRequest_Arbitration{Arbitration: &p4v1.MasterArbitrationUpdate{
		DeviceId: c.cfg.DeviceID, ElectionId: c.cfg.ElectionID.proto(),
	}}}
	if err := stream.Send(arb); err != nil {
		cancel()
		conn.Close()
		return fmt.Errorf("p4rt: send arbitration: %w", err)
	}
	first := make(chan error, 1)
	done := make(chan struct{})
	go c.recvLoop(stream, first, done)
	var aerr error
	select {
	case aerr = <-first:
	case <-time.After(c.cfg.ArbitrationTimeout):
		aerr = fmt.Errorf("p4rt: arbitration: no answer in %v", c.cfg.ArbitrationTimeout)
	case <-ctx.Done():
		aerr = ctx.Err()
	}
	if aerr != nil && !errors.Is(aerr, ErrNotPrimary) {
		cancel()
		conn.Close()
		return aerr
	}
	c.mu.Lock()
	if c.cancel != nil {
		c.cancel()
		c.conn.Close()
	}
	c.conn, c.rt, c.cancel, c.done = conn, rt, cancel, done
	c.mu.Unlock()
	return aerr
}

// recvLoop reads arbitration updates until the stream ends. The first
// arbitration answer (or the stream's end) goes to first.
func (c *Client) recvLoop(stream p4v1.P4Runtime_StreamChannelClient, first chan<- error, done chan<- struct{}) {
	defer close(done)
	answered := false
	answer := func(err error) {
		if !answered {
			answered = true
			first <- err
		}
	}
	for {
		m, err := stream.Recv()
		if err != nil {
			c.primary.Store(false)
			if err == io.EOF {
				err = status.Error(codes.Unavailable, "stream closed by the target")
			}
			answer(fmt.Errorf("p4rt: arbitration: %w", err))
			return
		}
		arb := m.GetArbitration()
		if arb == nil {
			continue
		}
		code := codes.Code(arb.GetStatus().GetCode())
		was := c.primary.Load()
		c.primary.Store(code == codes.OK)
		switch {
		case code == codes.OK:
			if !was {
				c.log.Info("p4rt: primary controller", "address", c.cfg.Address, "device", c.cfg.DeviceID)
			}
			answer(nil)
		default:
			if was {
				c.log.Warn("p4rt: lost primary role", "address", c.cfg.Address, "primary_election_id", arb.GetElectionId().String())
			}
			answer(fmt.Errorf("%w: primary election id %d:%d (%s)", ErrNotPrimary,
				arb.GetElectionId().GetHigh(), arb.GetElectionId().GetLow(), arb.GetStatus().GetMessage()))
		}
	}
}

// Primary reports whether the target last said this client is primary.
func (c *Client) Primary() bool { return c.primary.Load() }

// Close ends the stream and the connection.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	c.primary.Store(false)
	if c.cancel != nil {
		c.cancel()
	}
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

// Reconnect drops the connection and dials again, with backoff, until it
// is primary again or ctx ends.
func (c *Client) Reconnect(ctx context.Context) error {
	c.Metrics.Reconnects.Add(1)
	backoff := c.cfg.BackoffMin
	for {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return ErrClosed
		}
		err := c.connect(ctx)
		if err == nil {
			c.log.Info("p4rt: reconnected", "address", c.cfg.Address)
			return nil
		}
		c.log.Warn("p4rt: reconnect failed", "address", c.cfg.Address, "error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return fmt.Errorf("p4rt: reconnect: %w (last error: %v)", ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.BackoffMax)
	}
}

// Connected reports whether the stream channel is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	done := c.done
	c.mu.Unlock()
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

func (c *Client) runtime() (p4v1.P4RuntimeClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, ErrClosed
	}
	return c.rt, nil
}

// transient reports errors worth retrying on the same connection.
func transient(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable, codes.ResourceExhausted, codes.Aborted, codes.DeadlineExceeded:
		return true
	}
	return false
}

// retry runs op with exponential backoff while it fails transiently.
func (c *Client) retry(ctx context.Context, what string, op func(p4v1.P4RuntimeClient) error) error {
	backoff := c.cfg.BackoffMin
	for attempt := 0; ; attempt++ {
		rt, err := c.runtime()
		if err != nil {
			return err
		}
		err = op(rt)
		if err == nil {
			return nil
		}
		if !transient(err) || attempt >= c.cfg.Retries || ctx.Err() != nil {
			return err
		}
		c.Metrics.Retries.Add(1)
		c.log.Warn("p4rt: retrying", "rpc", what, "error", err, "attempt", attempt+1, "backoff", backoff)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, c.cfg.BackoffMax)
	}
}

func (c *Client) countErr(err error) {
	c.Metrics.Errors[status.Code(err)].Add(1)
}

// SetPipeline installs the P4Info and the opaque target config (the
// bf-p4c output for a Tofino; empty for the software target) with
// VERIFY_AND_COMMIT, or RECONCILE_AND_COMMIT when keep is true (the
// target keeps its entries).
func (c *Client) SetPipeline(ctx context.Context, info *p4config.P4Info, deviceConfig []byte, keep bool) error {
	action := p4v1.SetForwardingPipelineConfigRequest_VERIFY_AND_COMMIT
	if keep {
		action = p4v1.SetForwardingPipelineConfigRequest_RECONCILE_AND_COMMIT
	}
	req := &p4v1.SetForwardingPipelineConfigRequest{
		DeviceId: c.cfg.DeviceID, ElectionId: c.cfg.ElectionID.proto(), Action: action,
		Config: &p4v1.ForwardingPipelineConfig{P4Info: info, P4DeviceConfig: deviceConfig},
	}
	err := c.retry(ctx, "SetForwardingPipelineConfig", func(rt p4v1.P4RuntimeClient) error {
		_, err := rt.SetForwardingPipelineConfig(ctx, req)
		return err
	})
	if err != nil {
		c.countErr(err)
		return fmt.Errorf("p4rt: set pipeline: %w", err)
	}
	return nil
}

// GetPipeline returns the target's P4Info (nil when none is set).
func (c *Client) GetPipeline(ctx context.Context) (*p4config.P4Info, error) {
	var resp *p4v1.GetForwardingPipelineConfigResponse
	err := c.retry(ctx, "GetForwardingPipelineConfig", func(rt p4v1.P4RuntimeClient) error {
		var err error
		resp, err = rt.GetForwardingPipelineConfig(ctx, &p4v1.GetForwardingPipelineConfigRequest{
			DeviceId: c.cfg.DeviceID, ResponseType: p4v1.GetForwardingPipelineConfigRequest_P4INFO_AND_COOKIE,
		})
		return err
	})
	if status.Code(err) == codes.FailedPrecondition {
		return nil, nil
	}
	if err != nil {
		c.countErr(err)
		return nil, fmt.Errorf("p4rt: get pipeline: %w", err)
	}
	return resp.GetConfig().GetP4Info(), nil
}

// UpdateError is one refused update of a batch.
type UpdateError struct {
	Index   int // in the updates passed to Write
	Code    codes.Code
	Message string
	Update  *p4v1.Update
}

// WriteError is a Write whose batch was partly refused: the target
// applied every update not listed.
type WriteError struct {
	Updates []UpdateError
}

func (e *WriteError) Error() string {
	if len(e.Updates) == 0 {
		return "p4rt: write failed"
	}
	u := e.Updates[0]
	more := ""
	if len(e.Updates) > 1 {
		more = fmt.Sprintf(" (and %d more)", len(e.Updates)-1)
	}
	return fmt.Sprintf("p4rt: write: update %d (%s): %s: %s%s", u.Index, u.Update.GetType(), u.Code, u.Message, more)
}

// Code returns the code of the first refused update.
func (e *WriteError) Code() codes.Code {
	if len(e.Updates) == 0 {
		return codes.Unknown
	}
	return e.Updates[0].Code
}

// Write sends updates in batches of Config.BatchSize. A batch that fails
// as a whole on a transient error is retried; refused updates are
// collected into a *WriteError and the remaining batches are still sent.
func (c *Client) Write(ctx context.Context, updates []*p4v1.Update) error {
	var werr WriteError
	for start := 0; start < len(updates); start += c.cfg.BatchSize {
		batch := updates[start:min(start+c.cfg.BatchSize, len(updates))]
		req := &p4v1.WriteRequest{
			DeviceId: c.cfg.DeviceID, ElectionId: c.cfg.ElectionID.proto(),
			Updates: batch, Atomicity: p4v1.WriteRequest_CONTINUE_ON_ERROR,
		}
		err := c.retry(ctx, "Write", func(rt p4v1.P4RuntimeClient) error {
			c.Metrics.WriteRPCs.Add(1)
			_, err := rt.Write(ctx, req)
			return err
		})
		if err == nil {
			c.Metrics.EntriesWritten.Add(uint64(len(batch)))
			continue
		}
		st := status.Convert(err)
		var perUpdate []*p4v1.Error
		for _, d := range st.Details() {
			if e, ok := d.(*p4v1.Error); ok {
				perUpdate = append(perUpdate, e)
			}
		}
		if len(perUpdate) != len(batch) {
			// The batch failed as a whole (permission, no pipeline, lost
			// connection): stop here.
			c.countErr(err)
			return fmt.Errorf("p4rt: write batch at %d of %d: %w", start, len(updates), err)
		}
		for i, e := range perUpdate {
			code := codes.Code(e.GetCanonicalCode())
			if code == codes.OK {
				c.Metrics.EntriesWritten.Add(1)
				continue
			}
			c.Metrics.Errors[code].Add(1)
			werr.Updates = append(werr.Updates, UpdateError{Index: start + i, Code: code, Message: e.GetMessage(), Update: batch[i]})
		}
	}
	if len(werr.Updates) > 0 {
		c.log.Warn("p4rt: updates refused", "count", len(werr.Updates), "first", werr.Error())
		return &werr
	}
	return nil
}

// Read returns every entity the target answers for the given filters.
func (c *Client) Read(ctx context.Context, entities ...*p4v1.Entity) ([]*p4v1.Entity, error) {
	var out []*p4v1.Entity
	err := c.retry(ctx, "Read", func(rt p4v1.P4RuntimeClient) error {
		out = out[:0]
		c.Metrics.ReadRPCs.Add(1)
		rc, err := rt.Read(ctx, &p4v1.ReadRequest{DeviceId: c.cfg.DeviceID, Entities: entities})
		if err != nil {
			return err
		}
		for {
			resp, err := rc.Recv()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, resp.GetEntities()...)
		}
	})
	if err != nil {
		c.countErr(err)
		return nil, fmt.Errorf("p4rt: read: %w", err)
	}
	c.Metrics.EntriesRead.Add(uint64(len(out)))
	return out, nil
}

// ReadTable returns all entries of a table (id 0: of every table).
func (c *Client) ReadTable(ctx context.Context, tableID uint32) ([]*p4v1.TableEntry, error) {
	ents, err := c.Read(ctx, &p4v1.Entity{Entity: &p4v1.Entity_TableEntry{TableEntry: &p4v1.TableEntry{TableId: tableID}}})
	if err != nil {
		return nil, err
	}
	out := make([]*p4v1.TableEntry, 0, len(ents))
	for _, e := range ents {
		if te := e.GetTableEntry(); te != nil {
			out = append(out, te)
		}
	}
	return out, nil
}

// Capabilities returns the target's P4Runtime API version.
func (c *Client) Capabilities(ctx context.Context) (string, error) {
	rt, err := c.runtime()
	if err != nil {
		return "", err
	}
	resp, err := rt.Capabilities(ctx, &p4v1.CapabilitiesRequest{})
	if err != nil {
		c.countErr(err)
		return "", fmt.Errorf("p4rt: capabilities: %w", err)
	}
	return resp.GetP4RuntimeApiVersion(), nil
}
