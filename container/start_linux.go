package container

// The host side of a container's start, run by the container's monitor:
// start its init (run.StartInit, the one start path), record it, wait for
// it, and record its exit and clean up after it.

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/skiff-dev/skiff/cgroup"
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
	p, err := run.StartInit(c.State.ID, c.initConfig(), streams)
	if err != nil {
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
		s.ExitCode, s.FinishedAt = 0, time.Time{}
		s.MonitorPid, s.MonitorStartTime = proc.Self()
	})
	if err != nil {
		// The process runs; only the record lags. Say so and carry on.
		fmt.Fprintln(os.Stderr, "skiff: warning:", err)
	}
	return nil
}

// Wait waits for the container's process and returns its exit status as
// docker reports it (128+n when killed by signal n).
func (c *Container) Wait() int { return c.proc.Wait() }

// Cleanup removes the cgroup and records the exit; with --rm it removes
// the container and its anonymous volumes instead.
func (c *Container) Cleanup(code int) error {
	var errs []error
	if c.proc != nil {
		errs = append(errs, c.proc.DeleteCgroup())
	} else if cg, err := cgroup.Load(c.State.ID); err == nil {
		errs = append(errs, cg.Delete())
	}
	// --rm removes the record under the container lock, so nothing sees it
	// between the exit and the removal: writing the exit first would be a
	// record written for nobody. Only if the removal fails is the exit
	// recorded: rm of a record that says running would wait for this very
	// process to record it.
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
		s.MonitorPid, s.MonitorStartTime = 0, 0
	}))
	return errors.Join(errs...)
}
