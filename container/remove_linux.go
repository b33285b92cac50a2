package container

// `skiff rm` and --rm: a container's cgroup, directory, name and lock file
// go once its process is gone (see lifecycle_linux.go for the locking);
// with rm -v and --rm its anonymous volumes after it.

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/volume"
)

// Remove is `skiff rm [-f] ref`: a running container, or one whose
// monitor is still at work, is refused unless force, which stops it for
// good first. It returns the removed record.
func (s Store) Remove(ref string, force bool) (*state.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if !c.Status.Up() && c.Status != state.Restarting && state.MonitorAlive(s.RunRoot, c.ID) {
		// A monitor finishing an exit (a foreground run just returned)
		// leaves within moments; one that stays is starting the container.
		monitor.WaitExit(s.RunRoot, c.ID, monitorLinger)
		if c, err = s.Lookup(c.ID); err != nil {
			return nil, err
		}
	}
	if c.Status.Up() || c.Status == state.Restarting || state.MonitorAlive(s.RunRoot, c.ID) {
		if !force && c.Status == state.Paused {
			return nil, fmt.Errorf("cannot remove container \"/%s\": container is paused and must be unpaused first", c.Name)
		}
		if !force {
			return nil, fmt.Errorf("cannot remove container \"/%s\": %w: stop the container before removing or force remove", c.Name, ErrRunning)
		}
		if err := s.forceStop(c); errors.Is(err, state.ErrNotFound) {
			return c, nil // its monitor applied --rm
		} else if err != nil {
			return nil, fmt.Errorf("cannot remove container \"/%s\": could not kill: %w", c.Name, err)
		}
	}
	return s.deleteContainer(c.ID, !force)
}

// deleteContainer removes a container whose process is gone: cgroup,
// directory, name, lock file. With refuseStarted, a monitor that a start
// spawned since our checks (it takes the container lock to do so, which
// we now hold) makes it refuse instead of deleting under that monitor.
func (s Store) deleteContainer(id string, refuseStarted bool) (*state.Container, error) {
	l, err := state.LockContainer(s.RunRoot, id)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	c, err := state.Load(s.Root, id)
	if err != nil {
		return nil, err
	}
	if refuseStarted && state.MonitorAlive(s.RunRoot, id) {
		return nil, fmt.Errorf("cannot remove container \"/%s\": %w: it was started while being removed", c.Name, ErrRunning)
	}
	if c.Status.Up() && proc.Alive(c.Pid, c.PidStartTime) {
		// started again between our kill and the lock: only force gets here
		return nil, fmt.Errorf("cannot remove container \"/%s\": it was started again while being removed: retry", c.Name)
	}
	if cg, err := CgroupOf(c); err == nil {
		cg.Delete()
	}
	if err := state.Delete(s.Root, s.RunRoot, c); err != nil {
		return nil, err
	}
	state.RemoveLockFile(s.RunRoot, c.ID)
	return c, nil
}

// forceStop ends c and its monitor for rm -f: SIGKILL to a running
// process; SIGTERM to a monitor waiting out a restart back-off (it gives
// up); and a monitor caught starting the container (or stuck doing so,
// its CLI killed) is killed with whatever it started, so that nothing
// keeps writing into the directory rm deletes.
func (s Store) forceStop(c *state.Container) error {
	if _, err := s.markStopped(c.ID); err != nil {
		return err
	}
	switch c.Status {
	case state.Running, state.Paused:
		if err := terminate(s.RunRoot, c, unix.SIGKILL, 0, s.resumeAfter(c)); err != nil {
			return err
		}
	case state.Restarting:
		monitor.Signal(s.RunRoot, c, unix.SIGTERM)
	default:
		monitor.Signal(s.RunRoot, c, unix.SIGKILL)
		monitor.WaitExit(s.RunRoot, c.ID, recordWait)
		killCgroup(c)
	}
	_, err := s.settle(c)
	return err
}

// killCgroup SIGKILLs every process in container c's cgroup: an init
// whose pid was never recorded is found there.
func killCgroup(c *state.Container) {
	if cg, err := CgroupOf(c); err == nil {
		cg.Kill()
	}
}

// remove is --rm, applied by the container's own monitor (or parent),
// which knows the process is gone: Remove would wait for that very
// monitor to exit. It returns the removed record, nil if another rm
// removed it first.
func (s Store) remove(id string) (*state.Container, error) {
	c, err := s.deleteContainer(id, false) // the monitor itself, for --rm
	if errors.Is(err, state.ErrNotFound) {
		return nil, nil
	}
	return c, err
}

// RemoveAnonymousVolumes is rm -v's and --rm's end: once container c is
// gone, its anonymous volumes go too, unless another container still
// uses one (--volumes-from); named volumes always stay. The check and the
// removal hold the volumes lock exclusively, so no create can start
// using a volume in between.
func (s Store) RemoveAnonymousVolumes(c *state.Container) error {
	var names []string
	for _, m := range c.Host.Mounts {
		if m.Type == "volume" && m.Anonymous && m.Name != "" {
			names = append(names, m.Name)
		}
	}
	if len(names) == 0 {
		return nil // a container without anonymous volumes does not touch the volumes lock
	}
	vs := volume.Store{Root: s.Root}
	release, err := vs.Exclusive()
	if err != nil {
		return err
	}
	defer release()
	users, err := s.VolumeUsers()
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		if len(users[n]) > 0 {
			continue
		}
		if err := vs.Remove(n); err != nil && !errors.Is(err, volume.ErrNotFound) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// VolumeUsers maps each volume's name to the ids of the containers whose
// record mounts it, running or not: the in-use join of volume rm, prune,
// ls's dangling filter and rm -v. Callers that delete hold
// volume.Store.Exclusive, which run and create hold shared until their
// record is saved, so no container that is being made is missed.
func (s Store) VolumeUsers() (map[string][]string, error) {
	all, err := state.List(s.Root)
	if err != nil {
		return nil, err
	}
	users := map[string][]string{}
	for _, c := range all {
		for _, m := range c.Host.Mounts {
			if m.Type == "volume" && m.Name != "" && !slices.Contains(users[m.Name], c.ID) {
				users[m.Name] = append(users[m.Name], c.ID)
			}
		}
	}
	return users, nil
}
