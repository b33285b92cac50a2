package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/state"
)

// WriteChanges writes container c's upper dir, the container's changes to
// its image, as one OCI layer tar: overlay whiteouts become ".wh." entries
// and opaque dirs get ".wh..wh..opq" (commit).
func WriteChanges(w io.Writer, root string, c *state.Container) error {
	dir, err := state.Dir(root, c.ID)
	if err != nil {
		return err
	}
	o := archive.WriteOptions{Overlay: true, UserXattr: os.Geteuid() != 0, Xattrs: true, Skip: mountTarget}
	if err := archive.WriteDir(w, filepath.Join(dir, "upper"), o); err != nil {
		return fmt.Errorf("container %s: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// mountTarget reports the empty files the init creates in the upper dir
// only to bind-mount the generated /etc files over: they are no change of
// the container's (docker keeps them in an init layer that commit skips).
func mountTarget(rel string, mode uint32, size int64) bool {
	switch rel {
	case "etc/hostname", "etc/hosts", "etc/resolv.conf":
		return mode&unix.S_IFMT == unix.S_IFREG && size == 0
	}
	return false
}

// Export writes container c's merged filesystem as a tar (export). A
// running container's own mounts (/proc, /sys, /dev...) are written as
// empty directories, as docker's export shows them.
func Export(w io.Writer, root, runRoot string, c *state.Container) error {
	fd, release, err := OpenRootfs(root, runRoot, c)
	if err != nil {
		return err
	}
	defer release()
	if err := archive.Write(w, fd, archive.WriteOptions{SameMount: true, Xattrs: true}); err != nil {
		return fmt.Errorf("export %s: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// FreezeFor freezes running container c for the duration of a commit -p;
// thaw undoes only what it did: an already paused or stopped container is
// left as it is.
func FreezeFor(c *state.Container) (thaw func(), err error) {
	if c.Status != state.Running {
		return func() {}, nil
	}
	cg, err := cgroup.Load(c.ID)
	if err != nil {
		return nil, fmt.Errorf("pause %s: %w", shortid.Of(c.ID), err)
	}
	if frozen, err := cg.Frozen(); err == nil && frozen {
		return func() {}, nil
	}
	if err := cg.Freeze(); err != nil {
		cg.Thaw()
		return nil, fmt.Errorf("pause %s: %w", shortid.Of(c.ID), err)
	}
	return func() { cg.Thaw() }, nil
}

// OpenRootfs opens container c's merged filesystem as an O_PATH directory
// fd, for cp and export: a running container's process root, else a
// read-only view of its overlay (see rootfs.OpenProcRoot, rootfs.OpenView).
// Resolve every path under rootfd with rootfs.InRoot. release closes
// rootfd; call it once.
func OpenRootfs(root, runRoot string, c *state.Container) (rootfd int, release func(), err error) {
	if c.Pid > 0 && c.Status != state.Exited && c.Status != state.Created {
		fd, release, err := rootfs.OpenProcRoot(c.Pid, c.PidStartTime)
		if err == nil {
			return fd, release, nil
		}
		if !errors.Is(err, rootfs.ErrGone) {
			return -1, nil, fmt.Errorf("container %s: %w", shortid.Of(c.ID), err)
		}
		// The process exited since the record was read: its files are
		// still all in the overlay.
	}
	return OpenOverlay(root, c, false)
}

// OpenOverlay mounts container c's overlay detached and returns the fd of
// its root: read-only, or writable for a copy into a stopped container
// (rootfs.OpenWritable says what the caller must hold).
func OpenOverlay(root string, c *state.Container, writable bool) (rootfd int, release func(), err error) {
	l, err := containerLayers(root, c.ID)
	if err != nil {
		return -1, nil, err
	}
	open := rootfs.OpenView
	if writable {
		open = rootfs.OpenWritable
	}
	fd, release, err := open(l)
	if err != nil {
		return -1, nil, fmt.Errorf("container %s: %w", shortid.Of(c.ID), err)
	}
	return fd, release, nil
}

// containerLayers are container id's overlay: its image layers and the
// upper and work dirs in its directory.
func containerLayers(root, id string) (rootfs.Layers, error) {
	lower, err := LowerDirs(root, id)
	if err != nil {
		return rootfs.Layers{}, err
	}
	dir, err := state.Dir(root, id)
	if err != nil {
		return rootfs.Layers{}, err
	}
	return rootfs.Layers{Lower: lower, Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}, nil
}

// LowerDirs reads the image layers from the container's config.json
// (as Load does), top layer first as overlay wants them.
func LowerDirs(root, id string) ([]string, error) {
	spec, err := loadSpec(root, id)
	if err != nil {
		return nil, err
	}
	var layers []string
	if err := json.Unmarshal([]byte(spec.Annotations[annotLowerdirs]), &layers); err != nil {
		return nil, fmt.Errorf("container %s: config.json: layer list: %w", shortid.Of(id), err)
	}
	top := make([]string, len(layers))
	for i, d := range layers {
		top[len(layers)-1-i] = d
	}
	return top, nil
}

// Diff lists what container ref changed in its filesystem, as docker diff
// (rootfs.Diff), leaving out what the init made only to mount over.
func Diff(root, runRoot, ref string) ([]rootfs.Change, error) {
	c, err := Lookup(root, runRoot, ref)
	if err != nil {
		return nil, err
	}
	l, err := containerLayers(root, c.ID)
	if err != nil {
		return nil, err
	}
	spec, err := loadSpec(root, c.ID)
	if err != nil {
		return nil, err
	}
	var dests []string
	for _, m := range spec.Mounts {
		dests = append(dests, m.Destination)
	}
	changes, err := rootfs.Diff(l, dests)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", ref, err)
	}
	return changes, nil
}
