package container

import (
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
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// WriteChanges writes container c's upper dir, the container's changes to
// its image, as one OCI layer tar: overlay whiteouts become ".wh." entries
// and opaque dirs get ".wh..wh..opq" (commit).
func (s Store) WriteChanges(w io.Writer, c *state.Container) error {
	dir, err := state.Dir(s.Root, c.ID)
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
func (s Store) Export(w io.Writer, c *state.Container) error {
	fd, release, err := s.OpenRootfs(c)
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
func (s Store) OpenRootfs(c *state.Container) (rootfd int, release func(), err error) {
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
	return s.OpenOverlay(c, false)
}

// OpenOverlay mounts container c's overlay detached and returns the fd of
// its root: read-only, or writable for a copy into a stopped container
// (rootfs.OpenWritable says what the caller must hold).
func (s Store) OpenOverlay(c *state.Container, writable bool) (rootfd int, release func(), err error) {
	l, err := s.containerLayers(c)
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

// containerLayers are container c's overlay: its image layers (from its
// record) and the upper and work dirs in its directory.
func (s Store) containerLayers(c *state.Container) (rootfs.Layers, error) {
	dir, err := state.Dir(s.Root, c.ID)
	if err != nil {
		return rootfs.Layers{}, err
	}
	return rootfs.Layers{Lower: topFirst(c.Layers), Upper: filepath.Join(dir, "upper"), Work: filepath.Join(dir, "work")}, nil
}

// Diff lists what container ref changed in its filesystem, as docker diff
// (rootfs.Diff), leaving out what the init made only to mount over.
func (s Store) Diff(ref string) ([]rootfs.Change, error) {
	c, err := s.Lookup(ref)
	if err != nil {
		return nil, err
	}
	l, err := s.containerLayers(c)
	if err != nil {
		return nil, err
	}
	dir, err := state.Dir(s.Root, c.ID)
	if err != nil {
		return nil, err
	}
	var dests []string
	for _, m := range spec.Mounts(generatedFiles(dir)) {
		dests = append(dests, m.Destination)
	}
	changes, err := rootfs.Diff(l, dests)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", ref, err)
	}
	return changes, nil
}
