package container

import (
	"fmt"
	"os"

	"github.com/skiff-dev/skiff/internal/shortid"
)

// sigkillExit is docker's exit status of a process killed by SIGKILL
// (128+9), the OOM killer's signal.
const sigkillExit = 137

// OOMKilled reads the container's memory cgroup for an OOM kill, at exit
// and before the cgroup is removed (the counts go with it): Cleanup's
// final record, and the monitor's record of an exit its restart policy
// will undo. A cgroup that cannot be read is no OOM kill: the exit is
// still recorded.
func (c *Container) OOMKilled(code int) bool {
	cg, err := CgroupOf(c.State)
	if err != nil {
		return false
	}
	oom, err := cg.OOMKilled(code == sigkillExit)
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(c.State.ID), err)
	}
	return oom
}
