package state

import "github.com/skiff-dev/skiff/internal/procstat"

// PidStartTime returns field 22 of /proc/<pid>/stat (start time in clock
// ticks since boot): with the pid it identifies one process for its lifetime.
func PidStartTime(pid int) (uint64, error) {
	s, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	return s.StartTime, nil
}

// Alive reports whether pid is a live (not zombie) process that started at
// start; start 0 skips the start-time check.
func Alive(pid int, start uint64) bool {
	s, err := procstat.Read(pid)
	if err != nil || s.State == 'Z' || s.State == 'X' {
		return false
	}
	return start == 0 || s.StartTime == start
}
