package container

import (
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/userns"
)

// fuseDriver is state.Container.Driver of a root fuse-overlayfs mounts.
const fuseDriver = string(rootfs.FuseOverlay)

// rootlessDriver is the Driver of a container created now: "" for root
// and for a rootless skiff whose kernel mounts overlay in its namespace
// (the probe's answer is cached per boot in the run root), fuseDriver where
// only fuse-overlayfs can, or the config file's choice; an error naming
// what to install where neither can.
func (s Store) rootlessDriver() (string, error) {
	if !userns.Rootless() {
		return "", nil
	}
	var force rootfs.OverlayDriver
	switch s.StorageDriver {
	case "":
	case "overlay", "overlay2":
		force = rootfs.NativeOverlay
	case fuseDriver:
		force = rootfs.FuseOverlay
	default:
		return "", fmt.Errorf("storage-driver %q in the config file: a rootless skiff knows overlay2 and fuse-overlayfs", s.StorageDriver)
	}
	st, err := rootfs.RootlessOverlay(rootfs.OverlayProbe{CacheDir: s.RunRoot, Force: force})
	if err != nil {
		return "", err
	}
	if st.Driver == rootfs.FuseOverlay {
		return fuseDriver, nil
	}
	return "", nil
}

// FuseRoot reports whether c's root is a fuse-overlayfs mount, which
// the monitor makes before it starts the init (so never an init started
// before the record was read: its mount namespace would lack it).
func (c *Container) FuseRoot() bool { return c.State.Driver == fuseDriver }

// mountFuseRoot mounts c's root with fuse-overlayfs in the monitor's own
// mount namespace (the init's starts as a copy of it), unless it is not
// on fuse or is mounted already (a restart keeps the mount).
func (c *Container) mountFuseRoot() error {
	if !c.FuseRoot() || c.fuse != nil {
		return nil
	}
	prog, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return fmt.Errorf("container %s was created on fuse-overlayfs, which is no longer installed: install fuse-overlayfs", c.State.ID)
	}
	l := rootfs.Layers{Lower: topFirst(c.State.Layers), Upper: filepath.Join(c.Dir, "upper"), Work: filepath.Join(c.Dir, "work")}
	c.fuse, err = rootfs.StartFuseMount(filepath.Join(c.Dir, "rootfs"), l, prog)
	return err
}

// unmountFuseRoot ends c's fuse-overlayfs mount and its server, if any.
func (c *Container) unmountFuseRoot() error {
	if c.fuse == nil {
		return nil
	}
	err := c.fuse.Unmount()
	c.fuse = nil
	return err
}
