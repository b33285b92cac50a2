package container

// What other commands do to a container by its record: stop, kill, wait,
// remove (remove_linux.go). They act on the process through a pidfd
// (proc.Handle) opened on the recorded pid and checked against its
// start time, so they work whether or not a monitor is alive, and never
// signal a recycled pid. The container lock is held only around record
// changes: the monitor needs it to record an exit, and these commands wait
// for that record.

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// ErrRunning is matched by rm's refusal of a running container.
var ErrRunning = errors.New("container is running")

// DefaultStopTimeout is docker's grace period between the stop signal and SIGKILL.
const DefaultStopTimeout = 10

// monitorLinger is how long a live monitor gets to finish what it is
// surely doing: recording an exit, or leaving after one (rm takes one that
// stays for a monitor starting the container).
const monitorLinger = time.Second

// recordWait bounds how long a command waits for a live monitor to record
// an exit it has already seen happen; a monitor slower than this is stuck.
const recordWait = 5 * time.Second

// StopOptions are docker stop's flags.
type StopOptions struct {
	// Timeout is the grace period in seconds before SIGKILL (nil: the
	// container's --stop-timeout, else 10; negative: wait for ever).
	Timeout *int
	Signal  unix.Signal // 0: the container's stop signal, else SIGTERM
}

// Stop is `skiff stop`: the stop signal, then SIGKILL after the grace
// period. It returns once the exit is recorded, so a following ps shows
// it. A container that is not running is left as it is, as docker does.
func (s Store) Stop(ref string, o StopOptions) (*state.Container, error) {
	c, err := s.markStopped(ref)
	if err != nil {
		return nil, err
	}
	if !c.Status.Up() && c.Status != state.Restarting {
		return c, nil
	}
	sig := o.Signal
	if sig == 0 {
		if sig, err = recordedStopSignal(c); err != nil {
			return nil, err
		}
	}
	t := DefaultStopTimeout
	if c.Config.StopTimeout != nil {
		t = *c.Config.StopTimeout
	}
	if o.Timeout != nil {
		t = *o.Timeout
	}
	grace := time.Duration(t) * time.Second
	if t < 0 {
		grace = -1
	}
	if c.Status == state.Restarting {
		monitor.Signal(s.RunRoot, c, unix.SIGTERM) // it gives up its back-off
	} else if err := terminate(s.RunRoot, c, sig, grace, s.resumeAfter(c)); err != nil {
		return nil, fmt.Errorf("cannot stop container: %s: %w", ref, err)
	}
	return s.settle(c)
}

// recordedStopSignal is the container's --stop-signal or image STOPSIGNAL, else SIGTERM.
func recordedStopSignal(c *state.Container) (unix.Signal, error) {
	if c.Config.StopSignal == "" {
		return unix.SIGTERM, nil
	}
	sig, err := ParseSignal(c.Config.StopSignal)
	if err != nil {
		return 0, fmt.Errorf("container %s: stop signal: %w", c.Name, err)
	}
	return sig, nil
}

// terminate sends sig, then SIGKILL if the process outlives grace, and
// returns once the process is dead. thaw (if not nil) runs right after the
// first signal: a paused container handles it as it resumes.
func terminate(runRoot string, c *state.Container, sig unix.Signal, grace time.Duration, thaw func()) error {
	p, err := proc.Open(c.Pid, c.PidStartTime)
	if err != nil || p == nil {
		if thaw != nil {
			thaw()
		}
		return err
	}
	defer p.Close()
	err = signalProcess(runRoot, c, p, sig)
	if thaw != nil {
		thaw()
	}
	if err != nil {
		return err
	}
	if sig != unix.SIGKILL && p.Wait(grace) {
		return nil
	}
	if err := signalProcess(runRoot, c, p, unix.SIGKILL); err != nil {
		return err
	}
	// Dying takes a moment (the kernel tears down its memory); without a
	// monitor nothing else would tell us when it is over.
	if !p.Wait(recordWait) {
		return fmt.Errorf("pid %d still alive %v after SIGKILL", c.Pid, recordWait)
	}
	return nil
}

// signalProcess sends sig to c's process p, or, where a rootless skiff
// may not (EPERM: it runs as another of the user's ids, in a user
// namespace this process is not in), has c's monitor send it.
func signalProcess(runRoot string, c *state.Container, p *proc.Handle, sig unix.Signal) error {
	err := p.Signal(sig)
	if errors.Is(err, unix.EPERM) && userns.Rootless() {
		return monitor.SignalContainer(runRoot, c, sig)
	}
	return err
}

// Kill is `skiff kill -s sig`: it refuses a container that is not running
// (*NotRunningError).
// After SIGKILL it waits, as docker does, until the exit is recorded.
func (s Store) Kill(ref string, sig unix.Signal) (*state.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	p, err := proc.Open(c.Pid, c.PidStartTime)
	if err != nil {
		return nil, fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	if p == nil {
		return nil, &run.NotRunningError{ID: c.ID}
	}
	defer p.Close()
	if !c.Status.Up() {
		return nil, &run.NotRunningError{ID: c.ID}
	}
	// Like docker, a killed container is not restarted by its policy.
	if _, err := s.markStopped(c.ID); err != nil {
		return nil, err
	}
	err = signalProcess(s.RunRoot, c, p, sig)
	if thaw := s.resumeAfter(c); thaw != nil && resumesOn(c, sig) {
		thaw()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	if sig != unix.SIGKILL {
		return c, nil
	}
	p.Wait(recordWait)
	return s.settle(c)
}

// Wait is `skiff wait`: it blocks until the container's process exits and
// the exit is recorded, and returns the exit code (state.UnknownExit when
// nobody saw it). A created or exited container returns at once; one its
// restart policy will restart returns at its process's exit, as docker's.
func (s Store) Wait(ref string) (int, error) {
	c, err := s.Lookup(ref)
	for err == nil && c.Status == state.Restarting {
		c, err = s.awaitChange(c) // in back-off: runs again, or gives up
	}
	if err != nil {
		return 0, err
	}
	if !c.Status.Up() {
		return c.ExitCode, nil
	}
	if p, err := proc.Open(c.Pid, c.PidStartTime); err == nil && p != nil {
		p.Wait(-1)
		p.Close()
	}
	if policy := c.Config.RestartPolicy.Name; policy == "" || policy == "no" {
		// The monitor exits right after recording: sleep in flock, no polling.
		monitor.WaitExit(s.RunRoot, c.ID, -1)
		c, err = s.Lookup(c.ID)
	} else {
		c, err = s.awaitChange(c)
	}
	if err != nil {
		return 0, err
	}
	return c.ExitCode, nil
}

// awaitChange polls c's record until its status or pid changes (its
// monitor recorded an exit, or restarted it) or its monitor is gone.
func (s Store) awaitChange(c *state.Container) (*state.Container, error) {
	for {
		alive := state.MonitorAlive(s.RunRoot, c.ID)
		next, err := s.Lookup(c.ID)
		if err != nil || !alive || next.Pid != c.Pid || next.Status != c.Status {
			return next, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// markStopped sets ManuallyStopped (so the restart policy leaves the
// container alone) and returns the reconciled record.
func (s Store) markStopped(ref string) (*state.Container, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if !c.Status.Up() && c.Status != state.Restarting {
		return c, nil
	}
	c, l, err := s.lockRecord(c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	c.ManuallyStopped = true
	if err := state.Save(s.Root, c); err != nil {
		return nil, err
	}
	return c, nil
}

// settle returns c's record once its process is gone and the exit is
// recorded. A monitor that does not finish within recordWait is stuck
// (or restarting despite ManuallyStopped): it is killed, its container
// too, and Reconcile records what is left.
func (s Store) settle(c *state.Container) (*state.Container, error) {
	if !monitor.WaitExit(s.RunRoot, c.ID, recordWait) {
		monitor.Kill(s.RunRoot, c, recordWait)
		if next, err := state.Load(s.Root, c.ID); err == nil && next.Pid != c.Pid {
			terminate(s.RunRoot, next, unix.SIGKILL, 0, s.resumeAfter(next))
		}
	}
	return s.Lookup(c.ID)
}

// ParseSignal reads docker's signal spellings: a number, or a name with or
// without "SIG", in any case ("9", "KILL", "sigterm").
func ParseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal: %s", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	if rt, ok := strings.CutPrefix(name, "SIGRTMIN+"); ok {
		if n, err := strconv.Atoi(rt); err == nil && n >= 0 && 34+n <= 64 {
			return unix.Signal(34 + n), nil
		}
	}
	return 0, fmt.Errorf("invalid signal: %s", s)
}
