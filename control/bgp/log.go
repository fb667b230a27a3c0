package bgp

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"

	gobgplog "github.com/osrg/gobgp/v3/pkg/log"
)

// slogAdapter is gobgp's log.Logger over log/slog. gobgp's Info lines
// (one per FSM transition, per config change) are demoted to Debug: the
// Speaker logs its own, shorter line for every event an operator cares
// about (peer up/down, announce, withdraw). gobgp's warnings and errors
// (malformed messages, NOTIFICATIONs, connection failures) are kept at their
// level, tagged component=gobgp.
type slogAdapter struct {
	l *slog.Logger
}

func newSlogAdapter(l *slog.Logger) *slogAdapter {
	return &slogAdapter{l: l.With("component", "gobgp")}
}

func (a *slogAdapter) log(level slog.Level, msg string, fields gobgplog.Fields) {
	ctx := context.Background()
	if !a.l.Enabled(ctx, level) {
		return
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k == gobgplog.FieldFacility {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]slog.Attr, 0, len(keys))
	for _, k := range keys {
		v := fields[k]
		if err, ok := v.(error); ok {
			v = err.Error()
		}
		attrs = append(attrs, slog.Any(k, v))
	}
	a.l.LogAttrs(ctx, level, msg, attrs...)
}

func (a *slogAdapter) Panic(msg string, fields gobgplog.Fields) {
	a.log(slog.LevelError, msg, fields)
	panic(fmt.Sprintf("gobgp: %s", msg))
}

// Fatal keeps gobgp's contract (the logrus default exits): gobgp calls it
// only for unrecoverable setup failures of features xdpgw does not use
// (its gRPC API listener).
func (a *slogAdapter) Fatal(msg string, fields gobgplog.Fields) {
	a.log(slog.LevelError, msg, fields)
	os.Exit(1)
}

func (a *slogAdapter) Error(msg string, fields gobgplog.Fields) {
	a.log(slog.LevelError, msg, fields)
}
func (a *slogAdapter) Warn(msg string, fields gobgplog.Fields) { a.log(slog.LevelWarn, msg, fields) }
func (a *slogAdapter) Info(msg string, fields gobgplog.Fields) { a.log(slog.LevelDebug, msg, fields) }
func (a *slogAdapter) Debug(msg string, fields gobgplog.Fields) {
	a.log(slog.LevelDebug-4, msg, fields)
}

// SetLevel is ignored: the slog handler decides.
func (a *slogAdapter) SetLevel(gobgplog.LogLevel) {}

// GetLevel tells gobgp whether its (costly) debug lines would be seen.
func (a *slogAdapter) GetLevel() gobgplog.LogLevel {
	if a.l.Enabled(context.Background(), slog.LevelDebug-4) {
		return gobgplog.DebugLevel
	}
	return gobgplog.InfoLevel
}
