package procstat

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
)

// Stat is what skiff reads of /proc/<pid>/stat.
type Stat struct {
	Comm      string // field 2, without its parentheses
	State     byte   // field 3: R, S, D, Z, X, ...
	PPid      int    // field 4
	TTYNr     int    // field 7: the controlling terminal's device number
	UTime     uint64 // field 14: user CPU time in clock ticks
	STime     uint64 // field 15: system CPU time in clock ticks
	StartTime uint64 // field 22: start time in clock ticks since boot
}

// Read reads and parses /proc/<pid>/stat.
func Read(pid int) (*Stat, error) {
	path := "/proc/" + strconv.Itoa(pid) + "/stat"
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Parse parses the contents of a /proc/<pid>/stat file.
func Parse(b []byte) (*Stat, error) {
	// comm (field 2) may hold spaces and parentheses: it runs from the
	// first '(' to the last ')', and the fields resume after it.
	lp, rp := bytes.IndexByte(b, '('), bytes.LastIndexByte(b, ')')
	if lp < 0 || rp < lp {
		return nil, errors.New("unexpected format")
	}
	f := fields{bytes.Fields(b[rp+1:]), nil}
	if len(f.f) < 22-2 {
		return nil, errors.New("too few fields")
	}
	s := &Stat{
		Comm: string(b[lp+1 : rp]), State: f.f[0][0],
		PPid: f.int(4), TTYNr: f.int(7),
		UTime: f.uint(14), STime: f.uint(15), StartTime: f.uint(22),
	}
	if f.err != nil {
		return nil, f.err
	}
	return s, nil
}

// fields are the fields after comm (f[0] is field 3), numbered as in
// proc(5); the first one that does not parse is kept in err.
type fields struct {
	f   [][]byte
	err error
}

func (f *fields) int(n int) int {
	v, err := strconv.Atoi(string(f.f[n-3]))
	f.fail(n, err)
	return v
}

func (f *fields) uint(n int) uint64 {
	v, err := strconv.ParseUint(string(f.f[n-3]), 10, 64)
	f.fail(n, err)
	return v
}

func (f *fields) fail(n int, err error) {
	if err != nil && f.err == nil {
		f.err = fmt.Errorf("field %d: %w", n, err)
	}
}
