package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// A container's runtime files live in <runroot>/containers/<id>/: the
// monitor's lock (held for the monitor's whole life) and the attach socket.

// ErrMonitorAlive is returned by LockMonitor when a monitor holds the lock.
var ErrMonitorAlive = errors.New("container already has a monitor")

// RunDir is a container's directory under the run root. An invalid id
// yields a path under "invalid", never outside the run root.
func RunDir(runRoot, id string) string {
	if !ValidID(id) {
		id = "invalid"
	}
	return filepath.Join(runRoot, "containers", id)
}

// MonitorLockPath is the file a container's monitor flocks for its life.
func MonitorLockPath(runRoot, id string) string {
	return filepath.Join(RunDir(runRoot, id), "monitor.lock")
}

// SocketPath is the monitor's attach socket. It may be longer than a
// sockaddr_un allows (108 bytes): use attach.Listen and attach.Dial.
func SocketPath(runRoot, id string) string {
	return filepath.Join(RunDir(runRoot, id), "attach.sock")
}

// LogPath is the container's json-file log, as docker names it.
func LogPath(root, id string) string {
	if !ValidID(id) {
		id = "invalid"
	}
	return filepath.Join(ContainersDir(root), id, id+"-json.log")
}

// LockMonitor takes the monitor lock without waiting: ErrMonitorAlive if a
// monitor holds it. The lock belongs to the open file, so a CLI can take it
// and hand the file to the monitor it spawns: there is no window in which
// two monitors could start for one container.
func LockMonitor(runRoot, id string) (*os.File, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid container id %q", id)
	}
	path := MonitorLockPath(runRoot, id)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("monitor lock: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("monitor lock: %w", err)
	}
	// MonitorAlive's probe holds a shared lock for microseconds: retry
	// briefly before concluding that a monitor holds it.
	for try := 0; ; try++ {
		err = flock(f, unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, unix.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("monitor lock %s: %w", path, err)
		}
		if try == 10 {
			f.Close()
			return nil, ErrMonitorAlive
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// MonitorAlive reports whether a monitor holds id's monitor lock: one
// open and one non-blocking flock, no pid guessing.
func MonitorAlive(runRoot, id string) bool {
	f, err := os.Open(MonitorLockPath(runRoot, id))
	if err != nil {
		return false
	}
	defer f.Close() // drops our shared lock if we got it
	return errors.Is(flock(f, unix.LOCK_SH|unix.LOCK_NB), unix.EWOULDBLOCK)
}

func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}
