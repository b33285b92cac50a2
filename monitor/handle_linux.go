package monitor

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/rolesbin"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// Arg is the hidden first argument with which skiff re-execs itself as a
// container's monitor (package monitor/server); main dispatches it. The
// monitor's argv is skiff Arg ROOT RUNROOT ID.
const Arg = "__skiff_monitor"

// The monitor's fds: the first attached client, then the monitor lock
// taken by the spawner.
const (
	ClientFd = 3
	LockFd   = 4
)

// Spawn starts container id's monitor and returns without waiting for it:
// the monitor runs in its own session and outlives the caller. client, if
// not nil, becomes the monitor's first attached client (it gets Started or
// Error, then every byte of output). pre, if not nil, has the monitor
// start the container's init at once, before the record exists (run's
// CLI knows its stdio from its flags). The caller should hold the
// container lock; state.ErrMonitorAlive means a monitor already runs.
func Spawn(root, runRoot, id string, client *os.File, pre *Prestart) error {
	lock, err := state.LockMonitor(runRoot, id)
	if err != nil {
		return err
	}
	defer lock.Close() // the monitor's inherited copy keeps the lock
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	defer null.Close()
	cmd := &exec.Cmd{
		Path:        rolesbin.Binary(), // skiff-roles, or skiff itself
		Args:        args(root, runRoot, id, pre),
		Env:         os.Environ(),
		Dir:         "/", // never pin the caller's working directory (a mount) for the container's life
		Stdin:       null,
		Stdout:      null,
		Stderr:      null,
		ExtraFiles:  []*os.File{client, lock}, // nil client: fd ClientFd stays closed
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	cmd.Process.Release() // no wait: the monitor outlives us (init reaps it)
	return nil
}

// Kill SIGKILLs c's monitor and waits, at most timeout, for it to die.
func Kill(runRoot string, c *state.Container, timeout time.Duration) {
	Signal(runRoot, c, unix.SIGKILL)
	WaitExit(runRoot, c.ID, timeout)
}

// Signal signals c's monitor: the recorded one if it is still that
// process, else (a monitor that has not recorded itself yet) the process
// whose command line names it.
func Signal(runRoot string, c *state.Container, sig unix.Signal) {
	p, err := proc.Open(c.MonitorPid, c.MonitorStartTime)
	if err != nil || p == nil {
		p, err = proc.Open(find(runRoot, c.ID), 0)
	}
	if err == nil && p != nil {
		p.Signal(sig)
		p.Close()
	}
}

// args is a monitor's argv: skiff Arg ROOT RUNROOT ID [PRESTART].
func args(root, runRoot, id string, pre *Prestart) []string {
	a := []string{"skiff", Arg, root, runRoot, id}
	if pre != nil {
		a = append(a, pre.arg())
	}
	return a
}

// find is the pid of the process running as id's monitor under runRoot
// (its argv is args'), or 0.
func find(runRoot, id string) int {
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
		if (len(argv) == 5 || len(argv) == 6) && argv[1] == Arg && argv[3] == runRoot && argv[4] == id {
			return pid
		}
	}
	return 0
}

// WaitExit waits until no monitor holds id's monitor lock, for at most
// timeout (negative: for ever, asleep in flock). It reports whether the
// lock is free.
func WaitExit(runRoot, id string, timeout time.Duration) bool {
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
