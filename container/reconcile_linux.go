package container

import (
	"fmt"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/state"
)

// Reconcile repairs the record of a container whose monitor died (killed,
// or the machine's run root lost): a process still alive stays running
// (stop, kill and inspect work by pid without a monitor); a process gone is
// recorded exited with ExitCode state.UnknownExit, its cgroup is removed,
// and --rm is applied, in which case the error matches state.ErrNotFound.
//
// It is cheap when nothing is wrong: a container that is not running costs
// nothing, a running one a flock probe.
func (s Store) Reconcile(c *state.Container) (*state.Container, error) {
	if !mayNeedReconcile(c) || state.MonitorAlive(s.RunRoot, c.ID) {
		return c, nil
	}
	cur, l, err := s.lockRecord(c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	// The monitor may have written its record, or a new one started,
	// while we waited for the lock.
	if !mayNeedReconcile(cur) || state.MonitorAlive(s.RunRoot, c.ID) {
		return cur, nil
	}
	if cur.Status.Up() {
		return cur, nil // process alive (Load checked pid and start time)
	}
	// Orphaned (process gone), or restarting with no monitor left to restart it.
	if cur.Orphaned {
		cur.ExitCode = state.UnknownExit
		cur.FinishedAt = time.Now().UTC()
	}
	cur.Status, cur.Pid, cur.PidStartTime = state.Exited, 0, 0
	cur.MonitorPid, cur.MonitorStartTime, cur.Orphaned, cur.Network = 0, 0, false, nil
	if cg, err := CgroupOf(cur); err == nil {
		cg.Delete()
	}
	if cur.Config.AutoRemove {
		if err := state.Delete(s.Root, s.RunRoot, cur); err != nil {
			return nil, err
		}
		state.RemoveLockFile(s.RunRoot, cur.ID)
		return nil, fmt.Errorf("container %s was removed (--rm) after its process exited: %w", shortid.Of(cur.ID), &state.NotFoundError{Ref: cur.ID})
	}
	if err := state.Save(s.Root, cur); err != nil {
		return nil, err
	}
	return cur, nil
}

// mayNeedReconcile: the record claims a process or a pending restart.
func mayNeedReconcile(c *state.Container) bool {
	return c.Orphaned || c.Status.Up() || c.Status == state.Restarting
}
