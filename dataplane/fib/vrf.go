package fib

import (
	"errors"
	"slices"
	"strconv"
	"sync/atomic"
)

// emptyTable is the table of a VRF before its first Publish.
var emptyTable = NewBuilder().Build()

// VRF is one routing domain. Its table is published atomically: workers
// load it with Table (one atomic load, no lock) and the control plane
// replaces it with Publish; a reader keeps using the table it loaded, which
// is immutable, so it never sees a half-built one.
type VRF struct {
	ID   uint16
	Name string

	table atomic.Pointer[Table]
}

// NewVRF returns a VRF with an empty table.
func NewVRF(id uint16, name string) *VRF {
	v := &VRF{ID: id, Name: name}
	v.table.Store(emptyTable)
	return v
}

// Table returns the current table; never nil.
func (v *VRF) Table() *Table { return v.table.Load() }

// Publish makes t the current table. A nil t publishes an empty table.
func (v *VRF) Publish(t *Table) {
	if t == nil {
		t = emptyTable
	}
	v.table.Store(t)
}

// Set is the collection of VRFs indexed by ID, immutable once built, for
// the data plane. The VRFs' tables still change through VRF.Publish.
type Set struct {
	byID []*VRF // index = ID; nil where there is no VRF
	vrfs []*VRF // sorted by ID
}

// Errors returned by NewSet.
var (
	ErrDuplicateVRF = errors.New("duplicate VRF ID")
	ErrNilVRF       = errors.New("nil VRF")
)

// NewSet returns a Set of vrfs. IDs must be unique.
func NewSet(vrfs ...*VRF) (*Set, error) {
	s := &Set{vrfs: slices.Clone(vrfs)}
	maxID := -1
	for _, v := range vrfs {
		if v == nil {
			return nil, errors.New("fib: new set: " + ErrNilVRF.Error())
		}
		maxID = max(maxID, int(v.ID))
	}
	s.byID = make([]*VRF, maxID+1)
	for _, v := range vrfs {
		if s.byID[v.ID] != nil {
			return nil, &vrfError{id: v.ID, err: ErrDuplicateVRF}
		}
		s.byID[v.ID] = v
	}
	slices.SortFunc(s.vrfs, func(a, b *VRF) int { return int(a.ID) - int(b.ID) })
	return s, nil
}

type vrfError struct {
	id  uint16
	err error
}

func (e *vrfError) Error() string {
	return "fib: new set: VRF " + strconv.Itoa(int(e.id)) + ": " + e.err.Error()
}
func (e *vrfError) Unwrap() error { return e.err }

// VRF returns the VRF with the given ID, or nil. It does not allocate.
func (s *Set) VRF(id uint16) *VRF {
	if int(id) < len(s.byID) {
		return s.byID[id]
	}
	return nil
}

// Lookup4 looks dst up in the current table of VRF id; ok is false when
// there is no such VRF or no route.
func (s *Set) Lookup4(id uint16, dst [4]byte) (nh *NextHop, ok bool) {
	v := s.VRF(id)
	if v == nil {
		return nil, false
	}
	return v.Table().Lookup4(dst)
}

// Lookup6 is Lookup4 for IPv6.
func (s *Set) Lookup6(id uint16, dst [16]byte) (nh *NextHop, ok bool) {
	v := s.VRF(id)
	if v == nil {
		return nil, false
	}
	return v.Table().Lookup6(dst)
}

// Len returns the number of VRFs.
func (s *Set) Len() int { return len(s.vrfs) }

// VRFs returns the VRFs sorted by ID (a copy of the list).
func (s *Set) VRFs() []*VRF { return slices.Clone(s.vrfs) }
