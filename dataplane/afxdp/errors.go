package afxdp

import "errors"

// Errors are built without fmt (the data plane must not import it): an
// OpError names the operation in the "verb noun" form and wraps the cause.

// Sentinel errors.
var (
	// ErrZeroCopyUnsupported: the driver of some port cannot do
	// zero-copy AF_XDP (veth, for one). Open in ModeAuto falls back to
	// copy mode on it.
	ErrZeroCopyUnsupported = errors.New("zero-copy AF_XDP not supported by the driver")
	// ErrBadOptions: Options out of range.
	ErrBadOptions = errors.New("invalid AF_XDP options")
	// ErrStarted: Start called twice.
	ErrStarted = errors.New("engine already started")
)

// OpError is a failed setup step: Op says what was being done ("bind
// socket axdp-ga queue 0"), Err why.
type OpError struct {
	Op  string
	Err error
}

func (e *OpError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *OpError) Unwrap() error { return e.Err }

func opError(op string, err error) error {
	if err == nil {
		return nil
	}
	return &OpError{Op: op, Err: err}
}

// wrapped lets a bind error match both the errno and ErrZeroCopyUnsupported.
type wrapped struct {
	err  error
	also error
}

func (w *wrapped) Error() string   { return w.err.Error() }
func (w *wrapped) Unwrap() []error { return []error{w.err, w.also} }
