package rootfs

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// MakeRootSlave makes every mount of the new mount namespace a slave: the
// host's later mounts still show up, but nothing the container mounts or
// unmounts propagates back. Done first, before anything is mounted.
func MakeRootSlave() error {
	if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("make / rslave: %w", err)
	}
	return nil
}

// device is a node docker puts in every container's /dev.
type device struct {
	name         string
	major, minor uint32
}

var defaultDevices = []device{
	{"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7},
	{"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
}

// devSymlinks are docker's /dev links; ptmx points at the container's own
// devpts instance so ptys never come from the host's.
var devSymlinks = [][2]string{
	{"/proc/self/fd", "fd"}, {"/proc/self/fd/0", "stdin"}, {"/proc/self/fd/1", "stdout"},
	{"/proc/self/fd/2", "stderr"}, {"pts/ptmx", "ptmx"}, {"/proc/kcore", "core"},
}

// SetupDev fills rootfs's /dev (already mounted) with the default device
// nodes and links. mknod needs real root: with
// rootless the host's nodes are bind-mounted instead, as runc does.
func SetupDev(rootfs string, rootless bool) error {
	dev, err := OpenInRoot(rootfs, "/dev", Dir)
	if err != nil {
		return fmt.Errorf("set up /dev: %w", err)
	}
	defer unix.Close(dev)
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range defaultDevices {
		if err := makeDevice(rootfs, dev, d, rootless); err != nil {
			return fmt.Errorf("create /dev/%s: %w", d.name, err)
		}
	}
	for _, l := range devSymlinks {
		if err := unix.Symlinkat(l[0], dev, l[1]); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("link /dev/%s: %w", l[1], err)
		}
	}
	return nil
}

func makeDevice(rootfs string, dev int, d device, rootless bool) error {
	if !rootless {
		err := unix.Mknodat(dev, d.name, unix.S_IFCHR|0o666, int(unix.Mkdev(d.major, d.minor)))
		if err == nil || errors.Is(err, unix.EEXIST) {
			return nil
		}
		if !errors.Is(err, unix.EPERM) {
			return err
		}
	}
	fd, err := OpenInRoot(rootfs, "/dev/"+d.name, File)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Mount("/dev/"+d.name, fdPath(fd), "", unix.MS_BIND, "")
}

// PivotRoot makes rootfs the root and detaches the old one entirely
// (pivot_root(".", ".") then unmounting the old root stacked on top), so no
// path and no fd of the init leads back to the host's tree.
func PivotRoot(rootfs string) error {
	oldroot, err := unix.Open("/", unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("pivot_root: open /: %w", err)
	}
	defer unix.Close(oldroot)
	newroot, err := unix.Open(rootfs, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("pivot_root: open %s: %w", rootfs, err)
	}
	defer unix.Close(newroot)
	if err := unix.Fchdir(newroot); err != nil {
		return fmt.Errorf("pivot_root: chdir %s: %w", rootfs, err)
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root %s: %w", rootfs, err)
	}
	// The old root is now mounted on top of ".": step into it to unmount it.
	if err := unix.Fchdir(oldroot); err != nil {
		return fmt.Errorf("pivot_root: chdir old root: %w", err)
	}
	// Slave again so the detach cannot propagate to the host's mounts.
	if err := unix.Mount("", ".", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("pivot_root: make old root rslave: %w", err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return fmt.Errorf("pivot_root: unmount old root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return fmt.Errorf("pivot_root: chdir /: %w", err)
	}
	return nil
}

// statfsMountFlags are the statfs(2) flags that equal their mount(2)
// twins and must be kept when remounting a bind (the kernel refuses to
// clear locked ones).
const statfsMountFlags = unix.ST_NOSUID | unix.ST_NODEV | unix.ST_NOEXEC |
	unix.ST_NOATIME | unix.ST_NODIRATIME | unix.ST_RELATIME
