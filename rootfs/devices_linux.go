package rootfs

// The container's own device nodes (--device, and every host device with
// --privileged), made by the init in the container's tree before
// pivot_root, each path resolved inside the root, so that an image's
// symlink (--device /dev/x:/etc/x with /etc a link to a host path) never
// makes a node on the host. The start resolved them from the host's nodes
// (container/devices_linux.go); whether the container may open them is its
// cgroup's device rules.
//
// A node is made where it goes, except on a nodev mount: the root itself
// (the overlay is mounted nodev, as podman's), /dev/shm, a tmpfs. There a
// node made in /dev (a tmpfs that allows devices) is bind-mounted over an
// empty file instead: a bind mount keeps the flags of its source's mount,
// so --device /dev/loop1:/xvdc opens as in docker.

import (
	"errors"
	"fmt"
	"path"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// MakeDevices makes each device node in rootfs (not yet pivoted into),
// with its mode and owner, creating missing parent directories. A path
// that exists already is left as it is, as runc does (the default nodes
// SetupDev made, for --privileged's copy of the host's /dev).
func MakeDevices(rootfs string, devs []specs.LinuxDevice) error {
	if len(devs) == 0 {
		return nil
	}
	old := unix.Umask(0)
	defer unix.Umask(old)
	for _, d := range devs {
		if err := makeNode(rootfs, d); err != nil {
			return fmt.Errorf("create device %s: %w", d.Path, err)
		}
	}
	return nil
}

func makeNode(rootfs string, d specs.LinuxDevice) error {
	clean := path.Clean("/" + d.Path)
	dir, name := path.Split(clean)
	if name == "" || name == "." || name == ".." {
		return errors.New("not a path to a file")
	}
	parent, err := OpenInRoot(rootfs, dir, Dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
	var st unix.Stat_t
	if err := unix.Fstatat(parent, name, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		return nil // there already
	}
	if nodev, err := onNodevMount(parent); err != nil || !nodev {
		if err != nil {
			return err
		}
		err := mknodIn(parent, name, d)
		if errors.Is(err, unix.EPERM) {
			// In a user namespace (rootless) no device node can be made:
			// the host's own node is bound instead, as podman does.
			return bindHostNode(rootfs, clean, d)
		}
		return err
	}
	return bindNode(rootfs, clean, d)
}

// bindHostNode binds the host's node of device d (the init runs before its
// pivot_root: "/dev/..." is the host's), the one at path or else one in
// /dev or a directory of it (--device /dev/x:/dev/y), over a file made at
// path in rootfs; without one, mknod's EPERM stands.
func bindHostNode(rootfs, path string, d specs.LinuxDevice) error {
	mode, err := nodeType(d.Type)
	if err != nil {
		return err
	}
	src := openHostNode(path, mode, d)
	if src < 0 {
		candidates, _ := filepath.Glob("/dev/*")
		more, _ := filepath.Glob("/dev/*/*")
		for _, p := range append(candidates, more...) {
			if src = openHostNode(p, mode, d); src >= 0 {
				break
			}
		}
	}
	if src < 0 {
		return fmt.Errorf("mknod: %w (rootless: a user namespace makes no device node), and the host has no node %d:%d to bind", unix.EPERM, d.Major, d.Minor)
	}
	defer unix.Close(src)
	return bindNodeFd(rootfs, path, src, "bind the host's "+path)
}

// bindNodeFd binds the node open as src over a file made at path in
// rootfs; what names the bind in its error.
func bindNodeFd(rootfs, path string, src int, what string) error {
	dst, err := OpenInRoot(rootfs, path, File)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	if err := unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// mknodIn makes d as name in the directory parent, with its mode and owner.
func mknodIn(parent int, name string, d specs.LinuxDevice) error {
	mode, err := nodeType(d.Type)
	if err != nil {
		return err
	}
	if d.FileMode != nil {
		mode |= uint32(*d.FileMode) & 0o7777
	}
	err = unix.Mknodat(parent, name, mode, int(unix.Mkdev(uint32(d.Major), uint32(d.Minor))))
	if errors.Is(err, unix.EEXIST) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	uid, gid := -1, -1
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := unix.Fchownat(parent, name, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown: %w", err)
	}
	return nil
}

// onNodevMount says whether the directory fd lies on a mount whose device
// nodes cannot be opened.
func onNodevMount(fd int) (bool, error) {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return false, fmt.Errorf("statfs: %w", err)
	}
	return fs.Flags&unix.ST_NODEV != 0, nil
}

// stagedNode is the name a node bound elsewhere is made under in /dev,
// removed once bound.
const stagedNode = ".skiff-device"

// bindNode makes d in the container's /dev under stagedNode and binds it
// over an empty file at path (resolved in the root), for a path on a nodev
// mount.
func bindNode(rootfs, path string, d specs.LinuxDevice) error {
	dev, err := OpenInRoot(rootfs, "/dev", Dir)
	if err != nil {
		return err
	}
	defer unix.Close(dev)
	unix.Unlinkat(dev, stagedNode, 0)
	if err := mknodIn(dev, stagedNode, d); err != nil {
		return err
	}
	defer unix.Unlinkat(dev, stagedNode, 0) // the bind mount keeps the inode
	src, err := unix.Openat(dev, stagedNode, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open the staged node: %w", err)
	}
	defer unix.Close(src)
	return bindNodeFd(rootfs, path, src, "bind over the nodev mount")
}

// nodeType is mknod's file type for an OCI device type.
func nodeType(t string) (uint32, error) {
	switch t {
	case "c", "u":
		return unix.S_IFCHR, nil
	case "b":
		return unix.S_IFBLK, nil
	case "p":
		return unix.S_IFIFO, nil
	}
	return 0, fmt.Errorf("invalid device type %q", t)
}

// openHostNode is an O_PATH fd of the host's node at p if it is device d
// (type mode), else -1.
func openHostNode(p string, mode uint32, d specs.LinuxDevice) int {
	fd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != mode || st.Rdev != unix.Mkdev(uint32(d.Major), uint32(d.Minor)) {
		unix.Close(fd)
		return -1
	}
	return fd
}
