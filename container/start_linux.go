package container

// The host side of a container's start, run by the container's monitor:
// start its init (run.StartInit, the one start path), record it, wait for
// it, and record its exit and clean up after it.

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

// Start runs the container's process with streams as its stdio (with -t the
// init makes its pty slave the stdio instead and Pty returns the master).
// Only the container's monitor starts it: the record names the calling
// process as the monitor. On failure the container is left "created" with
// the exit code docker would report, and the error is a *run.StartError.
func (c *Container) Start(streams run.Stdio) error {
	return c.start(func(net run.Network) (*run.Process, error) {
		cfg, err := c.initConfig()
		if err != nil {
			return nil, err
		}
		return run.StartInit(c.State.ID, cfg, streams, net)
	})
}

// StartPending is Start for an init the monitor started before the record
// existed (run.PrestartInit, with the container's streams): it gets its
// config from the record now. Such an init was born in a new network
// namespace: the caller starts a container without one
// (OwnNetworkNamespace false) by Start instead.
func (c *Container) StartPending(pre *run.PendingInit) error {
	return c.start(func(net run.Network) (*run.Process, error) {
		cfg, err := c.initConfig()
		if err != nil {
			pre.Abort()
			return nil, err
		}
		return pre.Start(cfg, net.Setup)
	})
}

func (c *Container) start(startInit func(run.Network) (*run.Process, error)) error {
	net, done, err := c.networkFor()
	net.Setup = c.withDevices(c.withLimits(net.Setup))
	var p *run.Process
	if err == nil {
		err = c.mountFuseRoot()
	}
	if err == nil {
		var doneShared func()
		if net.Shared, doneShared, err = c.sharedNamespaces(); err == nil {
			p, err = startInit(net)
			doneShared()
		}
		done()
	}
	if err != nil {
		c.detach()
		c.unmountFuseRoot()
		var se *run.StartError
		if !errors.As(err, &se) {
			se = &run.StartError{Code: 125, Err: err}
		}
		c.update(func(s *state.Container) { s.ExitCode = se.Code })
		return se
	}
	c.proc = p
	pid := p.Pid()
	start, _ := proc.StartTime(pid)
	err = c.update(func(s *state.Container) {
		s.Status, s.Pid, s.PidStartTime, s.StartedAt = state.Running, pid, start, time.Now().UTC()
		s.ExitCode, s.FinishedAt, s.OOMKilled = 0, time.Time{}, false
		s.MonitorPid, s.MonitorStartTime = proc.Self()
		s.Network = c.networkStatus()
	})
	if err != nil {
		// The process runs; only the record lags. Say so and carry on.
		fmt.Fprintln(os.Stderr, "skiff: warning:", err)
	}
	c.updateLinkingHosts()
	return nil
}

// Wait waits for the container's process and returns its exit status as
// docker reports it (128+n when killed by signal n). Its published ports,
// DNS responder and user networks' names are withdrawn at once (exited);
// the rest of its network attachment goes with DetachNetwork, once the
// exit is told.
func (c *Container) Wait() int {
	code := c.proc.Wait()
	c.exited()
	return code
}

// Cleanup removes the cgroup and records the exit; with --rm it removes
// the container and its anonymous volumes instead.
func (c *Container) Cleanup(code int) error {
	var errs []error
	oom := c.OOMKilled(code) // before the cgroup, and its counts, go
	c.killOrphans()
	errs = append(errs, c.unmountFuseRoot())
	if c.proc != nil {
		errs = append(errs, c.proc.DeleteCgroup())
	} else if cg, err := CgroupOf(c.State); err == nil {
		errs = append(errs, cg.Delete())
	}
	// --rm removes the record under the container lock, so nothing sees it
	// between the exit and the removal: writing the exit first would be a
	// record written for nobody. Only if the removal fails is the exit
	// recorded: rm of a record that says running would wait for this very
	// process to record it.
	timeline.Mark("cgroup-deleted")
	if c.State.Config.AutoRemove {
		gone, err := c.store.remove(c.State.ID)
		if err == nil {
			if gone != nil { // removed here, not by an rm meanwhile: --rm takes its anonymous volumes
				errs = append(errs, c.store.RemoveAnonymousVolumes(gone))
			}
			return errors.Join(errs...)
		}
		errs = append(errs, err)
	}
	errs = append(errs, c.update(func(s *state.Container) {
		if s.Status.Up() || s.Status == state.Restarting {
			s.Status = state.Exited
		}
		s.Pid, s.PidStartTime, s.ExitCode, s.FinishedAt = 0, 0, code, time.Now().UTC()
		s.OOMKilled = oom
		s.MonitorPid, s.MonitorStartTime = 0, 0
		s.Network = nil
	}))
	return errors.Join(errs...)
}
