package archive

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

// ExtractOptions say what differs between extracting an image layer
// (LayerOptions) and a docker cp into a container (the zero value but
// Chown for cp -a). What does not differ is the safety: see the package doc.
type ExtractOptions struct {
	// Whiteouts: the stream is an image layer: ".wh.NAME" becomes overlay's
	// whiteout, ".wh..wh..opq" an opaque mark, and AUFS bookkeeping is
	// dropped. Without it such names are ordinary files.
	Whiteouts bool
	// Rootless: extracting as an unprivileged user for a userxattr overlay:
	// opaque marks use user.overlay.opaque, and device nodes and privileged
	// xattrs the kernel refuses are skipped, as rootless docker does.
	Rootless bool
	// XattrWhiteouts (with Rootless): a whiteout is overlayfs's other form
	// (6.7+), an empty regular file with user.overlay.whiteout in a
	// directory marked user.overlay.opaque=x, for where mknod of a 0/0
	// character device is refused. Overlay reads this form in lower layers
	// only, which is what a stored layer is.
	XattrWhiteouts bool
	// Chown gives every entry the tar's owner (a layer extracted as root,
	// cp -a); without it what is extracted belongs to the extracting user.
	Chown bool
	// Xattrs sets the entries' SCHILY.xattr records (file capabilities).
	Xattrs bool
	// ReplaceDirs lets a non-directory entry replace a directory of its
	// name and all below it, as tar -x does and a layer may; without it that
	// is docker cp's error. A non-directory in the way of any entry is
	// always replaced, never written through.
	ReplaceDirs bool
	// RootAttrs lets a "./" entry give the destination itself its mode and
	// times (a layer's root); without it the destination keeps its own (cp).
	RootAttrs bool
}

// LayerOptions are those of an image layer extracted into the store (pull,
// import, load), owners kept: by root, or by a rootless skiff inside its
// user namespace (UserNSLayerOptions with 0/0 device whiteouts, which any
// user may make since Linux 5.8, older than native rootless overlay).
func LayerOptions(rootless bool) ExtractOptions {
	return ExtractOptions{Whiteouts: true, Rootless: rootless, Chown: true, Xattrs: true, ReplaceDirs: true, RootAttrs: true}
}

// UserNSLayerOptions are those of an image layer extracted inside the
// rootless user namespace (issue 20): the extractor is root there, so the
// tar's owners are kept for every id the namespace maps (an unmapped one
// is an error naming it and the mapped range); whiteouts take the form
// the rootless overlay probe found the kernel reads (xattrWhiteouts where
// mknod of a whiteout is refused).
func UserNSLayerOptions(xattrWhiteouts bool) ExtractOptions {
	o := LayerOptions(true)
	o.XattrWhiteouts = xattrWhiteouts
	return o
}

// maxCachedDirs bounds the dirfd cache well below any sane fd limit.
const maxCachedDirs = 1024

// ExtractDir extracts the uncompressed tar stream r into dir (see Extract).
func ExtractDir(r io.Reader, dir string, o ExtractOptions) (size int64, err error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return Extract(r, fd, o)
}

// Extract extracts the uncompressed tar stream r into the directory open
// as dirfd (O_PATH is enough). A hostile stream cannot write outside it:
// names with "..", writes through a symlink and hard links to outside fail
// with an error naming the entry. Extract reads r to its end (the caller
// may digest the whole stream) and returns the total size of the regular
// files.
func Extract(r io.Reader, dirfd int, o ExtractOptions) (size int64, err error) {
	root, err := openBeneath(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		return 0, fmt.Errorf("open destination: %w", err)
	}
	e := &extractor{
		o:         o,
		dirs:      map[string]int{"": root},
		buf:       make([]byte, 256<<10),
		uid:       os.Geteuid(),
		gid:       os.Getegid(),
		umask:     processUmask(),
		whiteouts: map[string][]string{},
	}
	defer e.close()
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return e.size, fmt.Errorf("reading tar: %w", err)
		}
		if err := e.entry(hdr, tr); err != nil {
			return e.size, err
		}
	}
	if err := e.finishDirs(); err != nil {
		return e.size, err
	}
	// The tar's zero padding after its end marker is the stream's too.
	if _, err := io.CopyBuffer(io.Discard, r, e.buf); err != nil {
		return e.size, fmt.Errorf("reading tar: %w", err)
	}
	return e.size, nil
}

type extractor struct {
	o        ExtractOptions
	dirs     map[string]int // destination-relative dir -> open fd; "" is the destination
	buf      []byte
	uid, gid int
	umask    uint32
	size     int64
	late     []dirMeta // applied after all contents, last seen last
	// whiteouts are the whiteouts made so far, by directory: an opaque
	// mark that comes after them in the layer removes them, as overlay
	// lists them in an opaque directory.
	whiteouts map[string][]string
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

// openBeneath is the extractor's one way to open: name beneath dirfd with
// no symlink, magic link or ".." escape followed on the way.
func openBeneath(dirfd int, name string, flags int, mode uint32) (int, error) {
	how := &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	}
	for {
		fd, err := unix.Openat2(dirfd, name, how)
		if err != unix.EINTR && err != unix.EAGAIN {
			return fd, err
		}
	}
}

// cleanName makes a tar name destination-relative. Leading slashes are
// dropped as tar and docker do; any ".." component is refused outright
// rather than reasoned about.
func cleanName(n string) (string, error) {
	rel := strings.TrimLeft(n, "/")
	for _, part := range strings.Split(rel, "/") {
		if part == ".." {
			return "", fmt.Errorf("%q: name contains \"..\": refusing to extract outside the destination", n)
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

// dirFD opens the destination-relative directory rel beneath its parent's
// fd, creating missing ones when create is set.
func (e *extractor) dirFD(rel string, create bool) (int, error) {
	if fd, ok := e.dirs[rel]; ok {
		return fd, nil
	}
	parent, base := split(rel)
	pfd, err := e.dirFD(parent, create)
	if err != nil {
		return -1, err
	}
	const flags = unix.O_RDONLY | unix.O_DIRECTORY
	fd, err := openBeneath(pfd, base, flags, 0)
	if err == unix.ENOENT && create {
		if err = unix.Mkdirat(pfd, base, 0o755); err == nil || err == unix.EEXIST {
			fd, err = openBeneath(pfd, base, flags, 0)
		}
	}
	if err == unix.ELOOP || err == unix.ENOTDIR || err == unix.EXDEV {
		return -1, fmt.Errorf("%s is a symlink or not a directory: refusing to write through it", rel)
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", rel, err)
	}
	e.dirs[rel] = fd
	return fd, nil
}

// trimCache empties the dirfd cache when full. It runs only between
// entries, so that no fd an entry holds is closed under it.
func (e *extractor) trimCache() {
	if len(e.dirs) >= maxCachedDirs {
		e.forget("")
	}
}

// forget drops cached fds for rel and everything below it (all but the
// destination's for ""), because what they point at is being replaced.
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
	e.trimCache()
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		if hdr.Typeflag == tar.TypeDir && e.o.RootAttrs {
			e.late = append(e.late, dirMeta{"", uint32(hdr.Mode) & 0o7777, hdr.AccessTime, hdr.ModTime})
		}
		return nil
	}
	parent, base := split(rel)
	if e.o.Whiteouts {
		if isAUFSMeta(rel) {
			return nil
		}
		if base == WhiteoutOpaque {
			return e.opaque(hdr, parent)
		}
		if name, ok := strings.CutPrefix(base, WhiteoutPrefix); ok {
			return e.whiteout(hdr, parent, name)
		}
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

// replace removes whatever non-directory is at base so a later entry of
// the same name wins, as with tar -x; a directory only with ReplaceDirs.
func (e *extractor) replace(pfd int, rel, base string) error {
	err := unix.Unlinkat(pfd, base, 0)
	if err == unix.EISDIR {
		if !e.o.ReplaceDirs {
			return fmt.Errorf("cannot overwrite a directory with a non-directory")
		}
		e.forgetDir(rel)
		err = os.RemoveAll(fmt.Sprintf("/proc/self/fd/%d/%s", pfd, base))
	}
	if err != nil && err != unix.ENOENT {
		return fmt.Errorf("replace existing entry: %w", err)
	}
	return nil
}

// forgetDir drops what the extractor holds of the directory rel, which is
// about to be removed: its cached fds and its pending mode and times.
func (e *extractor) forgetDir(rel string) {
	e.forget(rel)
	kept := e.late[:0]
	for _, d := range e.late {
		if d.name != rel && !strings.HasPrefix(d.name, rel+"/") {
			kept = append(kept, d)
		}
	}
	e.late = kept
}

// finishDirs gives directories their mode and times last, children before
// parents, so nothing written afterwards changes them.
func (e *extractor) finishDirs() error {
	for i := len(e.late) - 1; i >= 0; i-- {
		d := e.late[i]
		if err := e.finishDir(d); err != nil {
			return fmt.Errorf("%s: %w", d.name, err)
		}
	}
	return nil
}

func (e *extractor) finishDir(d dirMeta) error {
	e.trimCache()
	fd, err := e.dirFD(d.name, false)
	if err != nil {
		return err
	}
	if err := unix.Fchmod(fd, d.mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	pfd, base := e.dirs[""], "."
	if d.name != "" {
		parent, b := split(d.name)
		if pfd, err = e.dirFD(parent, false); err != nil {
			return err
		}
		base = b
	}
	return setTimesAt(pfd, base, d.atime, d.mtime)
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
