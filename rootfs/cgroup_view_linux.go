package rootfs

// A container's /sys/fs/cgroup showing its own cgroup, read-only (writable
// only when the spec's mount says so: --privileged, as docker's): its
// cgroup's directory of each hierarchy bound where the host mounts that
// hierarchy, on a tmpfs (runc's layout on v1; on a pure v2 host the one
// directory is /sys/fs/cgroup itself).

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// CgroupBind is one hierarchy's directory of the container's cgroup (a
// host path skiff chose) and where the container sees it.
type CgroupBind struct{ Source, Target string }

// cgroupAttrs are every cgroup view's: nothing to execute, no device or
// set-id files; and read-only unless the spec's mount drops "ro".
const cgroupAttrs = unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOEXEC

// mountCgroupViews replaces the spec's cgroup mount m: a writable tmpfs
// while the binds' mount points are made, then the tmpfs and every bind
// made read-only at once (mount_setattr, recursive: one syscall, not a
// remount per bind).
func mountCgroupViews(rootfs string, m specs.Mount, binds []CgroupBind) error {
	dest := filepath.Clean(m.Destination)
	for _, b := range binds {
		if t := filepath.Clean(b.Target); t != dest && filepath.Dir(t) != dest {
			return fmt.Errorf("mount %s on %s: not a hierarchy of %s", b.Source, b.Target, dest)
		}
	}
	if len(binds) == 1 && filepath.Clean(binds[0].Target) == dest {
		// A pure v2 host: the one directory is the whole view.
		if err := bindCgroup(rootfs, binds[0]); err != nil {
			return err
		}
		return sealCgroupViews(rootfs, dest, binds, slices.Contains(m.Options, "ro"))
	}
	tmpfs := specs.Mount{Destination: dest, Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "nodev", "mode=755"}}
	if err := mountInRoot(rootfs, tmpfs); err != nil {
		return err
	}
	for _, b := range binds {
		if filepath.Clean(b.Target) == dest {
			return fmt.Errorf("mount %s on %s: a hierarchy over the others", b.Source, b.Target)
		}
		if err := bindCgroup(rootfs, b); err != nil {
			return err
		}
	}
	return sealCgroupViews(rootfs, dest, binds, slices.Contains(m.Options, "ro"))
}

func bindCgroup(rootfs string, b CgroupBind) error {
	fd, err := OpenInRoot(rootfs, b.Target, Dir)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", b.Source, b.Target, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(b.Source, fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("mount %s on %s: %w", b.Source, b.Target, err)
	}
	return nil
}

// sealCgroupViews sets cgroupAttrs on dest and every mount under it, and
// read-only with readOnly; a kernel without mount_setattr (before 5.12)
// gets a remount of each.
func sealCgroupViews(rootfs, dest string, binds []CgroupBind, readOnly bool) error {
	fd, err := OpenInRoot(rootfs, dest, MustExist)
	if err != nil {
		return fmt.Errorf("read-only %s: %w", dest, err)
	}
	defer unix.Close(fd)
	attr := &unix.MountAttr{Attr_set: cgroupAttrs}
	flags := uintptr(unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if readOnly {
		attr.Attr_set |= unix.MOUNT_ATTR_RDONLY
		flags |= unix.MS_RDONLY
	}
	err = unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH|unix.AT_RECURSIVE, attr)
	if !errors.Is(err, unix.ENOSYS) {
		if err != nil {
			return fmt.Errorf("read-only %s: %w", dest, err)
		}
		return nil
	}
	for _, b := range binds {
		if err := remountInRoot(rootfs, b.Target, flags|unix.MS_BIND); err != nil {
			return fmt.Errorf("read-only %s: %w", b.Target, err)
		}
	}
	if len(binds) == 1 && filepath.Clean(binds[0].Target) == dest {
		return nil
	}
	if err := unix.Mount("", fdPath(fd), "", flags, "mode=755"); err != nil {
		return fmt.Errorf("read-only %s: %w", dest, err)
	}
	return nil
}
