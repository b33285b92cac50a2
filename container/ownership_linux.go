package container

// Who owns a container's volumes (issue 20): podman's -v options U (the
// source given to the container's user before it starts) and idmap
// (refused, saying why). A bind mount otherwise keeps the host's owners:
// rootless, what the container's root writes there is the user's on the
// host, as the user namespace maps it.

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

// chownSources gives the source of every mount with U (the resolved
// volume's data directory, or the bind's host directory) to the
// container's user, resolved in the image as the init resolves it.
// Inside a rootless skiff's user namespace the ids are the namespace's:
// the files land on the host ids the user's ranges map them to.
func (f *filler) chownSources(ms []state.Mount, user string) error {
	uid, gid, resolved := -1, -1, false
	for _, m := range ms {
		if !m.Chown || m.Source == "" {
			continue
		}
		if !resolved {
			u, g, err := f.lookupUser(user)
			if err != nil {
				return fmt.Errorf("volume option U on %s: the container's user: %w", m.Destination, err)
			}
			uid, gid, resolved = int(u), int(g), true
		}
		if err := chownTree(m.Source, uid, gid); err != nil {
			return fmt.Errorf("volume option U on %s: %w%s", m.Destination, err, unmappedHint(err))
		}
	}
	return nil
}

// unmappedHint explains EINVAL from a chown inside a user namespace: the
// container's user maps to no host id (a user without subordinate ranges).
func unmappedHint(err error) string {
	if errors.Is(err, unix.EINVAL) {
		return " (the user namespace maps no host id to the container's user: add the user's ranges to /etc/subuid and /etc/subgid)"
	}
	return ""
}

// lookupUser resolves user (-u, else the image's USER) against the image's
// /etc/passwd and /etc/group, read in the image's view.
func (f *filler) lookupUser(user string) (uid, gid uint32, err error) {
	var passwd, group io.Reader
	if !f.absentFromImage("/etc") {
		rootfd, err := f.root()
		if err != nil {
			return 0, 0, err
		}
		passwd, group = run.UserFiles(rootfd)
	}
	return run.LookupUser(user, passwd, group)
}

// chownTree gives dir and everything below it to uid:gid (chown -R)
// without following a symbolic link anywhere but at dir itself (the
// source as the mount takes it): each entry is changed through its
// parent directory's descriptor, and each directory opened O_NOFOLLOW
// from its parent's, so an entry renamed or replaced meanwhile cannot lead
// the walk out of the tree.
func chownTree(dir string, uid, gid int) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		unix.Close(fd)
		return &os.PathError{Op: "chown", Path: dir, Err: err}
	}
	return chownBelow(fd, dir, uid, gid)
}

// chownBelow chowns the entries of the directory fd (named name in
// errors), recursively, and closes fd.
func chownBelow(fd int, name string, uid, gid int) error {
	d := os.NewFile(uintptr(fd), name)
	defer d.Close()
	entries, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := name + "/" + e
		err := unix.Fchownat(fd, e, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) {
			continue // removed meanwhile
		}
		if err != nil {
			return &os.PathError{Op: "chown", Path: p, Err: err}
		}
		sub, err := unix.Openat(fd, e, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		switch {
		case errors.Is(err, unix.ENOTDIR), errors.Is(err, unix.ELOOP), errors.Is(err, unix.ENOENT):
			continue // not a directory (a symlink to one among them)
		case err != nil:
			return &os.PathError{Op: "open", Path: p, Err: err}
		}
		if err := chownBelow(sub, p, uid, gid); err != nil {
			return err
		}
	}
	return nil
}

// checkIDMaps refuses -v's idmap before anything is made, in one line
// saying why. Root's containers share the host's ids (no user namespace
// to map them to). A rootless container's are its user namespace's, but
// an idmapped mount of a host filesystem needs CAP_SYS_ADMIN in the
// namespace that owns the filesystem, the host's: the kernel refuses it
// (mount_setattr's EPERM), which is tried, to say so only where it is so.
func checkIDMaps(ms []state.Mount, rootless bool) error {
	for _, m := range ms {
		if !m.IDMap {
			continue
		}
		if !rootless {
			return fmt.Errorf("volume option idmap on %s: root's containers have no user namespace to map ids to (they are the host's): drop idmap", m.Destination)
		}
		if m.Type != "bind" {
			return fmt.Errorf("volume option idmap on %s: only a bind mount can be idmapped: drop idmap, or use U to give the volume to the container's user", m.Destination)
		}
		err := tryIDMap(m.Source)
		if errors.Is(err, unix.EPERM) {
			return fmt.Errorf("volume option idmap on %s: the kernel refuses an unprivileged idmapped mount of %s (its filesystem belongs to the host's user namespace): drop idmap (the bind keeps the host's owners as the user namespace maps them), or use U to give it to the container's user", m.Destination, m.Source)
		}
		if err != nil {
			return fmt.Errorf("volume option idmap on %s: an idmapped mount of %s: %w: drop idmap, or use U to give it to the container's user", m.Destination, m.Source, err)
		}
		return fmt.Errorf("volume option idmap on %s: idmapped mounts are not supported yet: drop idmap, or use U to give it to the container's user", m.Destination)
	}
	return nil
}

// tryIDMap asks the kernel for an idmapped copy of the mount at src,
// mapped through this process's user namespace, and drops it: nil when
// the kernel would make one.
func tryIDMap(src string) error {
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return os.NewSyscallError("open_tree", err)
	}
	defer unix.Close(tree)
	ns, err := unix.Open("/proc/self/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(ns)
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(ns)}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, attr); err != nil {
		return os.NewSyscallError("mount_setattr", err)
	}
	return nil
}
