package container

// A start from the CLI (start, restart, run): the container's monitor is
// spawned under the container lock with the caller as its first client;
// the monitor then starts the init (start_linux.go).

import (
	"errors"
	"fmt"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/state"
)

// ErrAlreadyRunning is Start's answer for a container that runs, restarts
// or has a monitor at work: docker's start leaves it alone.
var ErrAlreadyRunning = errors.New("container is already running")

// Start starts ref's monitor with the caller as its first client, under
// the container lock so that two starts cannot both spawn one, and
// returns the record and the caller's end of the attach socket.
func (s Store) Start(ref string) (*state.Container, *net.UnixConn, error) {
	ct, err := s.Lookup(ref)
	if err != nil {
		return nil, nil, err
	}
	if ct.Status == state.Exited || ct.Status == state.Created {
		// The previous run's monitor may still be finishing (its Exit frame
		// has reached `start -a`, its cleanup has not): let it go rather
		// than take it for a running container. It needs the container
		// lock to finish, so wait before taking it.
		s.awaitMonitorGone(ct.ID, 2*time.Second)
	}
	ct, l, err := s.lockRecord(ct.ID)
	if err != nil {
		return nil, nil, err
	}
	defer l.Unlock()
	if ct.Status == state.Paused {
		return ct, nil, errors.New("cannot start a paused container, try unpause instead")
	}
	if ct.Status == state.Running || ct.Status == state.Restarting || state.MonitorAlive(s.RunRoot, ct.ID) {
		return ct, nil, ErrAlreadyRunning
	}
	if ct.ManuallyStopped || ct.RestartCount != 0 {
		ct.ManuallyStopped, ct.RestartCount = false, 0
		if err := state.Save(s.Root, ct); err != nil {
			return nil, nil, err
		}
	}
	conn, err := s.spawnMonitor(ct.ID, nil)
	if errors.Is(err, state.ErrMonitorAlive) {
		return ct, nil, ErrAlreadyRunning
	}
	if err != nil {
		return ct, nil, err
	}
	if err := Go(conn); err != nil {
		conn.Close()
		return ct, nil, err
	}
	return ct, conn, nil
}

// spawnMonitor starts id's monitor and returns our end of its first
// client socket. The monitor starts the container once Go says its record
// is complete: run spawns it before it creates the record, so that the
// monitor's start-up overlaps the image lookup and the create; Start
// after its checks, and says Go at once. Closing the socket before Go
// abandons the start (the monitor then exits, see monitor/server).
func (s Store) spawnMonitor(id string, pre *monitor.Prestart) (*net.UnixConn, error) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, os.NewSyscallError("socketpair", err)
	}
	mine, theirs := os.NewFile(uintptr(fds[0]), "attach"), os.NewFile(uintptr(fds[1]), "attach-monitor")
	defer mine.Close()
	timeline.Mark("spawn-monitor")
	err = monitor.Spawn(s.Root, s.RunRoot, id, theirs, pre)
	theirs.Close()
	if err != nil {
		return nil, err
	}
	c, err := net.FileConn(mine)
	if err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	return c.(*net.UnixConn), nil
}

// SpawnMonitorEarly is spawnMonitor for run, before id's record exists
// (id is new: state.NewID). The monitor starts the container's init at
// once with the stdio run's flags give (tty: -t, openStdin: -i), so the
// init starts up while we create the record; it gets its config on Go.
// It holds the container lock while it makes the run directory and
// spawns, so the debris sweep never takes a run directory whose monitor is
// being spawned for one left by a killed run.
func (s Store) SpawnMonitorEarly(id string, tty, openStdin bool) (*net.UnixConn, error) {
	l, err := state.LockContainer(s.RunRoot, id)
	if err != nil {
		return nil, err
	}
	defer l.Unlock()
	return s.spawnMonitor(id, &monitor.Prestart{Tty: tty, OpenStdin: openStdin})
}

// Go tells the monitor on conn (spawnMonitor's) that id's record is
// complete: it loads the record and starts the container.
func Go(conn *net.UnixConn) error {
	if err := attach.Write(conn, attach.Go, nil); err != nil {
		return fmt.Errorf("start monitor: %w", err)
	}
	return nil
}

// Abandon gives up the start of the monitor on conn (spawnMonitor's)
// before Go, and returns once the monitor is gone (it exits on our close,
// removing what it made) or after a few seconds: a failed run must not
// leave a process touching the run root after it returns.
func Abandon(conn *net.UnixConn) {
	defer conn.Close()
	if conn.CloseWrite() != nil {
		return
	}
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [64]byte
	for {
		if _, err := conn.Read(b[:]); err != nil {
			return // EOF: the monitor closed its end, by exiting
		}
	}
}

// awaitMonitorGone waits up to d for id's monitor, if any, to exit.
func (s Store) awaitMonitorGone(id string, d time.Duration) {
	for deadline := time.Now().Add(d); state.MonitorAlive(s.RunRoot, id) && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}
