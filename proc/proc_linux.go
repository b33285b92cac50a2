package proc

import (
	"os"
	"strconv"

	"github.com/skiff-dev/skiff/internal/procstat"
)

// StartTime returns field 22 of /proc/<pid>/stat (start time in clock
// ticks since boot): with the pid it identifies one process for its lifetime.
func StartTime(pid int) (uint64, error) {
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

// Descendants is root and every process below it, from /proc's ppids.
func Descendants(root int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := procstat.Read(pid); err == nil {
			children[s.PPid] = append(children[s.PPid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// Self is this process's pid and start time (0 if /proc cannot say).
func Self() (pid int, start uint64) {
	pid = os.Getpid()
	start, _ = StartTime(pid)
	return pid, start
}
