package run

// What other commands do to a container by its record: remove, and (issue
// 3) stop, kill, wait. They act on the process by pid checked against its
// start time, so they work whether or not a monitor is alive.

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

// ErrRunning is matched by rm's refusal of a running container.
var ErrRunning = errors.New("container is running")

// Remove is `skiff rm [-f] ref`: a running container is refused unless
// force, which kills it first. It returns the removed record.
func Remove(root, runRoot, ref string, force bool) (*state.Container, error) {
	c, err := state.Lookup(root, ref)
	if err != nil {
		return nil, err
	}
	l, err := state.LockContainer(runRoot, c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if c, err = state.Load(root, c.ID); err != nil {
		return nil, err
	}
	if c.Status == state.Running {
		if !force {
			return nil, fmt.Errorf("cannot remove container \"/%s\": %w: stop the container before removing or force remove", c.Name, ErrRunning)
		}
		if err := kill(c.Pid, c.PidStartTime); err != nil {
			return nil, fmt.Errorf("cannot remove container \"/%s\": could not kill: %w", c.Name, err)
		}
	}
	if cg, err := cgroup.Load(c.ID); err == nil {
		cg.Delete()
	}
	if err := state.Delete(root, runRoot, c); err != nil {
		return nil, err
	}
	state.RemoveLockFile(runRoot, c.ID)
	return c, nil
}

// remove is Remove by full id for --rm, which already knows the process is gone.
func remove(root, runRoot, id string) error {
	_, err := Remove(root, runRoot, id, true)
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

// kill SIGKILLs pid if it is still the container's process and waits
// (briefly) for it to die; its parent reaps it.
func kill(pid int, start uint64) error {
	if pid <= 0 || !state.Alive(pid, start) {
		return nil
	}
	if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
		return err
	}
	for i := 0; i < 500 && state.Alive(pid, start); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if state.Alive(pid, start) {
		return fmt.Errorf("pid %d still alive after SIGKILL", pid)
	}
	return nil
}
