package state

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
)

// PidStartTime returns field 22 of /proc/<pid>/stat (start time in clock
// ticks since boot): with the pid it identifies one process for its lifetime.
func PidStartTime(pid int) (uint64, error) {
	start, _, err := readStat(pid)
	return start, err
}

// Alive reports whether pid is a live (not zombie) process that started at
// start; start 0 skips the start-time check.
func Alive(pid int, start uint64) bool {
	got, st, err := readStat(pid)
	if err != nil || st == 'Z' || st == 'X' {
		return false
	}
	return start == 0 || got == start
}

func readStat(pid int) (start uint64, state byte, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	// comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := bytes.Fields(b[i+1:])
	const startField = 22 - 3 // f[0] is field 3 (state)
	if len(f) <= startField {
		return 0, 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	start, err = strconv.ParseUint(string(f[startField]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return start, f[0][0], nil
}
