package container

import (
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// Pids lists the processes of running container c, from its cgroup (every
// process the container started, exec'd ones included), or when no cgroup
// could be made, its init and that process's descendants.
func Pids(c *state.Container) ([]int, error) {
	if cg, err := CgroupOf(c); err == nil {
		if pids, err := cg.Procs(); err == nil && len(pids) > 0 {
			return pids, nil
		}
	}
	if !proc.Alive(c.Pid, c.PidStartTime) {
		return nil, nil
	}
	return proc.Descendants(c.Pid), nil
}
