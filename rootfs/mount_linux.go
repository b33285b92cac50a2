package rootfs

import (
	"fmt"
	"os"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// mountOpts is an OCI mount's option list split the way mount(8) does:
// flags for mount(2), propagation applied by a second call, and the rest
// passed to the filesystem as data.
type mountOpts struct {
	flags       uintptr
	propagation uintptr
	data        string
}

// optFlags maps mount(8) words to mount(2) flags; clear means the word
// removes the flag (rw, suid, ...), as a later word overrides an earlier one.
var optFlags = map[string]struct {
	clear bool
	flag  uintptr
}{
	"async":         {true, unix.MS_SYNCHRONOUS},
	"atime":         {true, unix.MS_NOATIME},
	"bind":          {false, unix.MS_BIND},
	"defaults":      {false, 0},
	"dev":           {true, unix.MS_NODEV},
	"diratime":      {true, unix.MS_NODIRATIME},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"exec":          {true, unix.MS_NOEXEC},
	"mand":          {false, unix.MS_MANDLOCK},
	"noatime":       {false, unix.MS_NOATIME},
	"nodev":         {false, unix.MS_NODEV},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"noexec":        {false, unix.MS_NOEXEC},
	"nomand":        {true, unix.MS_MANDLOCK},
	"norelatime":    {true, unix.MS_RELATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"nosuid":        {false, unix.MS_NOSUID},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"suid":          {true, unix.MS_NOSUID},
	"sync":          {false, unix.MS_SYNCHRONOUS},
}

var optPropagation = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

func parseMountOptions(options []string) mountOpts {
	var o mountOpts
	var data []string
	for _, w := range options {
		if f, ok := optFlags[w]; ok {
			if f.clear {
				o.flags &^= f.flag
			} else {
				o.flags |= f.flag
			}
			continue
		}
		if p, ok := optPropagation[w]; ok {
			o.propagation = p
			continue
		}
		data = append(data, w)
	}
	o.data = strings.Join(data, ",")
	return o
}

// MountAll mounts the OCI mounts in order inside rootfs (before pivot_root).
// Targets are resolved inside rootfs and created when missing; bind sources
// are host paths chosen by skiff itself (/etc/hosts ...), not the image.
// cgroups, when given, are what the cgroup mount shows: the container's
// own cgroup, read-only (cgroup_view_linux.go).
func MountAll(rootfs string, mounts []specs.Mount, cgroups ...CgroupBind) error {
	for _, m := range mounts {
		if err := checkKernelFsTarget(rootfs, m); err != nil { // procmount_linux.go
			return err
		}
		if (m.Type == "cgroup" || m.Type == "cgroup2") && len(cgroups) > 0 {
			if err := mountCgroupViews(rootfs, m, cgroups); err != nil {
				return err
			}
			continue
		}
		if err := mountInRoot(rootfs, m); err != nil {
			return err
		}
	}
	return nil
}

func mountInRoot(rootfs string, m specs.Mount) error {
	o := parseMountOptions(m.Options)
	typ := m.Type
	if typ == "cgroup" || typ == "cgroup2" {
		// A cgroup mount would show the host's whole hierarchy (v1, or
		// v2 without a cgroup namespace): with no views of the container's
		// own cgroup (MountAll's cgroups), an empty read-only tmpfs.
		typ, o = "tmpfs", mountOpts{flags: o.flags | unix.MS_RDONLY, data: "mode=755"}
		m.Source = "tmpfs"
	}
	bind := o.flags&unix.MS_BIND != 0 || typ == "bind"
	kind := Dir
	if bind {
		o.flags |= unix.MS_BIND
		fi, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
		}
		if !fi.IsDir() {
			kind = File
		}
	}
	fd, err := OpenInRoot(rootfs, m.Destination, kind)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	defer unix.Close(fd)
	if IsRoot(rootfs, fd) {
		// An image symlink (/data -> /, -> ../..) would put the mount over
		// the whole root, which pivot_root would then enter.
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, ErrTargetIsRoot)
	}
	if err := checkProcTarget(rootfs, fd, m); err != nil {
		return err
	}
	fail := func(err error) error {
		return fmt.Errorf("mount %s on %s: %w", describe(m.Source, typ), m.Destination, err)
	}
	if bind {
		// A bind ignores every flag but MS_REC: the others need a remount
		// of the new mount, which the old fd does not name; reopen it.
		if err := unix.Mount(m.Source, fdPath(fd), "", o.flags&(unix.MS_BIND|unix.MS_REC), ""); err != nil {
			return fail(err)
		}
		if o.flags&^(unix.MS_BIND|unix.MS_REC) != 0 {
			if err := remountInRoot(rootfs, m.Destination, o.flags|unix.MS_REMOUNT); err != nil {
				return fail(err)
			}
		}
	} else if err := mountFs(m.Source, fdPath(fd), typ, o.flags, o.data); err != nil {
		return fail(err)
	}
	if o.propagation != 0 {
		if err := remountInRoot(rootfs, m.Destination, o.propagation); err != nil {
			return fail(err)
		}
	}
	return nil
}

// ErrTargetIsRoot is a mount destination that resolves, inside the
// container's root, to the root itself (matched with errors.Is).
var ErrTargetIsRoot error = targetIsRoot{}

type targetIsRoot struct{} // a type, not errors.New: no init work

func (targetIsRoot) Error() string { return "the target resolves to the container's root" }

// IsRoot says whether fd is the directory root (same inode on the same
// filesystem): a destination resolved through a link to "/" or "../..".
func IsRoot(root string, fd int) bool {
	var st unix.Stat_t
	return unix.Stat(root, &st) == nil && isInode(fd, &st)
}

// IsRootFd is IsRoot for a root open as rootfd.
func IsRootFd(rootfd, fd int) bool {
	var st unix.Stat_t
	return unix.Fstat(rootfd, &st) == nil && isInode(fd, &st)
}

func isInode(fd int, st *unix.Stat_t) bool {
	var b unix.Stat_t
	return unix.Fstat(fd, &b) == nil && st.Dev == b.Dev && st.Ino == b.Ino
}

// mountFs mounts a new filesystem. devpts's gid=5 (the tty group) is
// refused with EINVAL in a user namespace that does not map gid 5 (a
// rootless skiff's single-id mapping): then it is mounted without, the
// ptys' group left to the kernel, as runc does.
func mountFs(source, target, typ string, flags uintptr, data string) error {
	err := unix.Mount(source, target, typ, flags, data)
	if err == unix.EINVAL && typ == "devpts" && strings.Contains(data, "gid=") {
		var kept []string
		for _, o := range strings.Split(data, ",") {
			if !strings.HasPrefix(o, "gid=") {
				kept = append(kept, o)
			}
		}
		err = unix.Mount(source, target, typ, flags, strings.Join(kept, ","))
	}
	return err
}

func remountInRoot(rootfs, dest string, flags uintptr) error {
	fd, err := OpenInRoot(rootfs, dest, MustExist)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	err = unix.Mount("", fdPath(fd), "", flags, "")
	if err == unix.EPERM && flags&unix.MS_BIND != 0 {
		// In a user namespace a bind of a host mount keeps that mount's
		// nosuid, nodev, noexec and read-only (the kernel locks them): a
		// remount must repeat them, as runc's does.
		var st unix.Statfs_t
		if unix.Fstatfs(fd, &st) == nil {
			err = unix.Mount("", fdPath(fd), "", flags|lockedFlags(st.Flags), "")
		}
	}
	return err
}

// lockedFlags are the mount flags statfs reports that a user namespace
// cannot clear on a bind of its owner's mounts.
func lockedFlags(f int64) uintptr {
	var out uintptr
	for _, p := range [][2]int64{{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC}, {unix.ST_RDONLY, unix.MS_RDONLY}, {unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME}} {
		if f&p[0] != 0 {
			out |= uintptr(p[1])
		}
	}
	return out
}

func describe(source, typ string) string {
	if source == "" || source == typ {
		return typ
	}
	return source
}

// ReadonlyRoot makes the (already pivoted) root mount read-only, as
// docker's --read-only: a bind remount changes only that mount, so every
// mount on it (/dev, /proc, tmpfs, volumes) keeps its own mode.
func ReadonlyRoot() error {
	var st unix.Statfs_t
	if err := unix.Statfs("/", &st); err != nil {
		return fmt.Errorf("make / read-only: %w", err)
	}
	flags := uintptr(st.Flags&statfsMountFlags) | unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY
	if err := unix.Mount("", "/", "", flags, ""); err != nil {
		return fmt.Errorf("make / read-only: %w", err)
	}
	return nil
}
