package fs

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

// TarOptions tune WriteTar.
type TarOptions struct {
	// Overlay: the tree is an overlay upper dir; its whiteouts (0/0 char
	// devices) become ".wh.NAME" and its opaque dirs get a ".wh..wh..opq"
	// entry, as OCI layers spell them.
	Overlay bool
	// Rootless: opaque dirs are marked with user.overlay.opaque
	// (overlay's userxattr) instead of trusted.overlay.opaque.
	Rootless bool
	// SameMount: do not descend into directories on another mount than
	// the root's (a running container's /proc, /sys, /dev): they are
	// written as empty directories.
	SameMount bool
	// Skip, when set, leaves out the non-directory entry rel (slash
	// separated, no leading slash) of the given mode and size.
	Skip func(rel string, mode uint32, size int64) bool
}

// WriteTarDir writes the tree under dir as a tar stream (see WriteTar).
func WriteTarDir(w io.Writer, dir string, o TarOptions) error {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("write tar: open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return WriteTar(w, fd, o)
}

// WriteTar writes the tree under the directory rootfd (an O_PATH fd is
// fine) as a tar stream, entries sorted so the same tree gives the same
// bytes. Every file is opened by one name relative to its already-open
// parent with O_NOFOLLOW: a symlink inside the tree is recorded as a
// symlink and never followed, so nothing outside rootfd is ever read.
func WriteTar(w io.Writer, rootfd int, o TarOptions) error {
	fd, err := unix.Openat(rootfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("write tar: open root: %w", err)
	}
	t := &tarWriter{tw: tar.NewWriter(w), o: o, links: map[fileID]string{}, buf: make([]byte, 256<<10)}
	if o.SameMount {
		if t.mnt, err = mountID(fd); err != nil {
			unix.Close(fd)
			return fmt.Errorf("write tar: %w", err)
		}
	}
	err = t.dir(fd, "")
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("write tar: %w", err)
	}
	return t.tw.Close()
}

type fileID struct{ dev, ino uint64 }

type tarWriter struct {
	tw    *tar.Writer
	o     TarOptions
	mnt   uint64
	links map[fileID]string // first name of each multiply-linked file
	buf   []byte
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
func (t *tarWriter) dir(fd int, rel string) error {
	names, err := readNames(fd)
	if err != nil {
		return fmt.Errorf("%s: %w", "/"+rel, err)
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

func (t *tarWriter) entry(pfd int, parent, name string) error {
	rel := path.Join(parent, name)
	var st unix.Stat_t
	if err := unix.Fstatat(pfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil // removed while we walk (a running container)
		}
		return fmt.Errorf("/%s: %w", rel, err)
	}
	if t.o.Skip != nil && st.Mode&unix.S_IFMT != unix.S_IFDIR && t.o.Skip(rel, st.Mode, st.Size) {
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
		if t.o.Overlay && st.Rdev == 0 {
			return t.write(whiteoutHeader(parent, whiteoutPrefix+name, hdr), nil)
		}
		hdr.Typeflag = tar.TypeChar
	case unix.S_IFBLK:
		hdr.Typeflag = tar.TypeBlock
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil // sockets have no tar form (docker skips them too)
	}
	return t.write(hdr, nil)
}

func header(rel string, st *unix.Stat_t) *tar.Header {
	mode := int64(st.Mode & 0o7777)
	return &tar.Header{
		Name: rel, Mode: mode, Uid: int(st.Uid), Gid: int(st.Gid), Format: tar.FormatPAX,
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

func (t *tarWriter) directory(pfd int, name, rel string, hdr *tar.Header) error {
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
	if t.o.Overlay && t.opaque(fd) {
		if err := t.write(whiteoutHeader(rel, whiteoutOpaque, hdr), nil); err != nil {
			return err
		}
	}
	if t.o.SameMount {
		if id, err := mountID(fd); err != nil || id != t.mnt {
			return nil
		}
	}
	return t.dir(fd, rel)
}

func (t *tarWriter) opaque(fd int) bool {
	attr := "trusted.overlay.opaque"
	if t.o.Rootless {
		attr = "user.overlay.opaque"
	}
	var v [8]byte
	n, err := unix.Fgetxattr(fd, attr, v[:])
	return err == nil && string(v[:n]) == "y"
}

func (t *tarWriter) regular(pfd int, name, rel string, hdr *tar.Header, st *unix.Stat_t) error {
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

// addXattrs records the xattrs a layer carries (file capabilities, user.*)
// but not overlay's own bookkeeping.
func (t *tarWriter) addXattrs(fd int, hdr *tar.Header) {
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz <= 0 {
		return
	}
	list := make([]byte, sz)
	if sz, err = unix.Flistxattr(fd, list); err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if !keepXattr(name) {
			continue
		}
		v := make([]byte, 64<<10)
		n, err := unix.Fgetxattr(fd, name, v)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+name] = string(v[:n])
	}
}

func keepXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "user.overlay."):
		return false
	case name == "security.selinux": // relabelled where it lands
		return false
	}
	return strings.HasPrefix(name, "security.") || strings.HasPrefix(name, "user.")
}

// write writes hdr and, for a regular file, exactly hdr.Size bytes of r:
// a file that shrank while being read is padded with zeros rather than
// leaving a torn archive.
func (t *tarWriter) write(hdr *tar.Header, r io.Reader) error {
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("/%s: %w", hdr.Name, err)
	}
	if r == nil || hdr.Size == 0 {
		return nil
	}
	n, err := io.CopyBuffer(t.tw, io.LimitReader(r, hdr.Size), t.buf)
	if err != nil {
		return fmt.Errorf("/%s: %w", hdr.Name, err)
	}
	for n < hdr.Size {
		k := min(int64(len(t.buf)), hdr.Size-n)
		clear(t.buf[:k])
		if _, err := t.tw.Write(t.buf[:k]); err != nil {
			return fmt.Errorf("/%s: %w", hdr.Name, err)
		}
		n += k
	}
	return nil
}

func readlinkat(pfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlinkat(pfd, name, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}
