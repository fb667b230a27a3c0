package config

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with a config file: the dotted field path
// (e.g. "tenants[0].firewall.ingress.rules[1].dport[0]"), its position in
// the file (0 when unknown, e.g. for a Config built in Go) and a message.
type Problem struct {
	Path   string
	Line   int
	Column int
	Msg    string
}

// String formats the problem as "file:line: path: msg"; empty parts are
// left out.
func (p Problem) String() string { return p.format("") }

func (p Problem) format(file string) string {
	var b strings.Builder
	if file != "" {
		b.WriteString(file)
		b.WriteString(":")
	}
	if p.Line > 0 {
		fmt.Fprintf(&b, "%d:", p.Line)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Error is every problem found in one config file. Parse, Load and
// Validate return it (as error) when there is at least one problem.
type Error struct {
	// File is the file name given to Parse or Load ("" for a Config
	// built in Go).
	File     string
	Problems []Problem
}

// Error prints one problem per line, in file order:
//
//	config.yaml:14: tenants[0].firewall.ingress.rules[1].dport[0]: "22-x": bad port range
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.format(e.File)
	}
	return strings.Join(lines, "\n")
}

// problems collects Problems.
type problems struct {
	list []Problem
}

func (ps *problems) add(path string, line, col int, format string, args ...any) {
	ps.list = append(ps.list, Problem{Path: path, Line: line, Column: col, Msg: fmt.Sprintf(format, args...)})
}

// sortProblems orders problems by position; problems without a position
// keep their relative order and come last.
func sortProblems(ps []Problem) {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if (a.Line == 0) != (b.Line == 0) {
			return a.Line != 0
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Column < b.Column
	})
}
