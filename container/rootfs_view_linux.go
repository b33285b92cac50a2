package container

import (
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// WriteChanges writes container c's upper dir, the container's changes to
// its image, as one OCI layer tar: overlay whiteouts become ".wh." entries
// and opaque dirs get ".wh..wh..opq" (commit). What lies at or under the
// container's mount points is left out, as docker's commit leaves volumes
// out: the targets the init made to mount over, and anything hidden under
// a mount.
func (s Store) WriteChanges(w io.Writer, c *state.Container) error {
	dir, err := state.Dir(s.Root, c.ID)
	if err != nil {
		return err
	}
	under := mountDests(c)
	skip := func(rel string, mode uint32, size int64) bool {
		return mountTarget(rel, mode, size) || under.covers(rel)
	}
	o := archive.WriteOptions{Overlay: true, UserXattr: userns.Rootless(), Xattrs: true, Skip: skip}
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

// dests are container paths of mount points, cleaned, without the leading
// slash (as archive and diff name entries).
type dests []string

// mountDests are the destinations of container c's mounts (Host.Mounts:
// binds, volumes, tmpfs).
func mountDests(c *state.Container) dests {
	var d dests
	for _, m := range c.Host.Mounts {
		d = append(d, strings.TrimPrefix(path.Clean("/"+m.Destination), "/"))
	}
	return d
}

// covers reports whether rel is one of the mount points or lies under one.
func (d dests) covers(rel string) bool {
	for _, m := range d {
		if m != "" && (rel == m || strings.HasPrefix(rel, m+"/")) {
			return true
		}
	}
	return false
}

// Export writes container c's merged filesystem as a tar (export). A
// running container's own mounts (/proc, /sys, /dev, its volumes and
// binds) are written as empty directories, as docker's export shows them;
// a file bound over a path (-v /host/file:/ctr/file) is left out, so no
// host file is exported. A stopped container's view has no mounts.
func (s Store) Export(w io.Writer, c *state.Container) error {
	fd, release, err := s.OpenRootfs(c)
	if err != nil {
		return err
	}
	defer release()
	at := mountDests(c)
	skipFile := func(rel string, mode uint32, _ int64) bool {
		return mode&unix.S_IFMT != unix.S_IFDIR && slices.Contains(at, rel)
	}
	if err := archive.Write(w, fd, archive.WriteOptions{SameMount: true, Xattrs: true, Skip: skipFile}); err != nil {
		return fmt.Errorf("export %s: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// FreezeFor freezes running container c for the duration of a commit -p;
// thaw undoes only what it did: an already paused or stopped container is
// left as it is.
func FreezeFor(c *state.Container) (thaw func(), err error) {
	if c.Status != state.Running || userns.Rootless() && c.Host.Limits.CgroupSubtree == "" {
		// A rootless container without a delegated cgroup has no freezer:
		// commit goes on unpaused, as podman's rootless on cgroup v1.
		return func() {}, nil
	}
	cg, err := CgroupOf(c)
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
// fd, for export: a running container's process root, else a read-only
// view of its overlay without its mounts (see rootfs.OpenProcRoot,
// rootfs.OpenView). Resolve every path under rootfd with rootfs.InRoot.
// release closes rootfd; call it once.
func (s Store) OpenRootfs(c *state.Container) (rootfd int, release func(), err error) {
	return s.openRootfs(c, false)
}

// openRootfs is OpenRootfs; mounted (cp) binds a stopped container's
// volumes and binds into its view, where its init would mount them, so a
// path inside one reaches the data the container sees. A running
// container's root already shows them (its own mount namespace).
func (s Store) openRootfs(c *state.Container, mounted bool) (rootfd int, release func(), err error) {
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
	if mounted {
		return s.OpenMounted(c, false)
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

// OpenMounted is OpenOverlay with container c's binds and volumes bound in
// at their destinations (rootfs.BindInView), for cp on a stopped
// container: read-only for a copy out; for a copy in, as writable as the
// container's own, a missing destination made as the init makes it. A
// tmpfs is gone with the process: its destination shows the overlay.
func (s Store) OpenMounted(c *state.Container, writable bool) (rootfd int, release func(), err error) {
	fd, release, err := s.OpenOverlay(c, writable)
	if err != nil {
		return -1, nil, err
	}
	binds, err := s.viewBinds(c)
	if err == nil {
		err = rootfs.BindInView(fd, binds, writable)
	}
	if err != nil {
		release()
		return -1, nil, fmt.Errorf("container %s: %w", shortid.Of(c.ID), err)
	}
	return fd, release, nil
}

// viewBinds are container c's mounts that hold data on the host, in mount
// order, from where the init mounts them: a bind's source, a volume's
// (volume.MountSource: its data dir, or the device of a named bind). A
// tmpfs, or a volume on one, is gone with the process.
func (s Store) viewBinds(c *state.Container) ([]rootfs.ViewBind, error) {
	source := volumeSource(s.Root)
	var b []rootfs.ViewBind
	for _, m := range c.Host.Mounts {
		src := m.Source
		if m.Type == "volume" {
			typ, vsrc, _, err := source(m)
			if err != nil {
				return nil, fmt.Errorf("volume %s: %w", m.Name, err)
			}
			if typ == "tmpfs" {
				continue
			}
			src = vsrc
		}
		if m.Type == "tmpfs" || src == "" {
			continue
		}
		b = append(b, rootfs.ViewBind{Source: src, Destination: m.Destination, ReadOnly: m.ReadOnly})
	}
	return b, nil
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
// (rootfs.Diff), leaving out what the init made only to mount over (the
// generated /etc files' targets, the volumes', binds' and tmpfs' mount
// points) and what lies under a mount point.
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
	var at []string
	for _, m := range spec.Mounts(generatedFiles(dir)) {
		at = append(at, m.Destination)
	}
	for _, m := range c.Host.Mounts {
		at = append(at, m.Destination)
	}
	changes, err := rootfs.Diff(l, at)
	if err != nil {
		return nil, fmt.Errorf("diff %s: %w", ref, err)
	}
	return changes, nil
}
