package rootfs

// A container's /sys/fs/cgroup showing its own cgroup, read-only: its
// cgroup's directory of each hierarchy bound where the host mounts that
// hierarchy, on the read-only tmpfs MountAll made (runc's layout on v1;
// on a pure v2 host the one directory is /sys/fs/cgroup itself).

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CgroupBind is one hierarchy's directory of the container's cgroup (a
// host path skiff chose) and where the container sees it.
type CgroupBind struct{ Source, Target string }

const cgroupTmpfs = "/sys/fs/cgroup"

// cgroupFlags are every cgroup view's: read-only, and nothing to execute,
// no device or set-id files.
const cgroupFlags = unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC

// MountCgroupViews binds binds under rootfs's /sys/fs/cgroup (before
// pivot_root): the tmpfs is writable while their mount points are made,
// then read-only again, as is each bind.
func MountCgroupViews(rootfs string, binds []CgroupBind) error {
	if len(binds) == 0 {
		return nil
	}
	if len(binds) == 1 && filepath.Clean(binds[0].Target) == cgroupTmpfs {
		// A pure v2 host: the one directory covers the tmpfs. Never
		// remount after it: that would remount the host's cgroup2 itself.
		return bindCgroup(rootfs, binds[0])
	}
	tmpfsFlags := uintptr(unix.MS_REMOUNT | unix.MS_NOSUID | unix.MS_NODEV | unix.MS_NOEXEC)
	if err := remountTmpfs(rootfs, tmpfsFlags); err != nil {
		return err
	}
	for _, b := range binds {
		if filepath.Clean(b.Target) == cgroupTmpfs {
			return fmt.Errorf("mount %s on %s: a hierarchy over the others", b.Source, b.Target)
		}
		if err := bindCgroup(rootfs, b); err != nil {
			return err
		}
	}
	return remountTmpfs(rootfs, tmpfsFlags|unix.MS_RDONLY)
}

func remountTmpfs(rootfs string, flags uintptr) error {
	fd, err := OpenInRoot(rootfs, cgroupTmpfs, MustExist)
	if err != nil {
		return fmt.Errorf("remount %s: %w", cgroupTmpfs, err)
	}
	defer unix.Close(fd)
	if err := unix.Mount("", fdPath(fd), "", flags, "mode=755"); err != nil {
		return fmt.Errorf("remount %s: %w", cgroupTmpfs, err)
	}
	return nil
}

func bindCgroup(rootfs string, b CgroupBind) error {
	fail := func(err error) error { return fmt.Errorf("mount %s on %s: %w", b.Source, b.Target, err) }
	if filepath.Clean(b.Target) != cgroupTmpfs && filepath.Dir(filepath.Clean(b.Target)) != cgroupTmpfs {
		return fail(fmt.Errorf("not a hierarchy of %s", cgroupTmpfs))
	}
	fd, err := OpenInRoot(rootfs, b.Target, Dir)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(fd)
	if err := unix.Mount(b.Source, fdPath(fd), "", unix.MS_BIND, ""); err != nil {
		return fail(err)
	}
	if err := remountInRoot(rootfs, b.Target, unix.MS_BIND|unix.MS_REMOUNT|cgroupFlags); err != nil {
		return fail(err)
	}
	return nil
}
