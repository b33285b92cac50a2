package rootfs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
)

// The views of a container's root, for cp, diff, export and commit. Each
// is an O_PATH directory fd: resolve every path under it with InRoot
// (openat2, RESOLVE_IN_ROOT), as the container owns the symlinks in there
// (CVE-2018-15664). release closes the fd; call it once.
//
// A running container's root is its process's /proc/<pid>/root. A stopped
// one's is its overlay, mounted detached (fsmount): no mount namespace,
// mount point or cleanup on crash is needed, as the mount goes away when
// the last fd on it is closed.

// ErrGone says the container's process is no longer the recorded one: its
// files are then all in its overlay.
var ErrGone = errors.New("container process is gone")

// OpenProcRoot opens the root of process pid, checked against its
// recorded start time after opening, so a recycled pid is never taken for
// the container's.
func OpenProcRoot(pid int, start uint64) (rootfd int, release func(), err error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return -1, nil, ErrGone
	}
	if err != nil {
		return -1, nil, fmt.Errorf("open root of pid %d: %w", pid, err)
	}
	// Checked after opening: had the pid been reused before the open, the
	// start time would now differ.
	if !proc.Alive(pid, start) {
		unix.Close(fd)
		return -1, nil, ErrGone
	}
	return fd, closer(fd), nil
}

// OpenView mounts the overlay l read-only: it stacks the upper dir as one
// more lower layer, so no work dir is touched and it may coexist with a
// running container's mount.
func OpenView(l Layers) (rootfd int, release func(), err error) {
	ro := Layers{Lower: append([]string{l.Upper}, l.Lower...)}
	return openOverlay(ro, unix.MOUNT_ATTR_RDONLY)
}

// OpenWritable mounts the overlay l with its upper and work dirs, as the
// container does: the caller must hold the container's lock and the
// container must not be running (overlay forbids two mounts sharing an
// upper dir).
func OpenWritable(l Layers) (rootfd int, release func(), err error) {
	if len(l.Lower) > 0 {
		// Once we write into the upper, the container's start keeps its
		// attributes for "/".
		if err := matchUpperRoot(l); err != nil {
			return -1, nil, err
		}
	}
	return openOverlay(l, 0)
}

func openOverlay(l Layers, attr int) (int, func(), error) {
	fd, err := fsmountOverlay(l, os.Geteuid() != 0, unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|attr)
	if err != nil {
		return -1, nil, fmt.Errorf("mount its filesystem: %w", err)
	}
	return fd, closer(fd), nil
}

func closer(fd int) func() {
	done := false
	return func() {
		if !done {
			done = true
			unix.Close(fd)
		}
	}
}
