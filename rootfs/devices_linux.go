package rootfs

// The container's own device nodes (--device, and every host device with
// --privileged), made by the init in the container's tree before
// pivot_root, each at its path resolved inside the root: a hostile image
// symlink (/dev -> /host/dev is impossible, /dev being a tmpfs, but
// --device /dev/x:/etc/x names the image's tree) never makes a node on the
// host. The start resolved them from the host's nodes
// (container.resolveDevices); whether the container may open them is its
// cgroup's device rules.

import (
	"errors"
	"fmt"
	"path"

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
	mode, err := nodeType(d.Type)
	if err != nil {
		return err
	}
	if d.FileMode != nil {
		mode |= uint32(*d.FileMode) & 0o7777
	}
	parent, err := OpenInRoot(rootfs, dir, Dir)
	if err != nil {
		return err
	}
	defer unix.Close(parent)
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
