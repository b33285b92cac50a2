package run

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

// writeTar writes s as a tar stream whose root entry is named rebase (""
// leaves the root entry out: only what the directory holds is copied).
// Directories are walked by fd with O_NOFOLLOW: a symlink inside SRC is
// copied as a link and never followed, whoever swaps it in meanwhile.
func writeTar(w io.Writer, s *source, rebase string) error {
	tw := &tarWalker{Writer: tar.NewWriter(w), links: map[[2]uint64]string{}}
	if err := tw.object(s.fd, &s.st, rebase); err != nil {
		return err
	}
	return tw.Close()
}

// tarWalker writes a tree; links remembers the first name of every
// multiply linked file, so later names become hard links, as docker's.
type tarWalker struct {
	*tar.Writer
	links map[[2]uint64]string
}

// object writes the object open as O_PATH fd (whose stat is st) named
// name, and a directory's contents below it.
func (tw *tarWalker) object(fd int, st *unix.Stat_t, name string) error {
	if name != "" {
		hdr, err := tarHeader(fd, st, name)
		if err != nil {
			return err
		}
		if hdr == nil {
			return nil // a socket: docker skips them too
		}
		if hdr.Typeflag == tar.TypeReg && st.Nlink > 1 {
			key := [2]uint64{st.Dev, st.Ino}
			if first, ok := tw.links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				tw.links[key] = name
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			return copyFileContents(tw, fd, hdr.Size)
		}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || kernelFS(fd) {
		return nil
	}
	return tw.dir(fd, name)
}

// kernelFS reports a running container's /proc, /sys and the like: they
// are copied as empty directories, as docker (which reads the container's
// own filesystem, not its mounts) shows them; their files are the
// kernel's, not the container's, and /proc never ends.
func kernelFS(fd int) bool {
	var fs unix.Statfs_t
	if unix.Fstatfs(fd, &fs) != nil {
		return false
	}
	switch fs.Type {
	case unix.PROC_SUPER_MAGIC, unix.SYSFS_MAGIC, unix.CGROUP_SUPER_MAGIC, unix.CGROUP2_SUPER_MAGIC,
		unix.DEVPTS_SUPER_MAGIC, unix.SECURITYFS_MAGIC, unix.DEBUGFS_MAGIC:
		return true
	}
	return false
}

func tarHeader(fd int, st *unix.Stat_t, name string) (*tar.Header, error) {
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(st.Mode & 0o7777),
		Uid:     int(st.Uid),
		Gid:     int(st.Gid),
		ModTime: time.Unix(st.Mtim.Unix()),
		Format:  tar.FormatPAX,
	}
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
	case unix.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, name+"/"
	case unix.S_IFLNK:
		buf := make([]byte, unix.PathMax)
		n, err := unix.Readlinkat(fd, "", buf)
		if err != nil {
			return nil, fmt.Errorf("readlink %s: %w", name, err)
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, string(buf[:n])
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if st.Mode&unix.S_IFMT == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	default:
		return nil, nil
	}
	return hdr, nil
}

// copyFileContents reopens the O_PATH fd for reading (through our own
// /proc/self/fd, which names this exact inode) and copies size bytes.
func copyFileContents(w io.Writer, fd int, size int64) error {
	f, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", fd), os.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err == nil && n < size {
		// The file shrank while we read it: pad, as tar needs size bytes.
		_, err = io.CopyN(w, zeroReader{}, size-n)
	}
	return err
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// dir writes the entries of the directory open as O_PATH fd dirfd.
func (tw *tarWalker) dir(dirfd int, name string) error {
	rd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	f := os.NewFile(uintptr(rd), name)
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	sort.Strings(names)
	for _, n := range names {
		fd, err := unix.Openat(dirfd, n, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // removed since we listed it
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", path.Join(name, n), err)
		}
		var st unix.Stat_t
		err = unix.Fstat(fd, &st)
		if err == nil {
			err = tw.object(fd, &st, path.Join(name, n))
		}
		unix.Close(fd)
		if err != nil {
			return err
		}
	}
	return nil
}

// extractTar unpacks r into the directory open as dirfd. Every entry is
// created relative to its parent's fd, the parent reached beneath dirfd
// with no symlink followed (RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS), and an
// existing non-directory in the way is replaced, not written through: a
// link planted at the destination never redirects the copy.
func extractTar(r io.Reader, dirfd int, o CopyOptions) error {
	x := &extractor{root: dirfd, o: o, root0: os.Geteuid() == 0}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		if err := x.entry(hdr, tr); err != nil {
			return err
		}
	}
	return x.finishDirs()
}

type extractor struct {
	root  int
	o     CopyOptions
	root0 bool
	dirs  []*tar.Header // their mode and times are set last, deepest first
}

// cleanEntry makes a tar name relative beneath the destination, or says
// it is not ("../x").
func cleanEntry(name string) (string, error) {
	c := path.Clean("/" + name)
	if c == "/" {
		return ".", nil
	}
	for _, p := range strings.Split(name, "/") {
		if p == ".." {
			return "", fmt.Errorf("tar entry %q leaves the destination", name)
		}
	}
	return strings.TrimPrefix(c, "/"), nil
}

func (x *extractor) beneath(rel string, flags int) (int, error) {
	return unix.Openat2(x.root, rel, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
}

// parent opens rel's directory, creating missing ones (a tar stream need
// not list every directory).
func (x *extractor) parent(rel string) (int, error) {
	dir := path.Dir(rel)
	fd, err := x.beneath(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) || dir == "." {
		return fd, err
	}
	pfd, err := x.parent(dir)
	if err != nil {
		return -1, err
	}
	err = unix.Mkdirat(pfd, path.Base(dir), 0o755)
	unix.Close(pfd)
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, err
	}
	return x.beneath(dir, unix.O_PATH|unix.O_DIRECTORY)
}

func (x *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanEntry(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "." {
		return nil // the destination itself keeps its owner and mode
	}
	pfd, err := x.parent(rel)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	defer unix.Close(pfd)
	if err := x.create(hdr, pfd, rel, r); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	return nil
}

func (x *extractor) create(hdr *tar.Header, pfd int, rel string, r io.Reader) error {
	base := path.Base(rel)
	if err := x.clear(pfd, base, hdr.Typeflag == tar.TypeDir); err != nil {
		return err
	}
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = unix.Mkdirat(pfd, base, 0o700)
		if errors.Is(err, unix.EEXIST) {
			err = nil
		}
		x.dirs = append(x.dirs, &tar.Header{Name: rel, Mode: hdr.Mode, Uid: hdr.Uid, Gid: hdr.Gid, ModTime: hdr.ModTime})
		return err
	case tar.TypeReg, tar.TypeRegA:
		return x.file(hdr, pfd, base, r)
	case tar.TypeSymlink:
		err = unix.Symlinkat(hdr.Linkname, pfd, base)
	case tar.TypeLink:
		err = x.hardlink(hdr, pfd, base)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = x.mknod(hdr, pfd, base)
	default:
		return nil // pax globals and the like carry no file
	}
	if err != nil {
		return err
	}
	return x.finish(hdr, pfd, base)
}

// clear removes a non-directory in the way of a new entry (docker's
// rule), so that a symlink or hard link there is replaced, not written
// through; a directory stays for a directory and is an error otherwise.
func (x *extractor) clear(pfd int, base string, dir bool) error {
	var st unix.Stat_t
	err := unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		if dir {
			return nil
		}
		return errors.New("cannot overwrite a directory with a non-directory")
	}
	return unix.Unlinkat(pfd, base, 0)
}

func (x *extractor) file(hdr *tar.Header, pfd int, base string, r io.Reader) error {
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), base)
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		return err
	}
	if x.o.Archive {
		if err := f.Chown(hdr.Uid, hdr.Gid); err != nil {
			return err
		}
	}
	// After chown, which clears setuid bits.
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	return setTimesAt(pfd, base, hdr.ModTime)
}

// hardlink links to an entry already extracted beneath the destination.
func (x *extractor) hardlink(hdr *tar.Header, pfd int, base string) error {
	target, err := cleanEntry(hdr.Linkname)
	if err != nil || target == "." {
		return fmt.Errorf("hard link to %q: outside the copy", hdr.Linkname)
	}
	tfd, err := x.beneath(path.Dir(target), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	return unix.Linkat(tfd, path.Base(target), pfd, base, 0)
}

func (x *extractor) mknod(hdr *tar.Header, pfd int, base string) error {
	mode := uint32(unix.S_IFIFO)
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode = unix.S_IFCHR
	case tar.TypeBlock:
		mode = unix.S_IFBLK
	}
	return unix.Mknodat(pfd, base, mode|uint32(hdr.Mode&0o777), int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))))
}

// finish sets owner, mode and times of a link or node without following it.
func (x *extractor) finish(hdr *tar.Header, pfd int, base string) error {
	if x.o.Archive {
		if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return err
		}
	}
	if hdr.Typeflag != tar.TypeSymlink && hdr.Typeflag != tar.TypeLink {
		if err := unix.Fchmodat(pfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
	}
	if hdr.Typeflag == tar.TypeLink {
		return nil
	}
	return setTimesAt(pfd, base, hdr.ModTime)
}

// finishDirs sets directories' owner, mode and times once their contents
// stop changing them, deepest first.
func (x *extractor) finishDirs() error {
	for i := len(x.dirs) - 1; i >= 0; i-- {
		h := x.dirs[i]
		rel, _ := cleanEntry(h.Name)
		fd, err := x.beneath(rel, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
		err = x.finishDir(fd, h)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("%s: %w", h.Name, err)
		}
	}
	return nil
}

func (x *extractor) finishDir(fd int, h *tar.Header) error {
	if x.o.Archive {
		if err := unix.Fchown(fd, h.Uid, h.Gid); err != nil {
			return err
		}
	}
	if err := unix.Fchmod(fd, uint32(h.Mode&0o7777)); err != nil {
		return err
	}
	if h.ModTime.IsZero() {
		return nil
	}
	tv := unix.NsecToTimeval(h.ModTime.UnixNano())
	return unix.Futimes(fd, []unix.Timeval{tv, tv})
}

// setTimesAt gives base in pfd mtime (and atime) m, not following a link;
// a tar entry without a time keeps the time of its making.
func setTimesAt(pfd int, base string, m time.Time) error {
	if m.IsZero() {
		return nil
	}
	ts := unix.NsecToTimespec(m.UnixNano())
	return unix.UtimesNanoAt(pfd, base, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
