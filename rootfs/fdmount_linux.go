package rootfs

// Mounts made after pivot_root, when the container's own processes could
// already have shaped the tree (an image's links, a volume another
// container writes): every source and every target is an fd that was
// checked to be what it should be, and the mount goes from fd to fd
// (open_tree + move_mount), never through a path the kernel would resolve
// again, and never through the container's /proc (whose /proc/self/fd/N a
// swapped /proc could redirect: CVE-2025-52881).

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// strictInRoot resolves a path below a container's root as inRoot does
// and, on top, follows no symlink at all: a link anywhere on a mask's,
// read-only path's or console's path is refused, never followed to
// wherever it points.
const strictInRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS

// openStrict opens path below the root rootfd (O_PATH, or flags) with
// strictInRoot. O_NOFOLLOW: a link as the last element comes back as the
// link itself, so the caller can say "a symlink" rather than ELOOP.
func openStrict(rootfd int, path string, flags int) (int, error) {
	rel := strings.TrimPrefix(filepath.Clean("/"+path), "/")
	if rel == "" {
		rel = "."
	}
	how := &unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: strictInRoot}
	fd, err := openat2(rootfd, rel, how)
	if errors.Is(err, unix.ELOOP) {
		return -1, fmt.Errorf("%s: %w", "/"+rel, ErrSymlinkOnPath)
	}
	if err != nil {
		return -1, &pathError{path: "/" + rel, err: err}
	}
	return fd, nil
}

// pathError names the in-root path that failed, for messages of the form
// "mask /proc/kcore: /proc/kcore: ..." without the host's view of it.
type pathError struct {
	path string
	err  error
}

func (e *pathError) Error() string { return e.path + ": " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }

// ErrSymlinkOnPath is a path below a container's root that goes through a
// symlink where skiff mounts or writes: refused (matched with errors.Is).
var ErrSymlinkOnPath error = symlinkOnPath{}

type symlinkOnPath struct{} // a type, not errors.New: no init work

func (symlinkOnPath) Error() string { return "a symlink on the path: refusing to follow it" }

// fileKind describes st's type for an error message.
func fileKind(st *unix.Stat_t) string {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFLNK:
		return "a symlink"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFREG:
		return "a regular file"
	case unix.S_IFCHR:
		return fmt.Sprintf("character device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFBLK:
		return fmt.Sprintf("block device %d:%d", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		return "a fifo"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return fmt.Sprintf("file type %#o", st.Mode&unix.S_IFMT)
}

// bindFdOnto bind-mounts the file or directory open as src onto the one
// open as target: a detached clone of src (open_tree, recursive when
// asked), given attrs (mount_setattr) before it is visible anywhere, then
// attached (move_mount). Neither side is named by a path.
func bindFdOnto(src, target int, recursive bool, attrs uint64) error {
	flags := unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC | unix.AT_EMPTY_PATH
	if recursive {
		flags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(src, "", uint(flags))
	if err != nil {
		return fmt.Errorf("open_tree: %w", err)
	}
	defer unix.Close(tree)
	if attrs != 0 {
		setFlags := unix.AT_EMPTY_PATH
		if recursive {
			setFlags |= unix.AT_RECURSIVE
		}
		if err := unix.MountSetattr(tree, "", uint(setFlags), &unix.MountAttr{Attr_set: attrs}); err != nil {
			return fmt.Errorf("mount_setattr: %w", err)
		}
	}
	if err := unix.MoveMount(tree, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount: %w", err)
	}
	return nil
}

// openRoot opens "/" of the calling process (the container's root once
// pivoted) for the *InRoot lookups.
func openRoot() (int, error) {
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /: %w", err)
	}
	return fd, nil
}
