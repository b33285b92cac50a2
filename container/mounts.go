package container

// A container's mounts, resolved at create from what the flags asked for
// (spec.ParseMounts) into the record's Host.Mounts:
//
//   check first, so that a bad flag creates nothing: --mount bind sources
//     exist, volume names are valid, --volumes-from containers exist
//   --volumes-from: the other container's mounts (:ro forces read-only),
//     replaced by a -v or --mount on the same destination
//   -v host dirs that are missing are created, as docker does
//   the image's VOLUME entries that no mount covers: anonymous volumes
//   under volume.Store.Hold (the caller releases it once the record is
//     saved, so volume rm/prune see the volume in use from its creation):
//     create or look up every volume, and copy the image's content at its
//     destination into an empty one (docker's copy-up)
//   -v's U: the sources given to the container's user (chown -R), its ids
//     resolved in the image's /etc/passwd and /etc/group (ownership.go);
//     -v's idmap refused, saying why
//   sort parent before child (by depth, as docker)

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
	"github.com/skiff-dev/skiff/volume"
)

// resolveMounts makes the record's Host from o.Host for container dir of
// image img. release (never nil) drops the volume store's hold: call it
// after the record is saved. On error, anonymous volumes it made are gone.
func (s Store) resolveMounts(dir string, img spec.Image, o spec.Options) (h state.Host, release func(), err error) {
	release = func() {}
	h = o.Host
	h.Mounts = nil
	from, err := s.volumesFrom(o.Host.VolumesFrom)
	if err != nil {
		return h, release, err
	}
	if err := checkMountSources(o.Host.Mounts); err != nil {
		return h, release, err
	}
	if err := checkIDMaps(o.Host.Mounts, userns.Rootless()); err != nil {
		return h, release, err
	}
	h.Mounts = append(overridden(from, o.Host.Mounts), o.Host.Mounts...)
	h.Mounts = append(h.Mounts, imageVolumes(img.Config.Volumes, h.Mounts)...)
	if err := makeBindSources(h.Mounts); err != nil {
		return h, release, err
	}
	// The view's top layer is the container's upper dir, empty at create.
	f := &filler{layers: rootfs.Layers{Lower: topFirst(img.LayerDirs), Upper: filepath.Join(dir, "upper")}}
	defer f.close()
	if release, err = s.resolveVolumes(h.Mounts, f); err != nil {
		return h, release, err
	}
	if err = f.chownSources(h.Mounts, spec.User(img.Config, o)); err != nil {
		removeAnonymous(s.Root, h.Mounts)
		release()
		return h, func() {}, err
	}
	spec.SortMounts(h.Mounts)
	return h, release, nil
}

// resolveVolumes creates or looks up the volumes of ms, under the volume
// store's hold (release drops it; never nil).
func (s Store) resolveVolumes(ms []state.Mount, f *filler) (release func(), err error) {
	if !slices.ContainsFunc(ms, func(m state.Mount) bool { return m.Type == "volume" }) {
		return func() {}, nil
	}
	vs := volume.Store{Root: s.Root}
	if release, err = vs.Hold(); err != nil {
		return func() {}, err
	}
	for i := range ms {
		if err = resolveVolume(vs, &ms[i], f); err != nil {
			removeAnonymous(s.Root, ms)
			release()
			return func() {}, err
		}
	}
	return release, nil
}

// volumesFrom are the mounts of each --volumes-from container, the later
// one winning a destination; tmpfs mounts are the other container's own.
func (s Store) volumesFrom(specs []string) ([]state.Mount, error) {
	var out []state.Mount
	for _, raw := range specs {
		ref, ro, err := spec.ParseVolumesFrom(raw)
		if err != nil {
			return nil, err
		}
		c, err := s.Lookup(ref)
		if err != nil {
			return nil, err
		}
		for _, m := range c.Host.Mounts {
			if m.Type == "tmpfs" {
				continue
			}
			m.Origin, m.ReadOnly, m.Mode, m.NoCopy, m.Chown = spec.OriginVolumesFrom, m.ReadOnly || ro, "", true, false
			out = append(overridden(out, []state.Mount{m}), m)
		}
	}
	return out, nil
}

// overridden is ms without those whose destination one of by has.
func overridden(ms, by []state.Mount) []state.Mount {
	return slices.DeleteFunc(slices.Clone(ms), func(m state.Mount) bool {
		return slices.ContainsFunc(by, func(b state.Mount) bool { return b.Destination == m.Destination })
	})
}

// checkMountSources refuses, before anything is made, a --mount bind
// whose source is missing and a volume name docker would refuse.
func checkMountSources(ms []state.Mount) error {
	for _, m := range ms {
		switch {
		case m.Type == "bind" && m.Origin == spec.OriginMount:
			if _, err := os.Stat(m.Source); errors.Is(err, os.ErrNotExist) {
				return spec.BindSourceMissing(m.Source)
			} else if err != nil {
				return fmt.Errorf("bind source %s: %w", m.Source, err)
			}
		case m.Type == "volume" && m.Name != "":
			if err := volume.ValidName(m.Name); err != nil {
				return fmt.Errorf("create %s: %w", m.Name, err)
			}
		}
	}
	return nil
}

// makeBindSources creates the missing host directories of -v binds.
func makeBindSources(ms []state.Mount) error {
	for _, m := range ms {
		if m.Type != "bind" || m.Origin != spec.OriginBind {
			continue
		}
		if _, err := os.Stat(m.Source); errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(m.Source, 0o755); err != nil {
				return fmt.Errorf("error while creating mount source path '%s': %w", m.Source, err)
			}
		}
	}
	return nil
}

// imageVolumes are anonymous volumes for the image's VOLUME entries that
// no mount in ms covers.
func imageVolumes(vols map[string]struct{}, ms []state.Mount) []state.Mount {
	dests := make([]string, 0, len(vols))
	for d := range vols {
		dests = append(dests, path.Clean("/"+d))
	}
	sort.Strings(dests)
	var out []state.Mount
	for _, d := range slices.Compact(dests) {
		covered := func(m state.Mount) bool { return m.Destination == d }
		if d == "/" || slices.ContainsFunc(ms, covered) {
			continue
		}
		out = append(out, state.Mount{Type: "volume", Destination: d, Origin: spec.OriginImage, Anonymous: true})
	}
	return out
}

// resolveVolume creates or looks up m's volume, names it in m and fills
// it from the image unless m says no copy.
func resolveVolume(vs volume.Store, m *state.Mount, f *filler) error {
	if m.Type != "volume" || m.Source != "" {
		return nil // not a volume, or one of --volumes-from's, already named
	}
	v, err := vs.Create(m.Name, volume.CreateOptions{Anonymous: m.Anonymous})
	if err != nil {
		return err
	}
	m.Name, m.Source = v.Name, v.Mountpoint
	if m.NoCopy || !emptyDir(v.Mountpoint) {
		return nil
	}
	return f.fill(vs, v, m.Destination)
}

// removeAnonymous removes the anonymous volumes a failed create made:
// those of ms resolved (named) and not another container's.
func removeAnonymous(root string, ms []state.Mount) {
	vs := volume.Store{Root: root}
	for _, m := range ms {
		if m.Type == "volume" && m.Anonymous && m.Name != "" && m.Origin != spec.OriginVolumesFrom {
			vs.Remove(m.Name)
		}
	}
}

// volumeSource is how the init mounts a volume of the record
// (volume.MountSource), for spec.Build.
func volumeSource(root string) spec.VolumeSource {
	vs := volume.Store{Root: root}
	return func(m state.Mount) (string, string, []string, error) {
		v, err := vs.Get(m.Name)
		if err != nil {
			return "", "", nil, err
		}
		typ, source, opts := v.MountSource()
		return typ, source, opts, nil
	}
}

// emptyDir says whether dir has no entries (an unreadable one counts as
// not empty: Fill then checks again and says why).
func emptyDir(dir string) bool {
	d, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer d.Close()
	_, err = d.Readdirnames(1)
	return err == io.EOF
}

// filler copies the image's content into volumes (copy-up), read from a
// detached read-only view of the image's layers opened on first need.
// Paths are resolved inside the view (RESOLVE_IN_ROOT): an image symlink
// at a volume's destination is followed as the container would see it,
// never onto the host.
type filler struct {
	layers  rootfs.Layers
	rootfd  int
	release func()
}

// absentFromImage reports whether the image certainly has nothing at
// dest: no layer holds an entry named as dest's first component (a link
// there would be one too), so the merged view cannot. It spares the view's
// overlay mount, ~1 ms of every run, for a volume where the image has
// nothing, the common case; anything else is looked up in the view.
func (f *filler) absentFromImage(dest string) bool {
	first, _, _ := strings.Cut(strings.TrimPrefix(path.Clean(dest), "/"), "/")
	if first == "" {
		return false
	}
	for _, d := range append([]string{f.layers.Upper}, f.layers.Lower...) {
		if d == "" {
			continue
		}
		if _, err := os.Lstat(filepath.Join(d, first)); !errors.Is(err, fs.ErrNotExist) {
			return false
		}
	}
	return true
}

func (f *filler) close() {
	if f.release != nil {
		f.release()
	}
}

func (f *filler) root() (int, error) {
	if f.release == nil {
		fd, release, err := rootfs.OpenView(f.layers)
		if err != nil {
			return -1, fmt.Errorf("copy image content into volumes: %w", err)
		}
		f.rootfd, f.release = fd, release
	}
	return f.rootfd, nil
}

// fill copies the image's directory dest into v (volume.Store.Fill: all
// or nothing); nothing when the image has no directory there.
func (f *filler) fill(vs volume.Store, v *volume.Volume, dest string) error {
	if f.absentFromImage(dest) {
		return nil
	}
	rootfd, err := f.root()
	if err != nil {
		return err
	}
	src, err := rootfs.InRoot(rootfd, dest, unix.O_PATH|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("copy image content into volume %s: %w", v.Name, err)
	}
	defer unix.Close(src)
	if rootfs.IsRootFd(rootfd, src) {
		// The mount would be refused at start; never copy the whole image.
		return fmt.Errorf("mount on %s: %w", dest, rootfs.ErrTargetIsRoot)
	}
	return vs.Fill(v, func(dir string) error { return copyDirInto(src, dir) })
}

// copyDirInto copies the tree under the directory src (owners, modes,
// xattrs kept) into dir, which takes src's own owner and mode, as
// docker's copy-up: through the one tree writer and extractor.
func copyDirInto(src int, dir string) error {
	var st unix.Stat_t
	if err := unix.Fstat(src, &st); err != nil {
		return err
	}
	root := os.Geteuid() == 0
	if root {
		if err := os.Lchown(dir, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if err := os.Chmod(dir, os.FileMode(st.Mode&0o777)|unixModeBits(st.Mode)); err != nil {
		return err
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := archive.Write(pw, src, archive.WriteOptions{Xattrs: true})
		pw.CloseWithError(err)
		done <- err
	}()
	_, err := archive.ExtractDir(pr, dir, archive.ExtractOptions{Chown: root, Xattrs: true})
	pr.CloseWithError(errors.New("extraction stopped"))
	if werr := <-done; werr != nil && (err == nil || errors.Is(err, io.ErrClosedPipe)) {
		return werr
	}
	return err
}

// unixModeBits are the setuid, setgid and sticky bits of a stat mode as
// os.FileMode spells them.
func unixModeBits(m uint32) os.FileMode {
	var out os.FileMode
	if m&unix.S_ISUID != 0 {
		out |= os.ModeSetuid
	}
	if m&unix.S_ISGID != 0 {
		out |= os.ModeSetgid
	}
	if m&unix.S_ISVTX != 0 {
		out |= os.ModeSticky
	}
	return out
}
