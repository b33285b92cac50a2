package fs

import (
	"archive/tar"
	"bufio"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// OCI whiteout names (image-spec layer.md): ".wh.NAME" hides NAME of lower
// layers, ".wh..wh..opq" hides everything below its directory.
const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// aufsMetaPrefix marks AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs) that
// old docker layers carry; like docker we drop it rather than extract it.
const aufsMetaPrefix = ".wh..wh."

// aufsMeta reports whether rel is, or is inside, AUFS bookkeeping.
func aufsMeta(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, aufsMetaPrefix) && part != whiteoutOpaque {
			return true
		}
	}
	return false
}

// maxCachedDirs bounds the dirfd cache well below any sane fd limit.
const maxCachedDirs = 1024

// ExtractLayer extracts a layer's uncompressed tar stream into dir (which
// must exist), turning OCI whiteouts into overlay ones. Every entry is
// resolved beneath dir one component at a time without following symlinks,
// so a hostile layer cannot write outside dir: names with "..", writes
// through a symlink and hardlinks to outside are rejected with an error
// naming the entry. It reads r to its end and returns the total size of the
// regular files.
func ExtractLayer(r io.Reader, dir string, o ExtractOptions) (size int64, err error) {
	root, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("extract layer: open %s: %w", dir, err)
	}
	e := &extractor{
		o:     o,
		root:  root,
		dirs:  map[string]int{"": root},
		buf:   make([]byte, 256<<10),
		uid:   os.Geteuid(),
		gid:   os.Getegid(),
		umask: processUmask(),
	}
	defer e.close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return e.size, fmt.Errorf("extract layer: reading tar: %w", err)
		}
		if err := e.entry(hdr, tr); err != nil {
			return e.size, fmt.Errorf("extract layer: %w", err)
		}
	}
	if err := e.finishDirs(); err != nil {
		return e.size, fmt.Errorf("extract layer: %w", err)
	}
	// The caller digests the whole stream: the tar's zero padding after the
	// end marker belongs to it too.
	if _, err := io.CopyBuffer(io.Discard, r, e.buf); err != nil {
		return e.size, fmt.Errorf("extract layer: reading tar: %w", err)
	}
	return e.size, nil
}

type extractor struct {
	o        ExtractOptions
	root     int
	dirs     map[string]int // layer-relative dir -> open fd; "" is root
	buf      []byte
	uid, gid int
	umask    uint32
	size     int64
	late     []dirMeta // applied after all contents, deepest last-seen first
}

// dirMeta is what a directory gets once its contents stop changing it.
type dirMeta struct {
	name  string
	mode  uint32
	atime time.Time
	mtime time.Time
}

func (e *extractor) close() {
	for _, fd := range e.dirs {
		unix.Close(fd)
	}
}

// cleanName makes a tar name layer-relative. Leading slashes are dropped as
// tar and docker do; any ".." component is refused outright rather than
// reasoned about.
func cleanName(n string) (string, error) {
	rel := strings.TrimLeft(n, "/")
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", fmt.Errorf("%q: name contains \"..\": refusing to extract outside the layer", n)
		}
	}
	rel = path.Clean(rel)
	if rel == "." {
		rel = ""
	}
	return rel, nil
}

func split(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

// dirFD opens the layer-relative directory rel, one component at a time
// with O_NOFOLLOW, creating missing ones when create is set.
func (e *extractor) dirFD(rel string, create bool) (int, error) {
	if fd, ok := e.dirs[rel]; ok {
		return fd, nil
	}
	parent, base := split(rel)
	pfd, err := e.dirFD(parent, create)
	if err != nil {
		return -1, err
	}
	fd, err := openDir(pfd, base)
	if err == unix.ENOENT && create {
		if err = unix.Mkdirat(pfd, base, 0o755); err == nil || err == unix.EEXIST {
			fd, err = openDir(pfd, base)
		}
	}
	if err == unix.ELOOP || err == unix.ENOTDIR {
		return -1, fmt.Errorf("%s is a symlink or not a directory: refusing to write through it", rel)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", rel, err)
	}
	if len(e.dirs) >= maxCachedDirs {
		e.forget("")
	}
	e.dirs[rel] = fd
	return fd, nil
}

func openDir(pfd int, base string) (int, error) {
	for {
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// forget drops cached fds for rel and everything below it (all but the
// root for ""), because what they point at is being replaced.
func (e *extractor) forget(rel string) {
	for k, fd := range e.dirs {
		if k == "" {
			continue
		}
		if rel == "" || k == rel || strings.HasPrefix(k, rel+"/") {
			unix.Close(fd)
			delete(e.dirs, k)
		}
	}
}

// entry extracts one tar entry.
func (e *extractor) entry(hdr *tar.Header, r io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir {
			e.late = append(e.late, dirMeta{"", uint32(hdr.Mode) & 0o7777, hdr.AccessTime, hdr.ModTime})
		}
		return nil
	}
	parent, base := split(rel)
	if aufsMeta(rel) {
		return nil
	}
	if base == whiteoutOpaque {
		return e.opaque(hdr, parent)
	}
	if strings.HasPrefix(base, whiteoutPrefix) {
		return e.whiteout(hdr, parent, strings.TrimPrefix(base, whiteoutPrefix))
	}
	pfd, err := e.dirFD(parent, true)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		err = e.mkdir(hdr, pfd, rel, base)
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		err = e.file(hdr, r, pfd, rel, base)
	case tar.TypeSymlink:
		err = e.symlink(hdr, pfd, rel, base)
	case tar.TypeLink:
		err = e.hardlink(hdr, pfd, rel, base)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		err = e.mknod(hdr, pfd, rel, base)
	case tar.TypeXGlobalHeader:
		return nil
	default:
		err = fmt.Errorf("unsupported tar entry type %q", hdr.Typeflag)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	return nil
}

// replace removes whatever is at base so a later entry of the same name
// wins, as with tar -x.
func (e *extractor) replace(pfd int, rel, base string) error {
	e.forget(rel)
	err := unix.Unlinkat(pfd, base, 0)
	if err == unix.EISDIR {
		err = os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base))
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return nil
}

func (e *extractor) mkdir(hdr *tar.Header, pfd int, rel, base string) error {
	mode := uint32(hdr.Mode) & 0o7777
	err := unix.Mkdirat(pfd, base, 0o700)
	if err == unix.EEXIST {
		var st unix.Stat_t
		if err = unix.Fstatat(pfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			if err = e.replace(pfd, rel, base); err == nil {
				err = unix.Mkdirat(pfd, base, 0o700)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("mkdir: %w", err)
	}
	if err := e.chown(hdr, pfd, base); err != nil {
		return err
	}
	if len(xattrs(hdr)) > 0 {
		fd, err := e.dirFD(rel, false)
		if err != nil {
			return err
		}
		if err := e.setXattrs(hdr, fd, -1, ""); err != nil {
			return err
		}
	}
	// Mode and times wait until the contents are in: a read-only dir could
	// not take them (rootless), and each entry would bump the mtime.
	e.late = append(e.late, dirMeta{rel, mode, hdr.AccessTime, hdr.ModTime})
	return nil
}

func (e *extractor) file(hdr *tar.Header, r io.Reader, pfd int, rel, base string) error {
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	mode := uint32(hdr.Mode) & 0o7777
	fd, err := unix.Openat(pfd, base, flags, mode)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, base); err == nil {
			fd, err = unix.Openat(pfd, base, flags, mode)
		}
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer unix.Close(fd)
	n, err := e.copy(fd, r)
	e.size += n
	if err != nil {
		return err
	}
	if err := e.chownFD(hdr, fd); err != nil {
		return err
	}
	// open applied the mode less the umask; chown clears setuid/setgid.
	if mode&e.umask != 0 || (e.chownNeeded(hdr) && mode&0o6000 != 0) {
		if err := unix.Fchmod(fd, mode); err != nil {
			return fmt.Errorf("chmod: %w", err)
		}
	}
	if err := e.setXattrs(hdr, fd, -1, ""); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// copy writes r to fd with the extractor's buffer; no fsync, the layer is
// published by a rename and a crash leaves only a temp dir to sweep.
func (e *extractor) copy(fd int, r io.Reader) (int64, error) {
	var total int64
	for {
		n, rerr := r.Read(e.buf)
		for off := 0; off < n; {
			w, err := unix.Write(fd, e.buf[off:n])
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return total, fmt.Errorf("write: %w", err)
			}
			off += w
		}
		total += int64(n)
		if rerr == io.EOF {
			return total, nil
		}
		if rerr != nil {
			return total, fmt.Errorf("reading tar: %w", rerr)
		}
	}
}

func (e *extractor) symlink(hdr *tar.Header, pfd int, rel, base string) error {
	// The target is stored as given, even when absolute or outside: it is
	// resolved inside the container's root at run time. Only writing
	// through it while extracting would be an escape, and dirFD refuses that.
	err := unix.Symlinkat(hdr.Linkname, pfd, base)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, base); err == nil {
			err = unix.Symlinkat(hdr.Linkname, pfd, base)
		}
	}
	if err != nil {
		return fmt.Errorf("symlink: %w", err)
	}
	if err := e.chown(hdr, pfd, base); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

func (e *extractor) hardlink(hdr *tar.Header, pfd int, rel, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %w", err)
	}
	if target == "" || target == rel {
		return fmt.Errorf("hardlink to %q: target must be another entry of the layer", hdr.Linkname)
	}
	tparent, tbase := split(target)
	tpfd, err := e.dirFD(tparent, false)
	if err != nil {
		return fmt.Errorf("hardlink target %q: %w", hdr.Linkname, err)
	}
	// flags 0: a target that is a symlink is linked itself, never followed.
	err = unix.Linkat(tpfd, tbase, pfd, base, 0)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, base); err == nil {
			err = unix.Linkat(tpfd, tbase, pfd, base, 0)
		}
	}
	if err != nil {
		return fmt.Errorf("hardlink to %q: %w", hdr.Linkname, err)
	}
	return nil
}

func (e *extractor) mknod(hdr *tar.Header, pfd int, rel, base string) error {
	mode := uint32(hdr.Mode) & 0o7777
	switch hdr.Typeflag {
	case tar.TypeChar:
		mode |= unix.S_IFCHR
	case tar.TypeBlock:
		mode |= unix.S_IFBLK
	default:
		mode |= unix.S_IFIFO
	}
	dev := int(unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor)))
	err := unix.Mknodat(pfd, base, mode, dev)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, base); err == nil {
			err = unix.Mknodat(pfd, base, mode, dev)
		}
	}
	if err == unix.EPERM && e.o.Rootless && hdr.Typeflag != tar.TypeFifo {
		return nil // as rootless docker: devices come from the runtime's /dev
	}
	if err != nil {
		return fmt.Errorf("mknod: %w", err)
	}
	if err := e.chown(hdr, pfd, base); err != nil {
		return err
	}
	if err := unix.Fchmodat(pfd, base, mode&0o7777, 0); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := e.setXattrs(hdr, -1, pfd, base); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// whiteout turns ".wh.NAME" into overlay's whiteout: a 0/0 char device.
func (e *extractor) whiteout(hdr *tar.Header, parent, name string) error {
	if name == "" || name == "." {
		return fmt.Errorf("%s: whiteout names nothing", hdr.Name)
	}
	pfd, err := e.dirFD(parent, true)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	rel := path.Join(parent, name)
	err = unix.Mknodat(pfd, name, unix.S_IFCHR, 0)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, name); err == nil {
			err = unix.Mknodat(pfd, name, unix.S_IFCHR, 0)
		}
	}
	if err != nil {
		return fmt.Errorf("%s: whiteout: %w", hdr.Name, err)
	}
	if err := e.chown(hdr, pfd, name); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	return nil
}

// opaque marks parent so overlay hides the lower layers' contents of it.
func (e *extractor) opaque(hdr *tar.Header, parent string) error {
	fd, err := e.dirFD(parent, true)
	if err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	attr := "trusted.overlay.opaque"
	if e.o.Rootless {
		attr = "user.overlay.opaque"
	}
	if err := unix.Fsetxattr(fd, attr, []byte("y"), 0); err != nil {
		return fmt.Errorf("%s: set %s: %w", hdr.Name, attr, err)
	}
	return nil
}

// chownNeeded skips the syscall when the owner is already ours: as root
// extracting a root-owned image, that is almost every entry.
func (e *extractor) chownNeeded(hdr *tar.Header) bool {
	return !e.o.Rootless && (hdr.Uid != e.uid || hdr.Gid != e.gid)
}

func (e *extractor) chown(hdr *tar.Header, pfd int, base string) error {
	if !e.chownNeeded(hdr) {
		return nil
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

func (e *extractor) chownFD(hdr *tar.Header, fd int) error {
	if !e.chownNeeded(hdr) {
		return nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
	}
	return nil
}

// xattrs are PAX SCHILY.xattr.* records (Header.Xattrs is their old view).
func xattrs(hdr *tar.Header) map[string]string {
	var m map[string]string
	for k, v := range hdr.PAXRecords {
		if name, ok := strings.CutPrefix(k, "SCHILY.xattr."); ok {
			if m == nil {
				m = map[string]string{}
			}
			m[name] = v
		}
	}
	return m
}

// setXattrs sets an entry's xattrs on fd, or else on base under pfd
// without following a final symlink.
func (e *extractor) setXattrs(hdr *tar.Header, fd, pfd int, base string) error {
	for name, v := range xattrs(hdr) {
		var err error
		if fd >= 0 {
			err = unix.Fsetxattr(fd, name, []byte(v), 0)
		} else {
			err = unix.Lsetxattr(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base), name, []byte(v), 0)
		}
		if err != nil && e.o.Rootless && !strings.HasPrefix(name, "user.") {
			continue // the kernel keeps trusted.* and security.* from us
		}
		if err != nil {
			return fmt.Errorf("set xattr %s: %w", name, err)
		}
	}
	return nil
}

func setTimes(pfd int, base string, hdr *tar.Header) error {
	return setTimesAt(pfd, base, hdr.AccessTime, hdr.ModTime)
}

func setTimesAt(pfd int, base string, atime, mtime time.Time) error {
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}

// finishDirs gives directories their mode and times last, children before
// parents, so nothing written afterwards changes them.
func (e *extractor) finishDirs() error {
	for i := len(e.late) - 1; i >= 0; i-- {
		d := e.late[i]
		pfd, base := e.root, "."
		if d.name != "" {
			parent, b := split(d.name)
			fd, err := e.dirFD(parent, false)
			if err != nil {
				return fmt.Errorf("%s: %w", d.name, err)
			}
			pfd, base = fd, b
		}
		if err := unix.Fchmodat(pfd, base, d.mode, 0); err != nil {
			return fmt.Errorf("%s: chmod: %w", d.name, err)
		}
		if err := setTimesAt(pfd, base, d.atime, d.mtime); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return nil
}

var umaskOnce struct {
	sync.Once
	v uint32
}

// processUmask reads the umask from /proc rather than by setting it, which
// would race with files other goroutines create meanwhile.
func processUmask() uint32 {
	umaskOnce.Do(func() {
		umaskOnce.v = 0o022
		f, err := os.Open("/proc/self/status")
		if err != nil {
			return
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
				if n, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
					umaskOnce.v = uint32(n)
				}
				return
			}
		}
	})
	return umaskOnce.v
}
