package container

import (
	"fmt"
	"os/exec"

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

// fuseOverlayfs is the program that mounts c's root, or "" for the
// kernel's overlay.
func (c *Container) fuseOverlayfs() (string, error) {
	if c.State.Driver != fuseDriver {
		return "", nil
	}
	p, err := exec.LookPath("fuse-overlayfs")
	if err != nil {
		return "", fmt.Errorf("container %s was created on fuse-overlayfs, which is no longer installed: install fuse-overlayfs", c.State.ID)
	}
	return p, nil
}
