package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/userns"
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
	fd, err := fsmountOverlay(l, userns.Rootless(), unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID|attr)
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

// ViewBind is a host directory or file a view shows at Destination, as
// the container's init binds it (a volume's data, a bind's source).
type ViewBind struct {
	Source, Destination string
	ReadOnly            bool
}

// BindInView binds each b's host Source over its Destination inside the
// detached view rootfd, in order (a later one may lie inside an earlier
// one), so cp on a stopped container reaches the data the container sees
// there. Destinations are resolved inside the view, as the init resolves
// them, so a symlink in the container never places a bind outside it. The
// clones are detached too (open_tree) and mounted onto the detached view
// (move_mount onto a detached tree: Linux 6.15), so they go away with the
// view's last fd.
//
// writable (a copy in): a missing destination is made as the init makes
// it, and a bind is as writable as the container's. Otherwise (a copy
// out) every bind is read-only and a missing destination is skipped:
// nothing was ever mounted there.
func BindInView(rootfd int, binds []ViewBind, writable bool) error {
	for _, b := range binds {
		if err := bindInView(rootfd, b, writable); err != nil {
			return fmt.Errorf("bind %s on %s: %w", b.Source, b.Destination, err)
		}
	}
	return nil
}

func bindInView(rootfd int, b ViewBind, writable bool) error {
	var st unix.Stat_t
	if err := unix.Stat(b.Source, &st); err != nil {
		return err
	}
	target, err := viewTarget(rootfd, b.Destination, st.Mode&unix.S_IFMT == unix.S_IFDIR, writable)
	if target < 0 || err != nil {
		return err
	}
	defer unix.Close(target)
	src, err := unix.OpenTree(unix.AT_FDCWD, b.Source, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_RECURSIVE)
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(src)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID}
	if !writable || b.ReadOnly {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(src, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr); err != nil {
		return fmt.Errorf("mount_setattr: %w", err)
	}
	err = unix.MoveMount(src, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH)
	if errors.Is(err, unix.EINVAL) {
		return fmt.Errorf("move_mount onto a detached view (Linux 6.15 or later): %w", err)
	}
	if err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// viewTarget opens destination inside the view (O_PATH): made when missing
// and create is set, through the init's own in-root creation (OpenInRoot on
// the view's fd path); -1 and no error when missing otherwise.
func viewTarget(rootfd int, destination string, dir, create bool) (int, error) {
	if create {
		kind := File
		if dir {
			kind = Dir
		}
		return OpenInRoot(fdPath(rootfd), destination, kind)
	}
	fd, err := InRoot(rootfd, destination, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	return fd, err
}
