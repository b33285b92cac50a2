package run

import (
	"os"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/procstat"
	"github.com/skiff-dev/skiff/state"
)

// Pids lists the processes of running container c, from its cgroup (every
// process the container started, exec'd ones included), or when no cgroup
// could be made, its init and that process's descendants.
func Pids(c *state.Container) ([]int, error) {
	if cg, err := cgroup.Load(c.ID); err == nil {
		for _, dir := range cg.Paths() {
			if pids, err := readPids(dir + "/cgroup.procs"); err == nil && len(pids) > 0 {
				return pids, nil
			}
		}
	}
	if !state.Alive(c.Pid, c.PidStartTime) {
		return nil, nil
	}
	return descendants(c.Pid), nil
}

func readPids(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// descendants is root and every process below it, from /proc's ppids.
func descendants(root int) []int {
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
