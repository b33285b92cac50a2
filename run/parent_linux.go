package run

// The parent side of a container's init, run by the container's monitor:
// start it (start_linux.go, the one start path), record it, wait for it
// and clean up after it.

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// Start runs the container's process with streams as its stdio (with -t the
// init makes its pty slave the stdio instead and Pty returns the master).
// Only the container's monitor starts it: the record names the calling
// process as the monitor. On failure the container is left "created" with
// the exit code docker would report, and the error is a *StartError.
func (c *Container) Start(streams Stdio) error {
	p, err := c.startInit(streams)
	if err != nil {
		var se *StartError
		if !errors.As(err, &se) {
			se = &StartError{Code: 125, Err: err}
		}
		c.update(func(s *state.Container) { s.ExitCode = se.Code })
		return se
	}
	c.proc = p
	pid := p.cmd.Process.Pid
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

func (c *Container) startInit(streams Stdio) (*process, error) {
	s := &spawn{
		role: InitArg, what: "container init", id: c.State.ID, config: c.initConfig(),
		stdin: streams.In, stdout: streams.Out, stderr: streams.Err,
	}
	return s.start()
}

// Wait waits for the container's process and returns its exit status as
// docker reports it (128+n when killed by signal n). The monitor drains
// the container's output (pipes or pty) and closes its ends itself.
func (c *Container) Wait() int {
	p := c.proc
	p.cmd.Wait()
	return exitCode(p.cmd.ProcessState)
}

func exitCode(ps *os.ProcessState) int {
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// Cleanup removes the cgroup and records the exit; with --rm it removes
// the container.
func (c *Container) Cleanup(code int) error {
	var errs []error
	if c.proc != nil && c.proc.cg != nil {
		errs = append(errs, c.proc.cg.Delete())
	} else if cg, err := cgroup.Load(c.State.ID); err == nil {
		errs = append(errs, cg.Delete())
	}
	// The exit is recorded even with --rm: rm of a record that says
	// running would wait for this very process to record it.
	errs = append(errs, c.update(func(s *state.Container) {
		if s.Status.Up() || s.Status == state.Restarting {
			s.Status = state.Exited
		}
		s.Pid, s.PidStartTime, s.ExitCode, s.FinishedAt = 0, 0, code, time.Now().UTC()
		s.MonitorPid, s.MonitorStartTime = 0, 0
	}))
	if c.opts.Remove {
		errs = append(errs, remove(c.opts.Root, c.opts.RunRoot, c.State.ID))
	}
	return errors.Join(errs...)
}
