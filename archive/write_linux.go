package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// WriteOptions say what differs between commit (Overlay, Xattrs), export
// (SameMount, Xattrs) and cp out of a container (Rebase).
type WriteOptions struct {
	// Rebase names the root entry of the tree and prefixes every name
	// below it (cp's destination name); "" leaves the root entry out, so
	// only what a directory holds is written, named relative to it.
	Rebase string
	// Overlay: the tree is an overlay upper dir: its whiteouts (0/0 char
	// devices) become ".wh.NAME" entries and its opaque dirs get a
	// ".wh..wh..opq" entry, as OCI layers spell them.
	Overlay bool
	// UserXattr: opaque dirs are marked with user.overlay.opaque (a
	// rootless overlay's userxattr) instead of trusted.overlay.opaque.
	UserXattr bool
	// SameMount: directories on another mount than the root's (a running
	// container's /proc, /sys, /dev) are written as empty directories.
	SameMount bool
	// Xattrs records security.* and user.* xattrs (file capabilities),
	// not overlay's own bookkeeping.
	Xattrs bool
	// Skip, when set, leaves out the entry rel (slash separated, no
	// leading slash, before Rebase) of the given mode and size; a skipped
	// directory is left out with all it holds (commit's mount points).
	Skip func(rel string, mode uint32, size int64) bool
}

// WriteDir writes the tree under dir as a tar stream (see Write).
func WriteDir(w io.Writer, dir string, o WriteOptions) error {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("write tar: open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return Write(w, fd, o)
}

// Write writes the object open as fd (O_PATH is enough: a directory, a
// file or a symlink itself) and, for a directory, the tree under it as a
// tar stream, entries sorted so the same tree gives the same bytes. Files
// with several links are written once, then as hard links to that name.
// Every file is opened by one name relative to its already-open parent
// with O_NOFOLLOW: a symlink inside the tree is recorded as a symlink and
// never followed, so nothing outside fd is ever read.
func Write(w io.Writer, fd int, o WriteOptions) error {
	t := &writer{tw: tar.NewWriter(w), o: o, links: map[fileID]string{}, buf: make([]byte, 256<<10)}
	if err := t.root(fd); err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return t.tw.Close()
}

type fileID struct{ dev, ino uint64 }

type writer struct {
	tw    *tar.Writer
	o     WriteOptions
	mnt   uint64
	links map[fileID]string // first name of each multiply-linked file
	buf   []byte
}

// root writes the tree's root object (as Rebase) and what it holds.
func (t *writer) root(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		if t.o.Rebase == "" {
			return nil
		}
		return t.rootObject(fd, &st)
	}
	dfd, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open root: %w", err)
	}
	defer unix.Close(dfd)
	if t.o.SameMount {
		if t.mnt, err = mountID(dfd); err != nil {
			return err
		}
	}
	if t.o.Rebase != "" {
		hdr := header(t.o.Rebase, &st)
		hdr.Typeflag, hdr.Name, hdr.Devmajor, hdr.Devminor = tar.TypeDir, t.o.Rebase+"/", 0, 0
		t.addXattrs(dfd, hdr)
		if err := t.write(hdr, nil); err != nil {
			return err
		}
	}
	if !t.descend(dfd) {
		return nil
	}
	return t.dir(dfd, t.o.Rebase)
}

// rootObject writes a root that is not a directory: cp of one file or
// link. A regular file is read through our own /proc/self/fd, which names
// this exact inode.
func (t *writer) rootObject(fd int, st *unix.Stat_t) error {
	name := t.o.Rebase
	hdr := header(name, st)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size, hdr.Devmajor, hdr.Devminor = tar.TypeReg, st.Size, 0, 0
		f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
		if err != nil {
			return fmt.Errorf("/%s: %w", name, err)
		}
		defer f.Close()
		t.addXattrs(int(f.Fd()), hdr)
		return t.write(hdr, f)
	case unix.S_IFLNK:
		target, err := readlinkat(fd, "")
		if err != nil {
			return fmt.Errorf("/%s: %w", name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
		return t.write(hdr, nil)
	}
	if !t.special(hdr, st) {
		return nil
	}
	return t.write(hdr, nil)
}

// descend is the one rule for which directories are written empty: a
// kernel filesystem (/proc, /sys and the like: their files are the
// kernel's, not the container's, and /proc never ends), and with SameMount
// any other mount than the root's, as docker, which reads the container's
// own filesystem and not its mounts, shows them.
func (t *writer) descend(fd int) bool {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) == nil {
		switch fs.Type {
		case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
			unix.DEVPTS_SUPER_MAGIC, unix.SECURITYFS_MAGIC, unix.DEBUGFS_MAGIC:
			return false
		}
	}
	if t.o.SameMount {
		id, err := mountID(fd)
		return err == nil && id == t.mnt
	}
	return true
}

func mountID(fd int) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(fd, "", unix.AT_EMPTY_PATH, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, fmt.Errorf("statx: %w", err)
	}
	return stx.Mnt_id, nil
}

// dir writes the entries of the open directory fd (named rel) and closes
// nothing: the caller owns fd.
func (t *writer) dir(fd int, rel string) error {
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("/%s: %w", rel, err)
	}
	for _, name := range names {
		if err := t.entry(fd, rel, name); err != nil {
			return err
		}
	}
	return nil
}

func readNames(fd int) ([]string, error) {
	dup, err := unix.Openat(fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(dup), ".")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	sort.Strings(names)
	return names, err
}

func (t *writer) entry(pfd int, parent, name string) error {
	rel := path.Join(parent, name)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // removed while we walk (a running container)
		}
		return fmt.Errorf("/%s: %w", rel, err)
	}
	if t.o.Skip != nil && t.o.Skip(t.unbased(rel), st.Mode, st.Size) {
		return nil
	}
	hdr := header(rel, &st)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return t.directory(pfd, name, rel, hdr)
	case unix.S_IFREG:
		return t.regular(pfd, name, rel, hdr, &st)
	case unix.S_IFLNK:
		target, err := readlinkat(pfd, name)
		if err != nil {
			return fmt.Errorf("/%s: %w", rel, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case unix.S_IFCHR:
		if t.o.Overlay && IsWhiteout(&st) {
			return t.write(whiteoutHeader(parent, WhiteoutPrefix+name, hdr), nil)
		}
		t.special(hdr, &st)
	default:
		if !t.special(hdr, &st) {
			return nil
		}
	}
	return t.write(hdr, nil)
}

// unbased is rel without the Rebase prefix, as Skip sees it.
func (t *writer) unbased(rel string) string {
	if t.o.Rebase == "" {
		return rel
	}
	return strings.TrimPrefix(strings.TrimPrefix(rel, t.o.Rebase), "/")
}

// special gives hdr the type of a device or fifo; false for a socket,
// which has no tar form (docker skips them too).
func (t *writer) special(hdr *tar.Header, st *unix.Stat_t) bool {
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFCHR:
		hdr.Typeflag = tar.TypeChar
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return false
	}
	return true
}

// header is st as a tar header named rel; times in whole seconds, as
// docker writes them, so the same tree gives the same layer.
func header(rel string, st *unix.Stat_t) *tar.Header {
	return &tar.Header{
		Name: rel, Mode: int64(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid), Format: tar.FormatPAX,
		ModTime:  time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Devmajor: int64(unix.Major(st.Rdev)), Devminor: int64(unix.Minor(st.Rdev)),
	}
}

// whiteoutHeader is an empty regular file named name in parent, owned as
// the whiteout was.
func whiteoutHeader(parent, name string, like *tar.Header) *tar.Header {
	return &tar.Header{
		Name: path.Join(parent, name), Typeflag: tar.TypeReg, Mode: 0o644, Format: tar.FormatPAX,
		Uid: like.Uid, Gid: like.Gid, ModTime: like.ModTime,
	}
}

func (t *writer) directory(pfd int, name, rel string, hdr *tar.Header) error {
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("/%s: %w", rel, err)
	}
	defer unix.Close(fd)
	hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
	hdr.Devmajor, hdr.Devminor = 0, 0
	t.addXattrs(fd, hdr)
	if err := t.write(hdr, nil); err != nil {
		return err
	}
	if t.o.Overlay && isOpaqueFD(fd, t.o.UserXattr) {
		if err := t.write(whiteoutHeader(rel, WhiteoutOpaque, hdr), nil); err != nil {
			return err
		}
	}
	if !t.descend(fd) {
		return nil
	}
	return t.dir(fd, rel)
}

func (t *writer) regular(pfd int, name, rel string, hdr *tar.Header, st *unix.Stat_t) error {
	hdr.Typeflag, hdr.Devmajor, hdr.Devminor = tar.TypeReg, 0, 0
	if st.Nlink > 1 {
		id := fileID{st.Dev, st.Ino}
		if first, ok := t.links[id]; ok {
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, first
			return t.write(hdr, nil)
		}
		t.links[id] = rel
	}
	fd, err := unix.Openat(pfd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("/%s: %w", rel, err)
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	// Size from the open file: the name may have been replaced since the stat.
	var fst unix.Stat_t
	if err := unix.Fstat(fd, &fst); err != nil || fst.Mode&unix.S_IFMT != unix.S_IFREG {
		return fmt.Errorf("/%s: changed while being read", rel)
	}
	hdr.Size = fst.Size
	t.addXattrs(fd, hdr)
	return t.write(hdr, f)
}
