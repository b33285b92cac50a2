package run

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/skiff-dev/skiff/state"
)

// MonitorArg is the hidden first argument with which skiff re-execs itself
// as a container's monitor (package monitor); main dispatches it.
const MonitorArg = "__skiff_monitor"

// Monitor fds: the first attached client, then the monitor lock taken by
// the spawner.
const (
	MonitorClientFd = 3
	MonitorLockFd   = 4
)

// SpawnMonitor starts container id's monitor and returns without waiting
// for it: the monitor runs in its own session and outlives the caller.
// client, if not nil, becomes the monitor's first attached client (it gets
// Started or Error, then every byte of output). The caller should hold the
// container lock; state.ErrMonitorAlive means a monitor already runs.
func SpawnMonitor(root, runRoot, id string, client *os.File) error {
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
		Path:        "/proc/self/exe",
		Args:        []string{"skiff", MonitorArg, root, runRoot, id},
		Env:         os.Environ(),
		Dir:         "/", // never pin the caller's working directory (a mount) for the container's life
		Stdin:       null,
		Stdout:      null,
		Stderr:      null,
		ExtraFiles:  []*os.File{client, lock}, // nil client: fd 3 stays closed
		SysProcAttr: &syscall.SysProcAttr{Setsid: true},
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	cmd.Process.Release() // no wait: the monitor outlives us (init reaps it)
	return nil
}

// selfStartTime identifies this process (the monitor) beside its pid.
func selfStartTime() uint64 {
	t, _ := state.PidStartTime(os.Getpid())
	return t
}
