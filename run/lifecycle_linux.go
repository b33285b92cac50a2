package run

// What other commands do to a container by its record: stop, kill, wait,
// remove. They act on the process through a pidfd opened on the recorded
// pid and checked against its start time, so they work whether or not a
// monitor is alive, and never signal a recycled pid. The container lock is
// held only around record changes: the monitor needs it to record an exit,
// and these commands wait for that record.

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/procstat"
	"github.com/skiff-dev/skiff/state"
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
func Stop(root, runRoot, ref string, o StopOptions) (*state.Container, error) {
	c, err := markStopped(root, runRoot, ref)
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
		signalMonitor(runRoot, c, unix.SIGTERM) // it gives up its back-off
	} else if err := terminate(c, sig, grace, resumeAfter(root, runRoot, c)); err != nil {
		return nil, fmt.Errorf("cannot stop container: %s: %w", ref, err)
	}
	return settle(root, runRoot, c)
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
func terminate(c *state.Container, sig unix.Signal, grace time.Duration, thaw func()) error {
	p, err := openProc(c.Pid, c.PidStartTime)
	if err != nil || p == nil {
		if thaw != nil {
			thaw()
		}
		return err
	}
	defer p.close()
	err = p.signal(sig)
	if thaw != nil {
		thaw()
	}
	if err != nil {
		return err
	}
	if sig != unix.SIGKILL && p.wait(grace) {
		return nil
	}
	if err := p.signal(unix.SIGKILL); err != nil {
		return err
	}
	// Dying takes a moment (the kernel tears down its memory); without a
	// monitor nothing else would tell us when it is over.
	if !p.wait(recordWait) {
		return fmt.Errorf("pid %d still alive %v after SIGKILL", c.Pid, recordWait)
	}
	return nil
}

// Kill is `skiff kill -s sig`: it refuses a container that is not running
// (*NotRunningError).
// After SIGKILL it waits, as docker does, until the exit is recorded.
func Kill(root, runRoot, ref string, sig unix.Signal) (*state.Container, error) {
	c, err := current(root, runRoot, ref)
	if err != nil {
		return nil, err
	}
	p, err := openProc(c.Pid, c.PidStartTime)
	if err != nil {
		return nil, fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	if p == nil {
		return nil, &NotRunningError{ID: c.ID}
	}
	defer p.close()
	if !c.Status.Up() {
		return nil, &NotRunningError{ID: c.ID}
	}
	// Like docker, a killed container is not restarted by its policy.
	if _, err := markStopped(root, runRoot, c.ID); err != nil {
		return nil, err
	}
	err = p.signal(sig)
	if thaw := resumeAfter(root, runRoot, c); thaw != nil && resumesOn(c, sig) {
		thaw()
	}
	if err != nil {
		return nil, fmt.Errorf("cannot kill container: %s: %w", ref, err)
	}
	if sig != unix.SIGKILL {
		return c, nil
	}
	p.wait(recordWait)
	return settle(root, runRoot, c)
}

// Wait is `skiff wait`: it blocks until the container's process exits and
// the exit is recorded, and returns the exit code (state.UnknownExit when
// nobody saw it). A created or exited container returns at once; one its
// restart policy will restart returns at its process's exit, as docker's.
func Wait(root, runRoot, ref string) (int, error) {
	c, err := current(root, runRoot, ref)
	for err == nil && c.Status == state.Restarting {
		c, err = awaitChange(root, runRoot, c) // in back-off: runs again, or gives up
	}
	if err != nil {
		return 0, err
	}
	if !c.Status.Up() {
		return c.ExitCode, nil
	}
	if p, err := openProc(c.Pid, c.PidStartTime); err == nil && p != nil {
		p.wait(-1)
		p.close()
	}
	if policy := c.Config.RestartPolicy.Name; policy == "" || policy == "no" {
		// The monitor exits right after recording: sleep in flock, no polling.
		waitMonitorExit(runRoot, c.ID, -1)
		c, err = current(root, runRoot, c.ID)
	} else {
		c, err = awaitChange(root, runRoot, c)
	}
	if err != nil {
		return 0, err
	}
	return c.ExitCode, nil
}

// awaitChange polls c's record until its status or pid changes (its
// monitor recorded an exit, or restarted it) or its monitor is gone.
func awaitChange(root, runRoot string, c *state.Container) (*state.Container, error) {
	for {
		alive := state.MonitorAlive(runRoot, c.ID)
		next, err := current(root, runRoot, c.ID)
		if err != nil || !alive || next.Pid != c.Pid || next.Status != c.Status {
			return next, err
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Remove is `skiff rm [-f] ref`: a running container, or one whose
// monitor is still at work, is refused unless force, which stops it for
// good first. It returns the removed record.
func Remove(root, runRoot, ref string, force bool) (*state.Container, error) {
	c, err := current(root, runRoot, ref)
	if err != nil {
		return nil, err
	}
	if !c.Status.Up() && c.Status != state.Restarting && state.MonitorAlive(runRoot, c.ID) {
		// A monitor finishing an exit (a foreground run just returned)
		// leaves within moments; one that stays is starting the container.
		waitMonitorExit(runRoot, c.ID, monitorLinger)
		if c, err = current(root, runRoot, c.ID); err != nil {
			return nil, err
		}
	}
	if c.Status.Up() || c.Status == state.Restarting || state.MonitorAlive(runRoot, c.ID) {
		if !force && c.Status == state.Paused {
			return nil, fmt.Errorf("cannot remove container \"/%s\": container is paused and must be unpaused first", c.Name)
		}
		if !force {
			return nil, fmt.Errorf("cannot remove container \"/%s\": %w: stop the container before removing or force remove", c.Name, ErrRunning)
		}
		if err := forceStop(root, runRoot, c); errors.Is(err, state.ErrNotFound) {
			return c, nil // its monitor applied --rm
		} else if err != nil {
			return nil, fmt.Errorf("cannot remove container \"/%s\": could not kill: %w", c.Name, err)
		}
	}
	return deleteContainer(root, runRoot, c.ID, !force)
}

// deleteContainer removes a container whose process is gone: cgroup,
// directory, name, lock file. With refuseStarted, a monitor that a start
// spawned since our checks (it takes the container lock to do so, which
// we now hold) makes it refuse instead of deleting under that monitor.
func deleteContainer(root, runRoot, id string, refuseStarted bool) (*state.Container, error) {
	l, err := state.LockContainer(runRoot, id)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	c, err := state.Load(root, id)
	if err != nil {
		return nil, err
	}
	if refuseStarted && state.MonitorAlive(runRoot, id) {
		return nil, fmt.Errorf("cannot remove container \"/%s\": %w: it was started while being removed", c.Name, ErrRunning)
	}
	if c.Status.Up() && state.Alive(c.Pid, c.PidStartTime) {
		// started again between our kill and the lock: only force gets here
		return nil, fmt.Errorf("cannot remove container \"/%s\": it was started again while being removed: retry", c.Name)
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

// forceStop ends c and its monitor for rm -f: SIGKILL to a running
// process; SIGTERM to a monitor waiting out a restart back-off (it gives
// up); and a monitor caught starting the container (or stuck doing so,
// its CLI killed) is killed with whatever it started, so that nothing
// keeps writing into the directory rm deletes.
func forceStop(root, runRoot string, c *state.Container) error {
	if _, err := markStopped(root, runRoot, c.ID); err != nil {
		return err
	}
	switch c.Status {
	case state.Running, state.Paused:
		if err := terminate(c, unix.SIGKILL, 0, resumeAfter(root, runRoot, c)); err != nil {
			return err
		}
	case state.Restarting:
		signalMonitor(runRoot, c, unix.SIGTERM)
	default:
		signalMonitor(runRoot, c, unix.SIGKILL)
		waitMonitorExit(runRoot, c.ID, recordWait)
		killCgroup(c.ID)
	}
	_, err := settle(root, runRoot, c)
	return err
}

// killCgroup SIGKILLs every process in container id's cgroup: an init
// whose pid was never recorded is found there.
func killCgroup(id string) {
	cg, err := cgroup.Load(id)
	if err != nil {
		return
	}
	for _, dir := range cg.Paths() {
		pids, _ := readPids(dir + "/cgroup.procs")
		for _, pid := range pids {
			unix.Kill(pid, unix.SIGKILL)
		}
	}
}

// remove is --rm, applied by the container's own monitor (or parent),
// which knows the process is gone: Remove would wait for that very
// monitor to exit.
func remove(root, runRoot, id string) error {
	_, err := deleteContainer(root, runRoot, id, false) // the monitor itself, for --rm
	if errors.Is(err, state.ErrNotFound) {
		return nil
	}
	return err
}

// Lookup finds ref (name, id or unique id prefix) and returns its true
// record: a dead monitor's leftovers reconciled, and an exit its live
// monitor is recording waited for, so callers never see a stale status.
func Lookup(root, runRoot, ref string) (*state.Container, error) {
	return current(root, runRoot, ref)
}

func current(root, runRoot, ref string) (*state.Container, error) {
	c, err := state.Lookup(root, ref)
	if err != nil {
		return nil, err
	}
	if c.Orphaned && state.MonitorAlive(runRoot, c.ID) {
		// The process is gone and its monitor is about to record how;
		// a monitor that takes longer is stuck, and shown as it is.
		deadline := time.Now().Add(monitorLinger)
		for c.Orphaned && time.Now().Before(deadline) && state.MonitorAlive(runRoot, c.ID) {
			time.Sleep(2 * time.Millisecond)
			if c, err = state.Load(root, c.ID); err != nil {
				return nil, err
			}
		}
	}
	return Reconcile(root, runRoot, c)
}

// markStopped sets ManuallyStopped (so the restart policy leaves the
// container alone) and returns the reconciled record.
func markStopped(root, runRoot, ref string) (*state.Container, error) {
	c, err := current(root, runRoot, ref)
	if err != nil {
		return nil, err
	}
	if !c.Status.Up() && c.Status != state.Restarting {
		return c, nil
	}
	l, err := state.LockContainer(runRoot, c.ID)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	if c, err = state.Load(root, c.ID); err != nil {
		return nil, err
	}
	c.ManuallyStopped = true
	if err := state.Save(root, c); err != nil {
		return nil, err
	}
	return c, nil
}

// settle returns c's record once its process is gone and the exit is
// recorded. A monitor that does not finish within recordWait is stuck
// (or restarting despite ManuallyStopped): it is killed, its container
// too, and Reconcile records what is left.
func settle(root, runRoot string, c *state.Container) (*state.Container, error) {
	if !waitMonitorExit(runRoot, c.ID, recordWait) {
		killMonitor(runRoot, c)
		if next, err := state.Load(root, c.ID); err == nil && next.Pid != c.Pid {
			terminate(next, unix.SIGKILL, 0, resumeAfter(root, runRoot, next))
		}
	}
	return current(root, runRoot, c.ID)
}

// killMonitor SIGKILLs c's monitor and waits for it to die.
func killMonitor(runRoot string, c *state.Container) {
	signalMonitor(runRoot, c, unix.SIGKILL)
	waitMonitorExit(runRoot, c.ID, recordWait)
}

// signalMonitor signals c's monitor: the recorded one if it is still that
// process, else (a monitor that has not recorded itself yet) the process
// whose command line names it.
func signalMonitor(runRoot string, c *state.Container, sig unix.Signal) {
	p, err := openProc(c.MonitorPid, c.MonitorStartTime)
	if err != nil || p == nil {
		p, err = openProc(findMonitor(runRoot, c.ID), 0)
	}
	if err == nil && p != nil {
		p.signal(sig)
		p.close()
	}
}

// findMonitor is the pid of the process running as id's monitor under
// runRoot (its argv is skiff __skiff_monitor ROOT RUNROOT ID), or 0.
func findMonitor(runRoot, id string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		argv := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(argv) == 5 && argv[1] == MonitorArg && argv[3] == runRoot && argv[4] == id {
			return pid
		}
	}
	return 0
}

// waitMonitorExit waits until no monitor holds id's monitor lock, for at
// most timeout (negative: for ever, asleep in flock). It reports whether
// the lock is free.
func waitMonitorExit(runRoot, id string, timeout time.Duration) bool {
	f, err := os.Open(state.MonitorLockPath(runRoot, id))
	if err != nil {
		return true // never had a monitor, or already removed with it
	}
	defer f.Close()
	if timeout < 0 {
		for {
			if err := unix.Flock(int(f.Fd()), unix.LOCK_SH); err != unix.EINTR {
				return err == nil
			}
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB)
		if err == nil {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// proc is a process held by a pidfd: signals and waits reach exactly the
// process whose start time was checked, even if its pid is reused later.
type proc struct{ fd int }

// openProc returns nil, nil when pid is not (or no longer) the process
// that started at start.
func openProc(pid int, start uint64) (*proc, error) {
	if pid <= 0 {
		return nil, nil
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	unix.CloseOnExec(fd)
	// Checked after opening: the pidfd pins this process, so a match now
	// cannot be undone by a later pid reuse.
	if !state.Alive(pid, start) {
		unix.Close(fd)
		return nil, nil
	}
	return &proc{fd: fd}, nil
}

func (p *proc) signal(sig unix.Signal) error {
	err := unix.PidfdSendSignal(p.fd, sig, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// wait reports whether the process exited within timeout (negative: for ever).
func (p *proc) wait(timeout time.Duration) bool {
	ms := -1
	if timeout >= 0 {
		ms = int(timeout / time.Millisecond)
	}
	deadline := time.Now().Add(timeout)
	for {
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if n > 0 {
			return true
		}
		if err != unix.EINTR {
			return false
		}
		if ms >= 0 {
			if ms = int(time.Until(deadline) / time.Millisecond); ms < 0 {
				ms = 0
			}
		}
	}
}

func (p *proc) close() { unix.Close(p.fd) }

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

// Pids lists the processes of running container c, from its cgroup (every
// process the container started, exec'd ones included), or when no cgroup
// could be made, its init and that process's descendants.
func Pids(c *state.Container) ([]int, error) {
	if cg, err := cgroup.Load(c.ID); err == nil {
		for _, dir := range cg.Paths() {
			if pids, err := readPids(dir + "/cgroup.procs"); err == nil && len(pids) > 0 {
				return pids, nil
			}
		}
	}
	if !state.Alive(c.Pid, c.PidStartTime) {
		return nil, nil
	}
	return descendants(c.Pid), nil
}

func readPids(path string) ([]int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pids []int
	for _, f := range strings.Fields(string(b)) {
		if n, err := strconv.Atoi(f); err == nil {
			pids = append(pids, n)
		}
	}
	return pids, nil
}

// descendants is root and every process below it, from /proc's ppids.
func descendants(root int) []int {
	ents, _ := os.ReadDir("/proc")
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if s, err := procstat.Read(pid); err == nil {
			children[s.PPid] = append(children[s.PPid], pid)
		}
	}
	out := []int{root}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}
