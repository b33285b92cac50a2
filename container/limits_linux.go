package container

// A container's limits written into its cgroup by its monitor, after the
// init was born in the cgroup and before it may exec (the start's
// Network.Setup hook), so the container's process never runs a single
// instruction unlimited; and by `skiff update` into a running one.

import (
	"fmt"
	"os"
	"strconv"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// withLimits wraps a start's pre-exec hook: the record's limits first.
// A container without limits gets setup unchanged (nothing on run's path).
func (c *Container) withLimits(setup func(pid int) error) func(pid int) error {
	l := c.State.Host.Limits
	r := spec.Resources(l)
	if r == nil && l.OomScoreAdj == 0 {
		return setup
	}
	return func(pid int) error {
		if err := applyLimits(c.State.ID, pid, l); err != nil {
			return err
		}
		if setup == nil {
			return nil
		}
		return setup(pid)
	}
}

// CgroupOf names container c's existing cgroup, under its --cgroup-parent
// or, rootless, its delegated subtree.
func CgroupOf(c *state.Container) (*cgroup.Cgroup, error) {
	return limitsCgroup(c.ID, c.Host.Limits)
}

// limitsCgroup names container id's existing cgroup, where its limits l
// say it is: below the delegated subtree recorded at a rootless create,
// else under the --cgroup-parent at each hierarchy's root. A rootless
// container without delegation has none there: an empty cgroup, which
// reads as zeros and is set to nothing.
func limitsCgroup(id string, l state.Limits) (*cgroup.Cgroup, error) {
	if d := cgroup.Recorded(l.CgroupMount, l.CgroupSubtree); d != nil {
		return d.Load(id)
	}
	return cgroup.LoadUnder(l.CgroupParent, id)
}

// applyLimits writes l into container id's cgroup, and its OOM score
// adjustment to pid (inherited by every process the init starts).
func applyLimits(id string, pid int, l state.Limits) error {
	cg, err := limitsCgroup(id, l)
	if err != nil {
		return err
	}
	if err := cg.SetResources(spec.Resources(l)); err != nil {
		return err
	}
	if l.OomScoreAdj != 0 && pid > 0 {
		p := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
		if err := os.WriteFile(p, []byte(strconv.Itoa(l.OomScoreAdj)), 0o644); err != nil {
			return fmt.Errorf("set oom_score_adj: %w", err)
		}
	}
	return nil
}

// UpdateLimits writes l into running container id's cgroup (skiff update).
func UpdateLimits(id string, l state.Limits) error {
	cg, err := limitsCgroup(id, l)
	if err != nil {
		return err
	}
	return cg.SetResources(spec.Resources(l))
}

// Update is `skiff update`: change sets the new limits and restart policy
// on container ref's record, under its lock; a running container's cgroup
// gets the limits first, so a record never claims limits its cgroup
// refused.
func (s Store) Update(ref string, change func(*state.Container) error) (*state.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	c, l, err := s.lockRecord(c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if err := change(c); err != nil {
		return nil, err
	}
	if c.Status.Up() && proc.Alive(c.Pid, c.PidStartTime) {
		if err := UpdateLimits(c.ID, c.Host.Limits); err != nil {
			return nil, fmt.Errorf("Cannot update container %s: %w", c.ID, err)
		}
	}
	return c, state.Save(s.Root, c)
}
