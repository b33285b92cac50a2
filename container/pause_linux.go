package container

// Pause and unpause freeze a container's cgroup. The record says "paused"
// only after the kernel reports every task frozen, and "running" again
// before the thaw, so a reader never sees running processes recorded as
// paused for longer than the thaw takes.

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

// Pause is `skiff pause`: it freezes every process of running container ref.
func (s Store) Pause(ref string) (*state.Container, error) {
	return s.changeFrozen(ref, true)
}

// Unpause is `skiff unpause`: it thaws paused container ref.
func (s Store) Unpause(ref string) (*state.Container, error) {
	return s.changeFrozen(ref, false)
}

func (s Store) changeFrozen(ref string, freeze bool) (*state.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	c, l, err := s.lockRecord(c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if err := checkFreezable(c, freeze); err != nil {
		return nil, err
	}
	cg, err := CgroupOf(c)
	if err != nil {
		return nil, err
	}
	if freeze {
		if err := cg.Freeze(); err != nil {
			return nil, err
		}
		c.Status = state.Paused
		if err := state.Save(s.Root, c); err != nil {
			cg.Thaw() // a record that says running must not hide frozen processes
			return nil, err
		}
		return c, nil
	}
	c.Status = state.Running
	if err := state.Save(s.Root, c); err != nil {
		return nil, err
	}
	return c, cg.Thaw()
}

// checkFreezable returns docker's refusals, in docker's words.
func checkFreezable(c *state.Container, freeze bool) error {
	switch {
	case !freeze && c.Status != state.Paused:
		return fmt.Errorf("Container %s is not paused", c.ID)
	case freeze && c.Status == state.Paused:
		return fmt.Errorf("container %s is already paused", c.ID)
	case freeze && c.Status == state.Restarting:
		return fmt.Errorf("Container %s is restarting, wait until the container is running", c.ID)
	case freeze && (c.Status != state.Running || !proc.Alive(c.Pid, c.PidStartTime)):
		return &run.NotRunningError{ID: c.ID}
	}
	return nil
}

// resumeAfter returns what stop, kill and rm -f call once they have
// signalled paused container c (nil when c is not paused): docker sends
// the signal first, then thaws, so the process handles it before running
// anything else; a frozen v1 task cannot even die of SIGKILL until thawed.
func (s Store) resumeAfter(c *state.Container) func() {
	if c.Status != state.Paused {
		return nil
	}
	return func() { s.resume(c) }
}

// resume records a paused container running again, then thaws it. Only a
// record still saying paused is changed: the monitor may already have
// recorded the exit (a v2 frozen task dies of SIGKILL at once).
func (s Store) resume(paused *state.Container) {
	id := paused.ID
	if l, err := state.LockContainer(s.RunRoot, id); err == nil {
		if c, err := state.Load(s.Root, id); err == nil && c.Status == state.Paused {
			c.Status = state.Running
			state.Save(s.Root, c)
		}
		l.Unlock()
	}
	if cg, err := CgroupOf(paused); err == nil {
		cg.Thaw()
	}
}

// resumesOn reports whether sent to a paused container, sig thaws it, as
// docker's kill does: SIGKILL, and the stop signal when one was set (with
// none set, any signal); any other signal waits for unpause.
func resumesOn(c *state.Container, sig unix.Signal) bool {
	if sig == unix.SIGKILL || c.Config.StopSignal == "" {
		return true
	}
	stop, err := recordedStopSignal(c)
	return err == nil && sig == stop
}
