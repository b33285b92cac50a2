package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/state"
)

// CopyOptions are docker cp's flags.
type CopyOptions struct {
	// Archive (-a) keeps the source's uid/gid; otherwise a copy belongs to
	// whoever makes it (root in the container, the caller on the host).
	Archive bool
	// FollowLink (-L) copies what a symlink SRC points to, not the link.
	FollowLink bool
}

// A tree is where one side of a copy lives: the host (dirfd AT_FDCWD,
// paths resolved as the caller's) or a container (dirfd its root, every
// path resolved inside it with RESOLVE_IN_ROOT, CVE-2018-15664).
type tree struct {
	dirfd int
	name  string // for errors: "" host, else the container ref
}

func hostTree() tree { return tree{dirfd: unix.AT_FDCWD} }

func containerTree(rootfd int, ref string) tree {
	return tree{dirfd: rootfd, name: ref}
}

// open resolves p in the tree with flags (O_CLOEXEC added).
func (t tree) open(p string, flags int) (int, error) {
	var fd int
	var err error
	if t.name != "" {
		p = strings.TrimLeft(p, "/")
		if p == "" {
			p = "."
		}
		fd, err = rootfs.InRoot(t.dirfd, p, flags)
	} else {
		fd, err = unix.Openat2(t.dirfd, p, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC)})
	}
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return -1, &os.PathError{Op: "open", Path: t.show(p), Err: err}
	}
	return fd, nil
}

func (t tree) show(p string) string {
	if t.name == "" {
		return p
	}
	return t.name + ":/" + strings.TrimLeft(strings.TrimPrefix(p, "."), "/")
}

// CopyFromContainer copies ref's src to the host path dst, or writes it
// as a tar stream to w when dst is "-".
func (s Store) CopyFromContainer(ref, src, dst string, o CopyOptions, w io.Writer) error {
	c, err := s.Lookup(ref)
	if err != nil {
		return err
	}
	rootfd, release, err := s.openRootfs(c, true)
	if err != nil {
		return err
	}
	defer release()
	from := containerTree(rootfd, ref)
	obj, err := openSource(from, src, o.FollowLink)
	if err != nil {
		return err
	}
	defer obj.close()
	if c.Status != state.Running && c.Status != state.Paused {
		if err := obj.useGenerated(s.Root, c.ID); err != nil {
			return err
		}
	}
	if dst == "-" {
		return archive.Write(w, obj.fd, archive.WriteOptions{Rebase: obj.base})
	}
	return copySource(obj, hostTree(), dst, o)
}

// generatedInRoot are bind-mounted from the container's directory while
// it runs; a stopped container's overlay has only the image's (or empty
// mount targets), so a copy of one takes the container's own, as docker's.
var generatedInRoot = map[string]string{"/etc/hostname": "hostname", "/etc/hosts": "hosts", "/etc/resolv.conf": "resolv.conf"}

// useGenerated swaps s for the container's generated file when SRC
// resolved (inside the root) to one of their mount targets.
func (s *source) useGenerated(root, id string) error {
	if s.st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil
	}
	where, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", s.fd))
	name, ok := generatedInRoot[where]
	if err != nil || !ok {
		return nil
	}
	dir, err := state.Dir(root, id)
	if err != nil {
		return err
	}
	fd, err := unix.Open(filepath.Join(dir, name), unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return err
	}
	unix.Close(s.fd)
	s.fd, s.st = fd, st
	return nil
}

// CopyToContainer copies the host path src into ref at dst, or extracts
// the tar stream r into the directory dst when src is "-". A running
// container is written through its root (the writes land in its upper
// dir); a stopped one through its overlay mounted writable, under its lock
// so that it cannot start meanwhile.
func (s Store) CopyToContainer(ref, src, dst string, o CopyOptions, r io.Reader) error {
	c, err := s.Lookup(ref)
	if err != nil {
		return err
	}
	l, err := state.LockContainer(s.RunRoot, c.ID)
	if err != nil {
		return err
	}
	defer l.Unlock()
	if c, err = s.settledForCopy(c.ID); err != nil {
		return err
	}
	if err := writableAt(c, dst); err != nil {
		return err
	}
	rootfd, release, err := s.openWritable(c)
	if err != nil {
		return err
	}
	defer release()
	to := containerTree(rootfd, ref)
	if src == "-" {
		fd, err := to.open(dst, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			if errors.Is(err, unix.ENOTDIR) {
				return fmt.Errorf("destination %q must be a directory", to.show(dst))
			}
			return err
		}
		defer unix.Close(fd)
		_, err = archive.Extract(r, fd, archive.ExtractOptions{Chown: o.Archive})
		return err
	}
	return copyTree(hostTree(), src, to, dst, o)
}

// Docker's refusals of a copy into a read-only place.
var (
	errVolumeReadonly = errors.New("mounted volume is marked read-only")
	errRootfsReadonly = errors.New("container rootfs is marked read-only")
)

// writableAt checks, as docker's daemon does before a copy, that the
// container path dst is writable: inside a mount, the deepest one holding
// it must be read-write; elsewhere the root must not be read-only
// (--read-only).
func writableAt(c *state.Container, dst string) error {
	p := path.Clean("/" + dst)
	var in *state.Mount
	for i, m := range c.Host.Mounts {
		d := path.Clean("/" + m.Destination)
		if (p == d || strings.HasPrefix(p, d+"/")) && (in == nil || len(d) >= len(path.Clean("/"+in.Destination))) {
			in = &c.Host.Mounts[i]
		}
	}
	switch {
	case in != nil && in.ReadOnly:
		return errVolumeReadonly
	case in == nil && c.Host.ReadonlyRootfs:
		return errRootfsReadonly
	}
	return nil
}

// settledForCopy is id's record once it is not between states: a start
// releases the container lock before its monitor mounts the overlay, and
// a second writable mount of the same upper dir is what overlay forbids.
func (s Store) settledForCopy(id string) (*state.Container, error) {
	deadline := time.Now().Add(2 * time.Second)
	for {
		c, err := s.Lookup(id)
		if err != nil {
			return nil, err
		}
		starting := c.Status != state.Running && c.Status != state.Paused && state.MonitorAlive(s.RunRoot, c.ID)
		if !starting {
			return c, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("container %s is starting or stopping: try again", shortid.Of(c.ID))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s Store) openWritable(c *state.Container) (int, func(), error) {
	if c.Status == state.Running || c.Status == state.Paused || c.Status == state.Restarting {
		fd, release, err := s.OpenRootfs(c)
		if err != nil || c.Status != state.Restarting {
			return fd, release, err
		}
		// A restarting container has no process to take the root of:
		// OpenRootfs gave a read-only view, useless here.
		release()
		return -1, nil, fmt.Errorf("container %s is restarting: wait for it to run or stop it", shortid.Of(c.ID))
	}
	return s.OpenMounted(c, true)
}

// copyTree copies src of one tree to dst of another with docker's path
// rules, as a tar stream from a walker to an extractor.
func copyTree(from tree, src string, to tree, dst string, o CopyOptions) error {
	s, err := openSource(from, src, o.FollowLink)
	if err != nil {
		return err
	}
	defer s.close()
	return copySource(s, to, dst, o)
}

func copySource(s *source, to tree, dst string, o CopyOptions) error {
	d, err := statDest(to, dst)
	if err != nil {
		return err
	}
	dir, rebase, err := plan(s.info(), d)
	if err != nil {
		return err
	}
	dirfd, err := to.open(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return err
	}
	defer unix.Close(dirfd)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := archive.Write(pw, s.fd, archive.WriteOptions{Rebase: rebase})
		pw.CloseWithError(err)
		done <- err
	}()
	_, err = archive.Extract(pr, dirfd, archive.ExtractOptions{Chown: o.Archive})
	pr.CloseWithError(errors.New("extraction stopped"))
	if werr := <-done; err == nil || errors.Is(err, io.ErrClosedPipe) {
		if werr != nil {
			return werr
		}
	}
	return err
}

// source is an opened SRC: fd is an O_PATH fd on the object itself (the
// link when not following one), so nothing is resolved again by name.
type source struct {
	fd       int
	st       unix.Stat_t
	base     string
	contents bool // SRC ended in "/.": copy what the dir holds, not the dir
}

func (s *source) close() { unix.Close(s.fd) }

func (s *source) isDir() bool { return s.st.Mode&unix.S_IFMT == unix.S_IFDIR }

func (s *source) info() srcInfo { return srcInfo{IsDir: s.isDir(), Contents: s.contents, Base: s.base} }

func openSource(t tree, p string, follow bool) (*source, error) {
	if p == "" {
		return nil, errors.New("source path is empty")
	}
	flags := unix.O_PATH
	// A trailing "/" or "/." asks for a directory: the kernel follows a
	// link there whatever O_NOFOLLOW says, as docker does.
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := t.open(p, flags)
	if errors.Is(err, unix.ENOENT) && t.name != "" {
		return nil, fmt.Errorf("could not find the file %s in container %s", p, t.name)
	}
	if err != nil {
		return nil, err
	}
	s := &source{fd: fd, base: baseName(p), contents: strings.HasSuffix(p, "/.") || p == "." || path.Clean("/"+p) == "/"}
	if err := unix.Fstat(fd, &s.st); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "stat", Path: t.show(p), Err: err}
	}
	return s, nil
}

// baseName is the name a copied SRC gets: its last element ("." for /).
func baseName(p string) string {
	b := path.Base(path.Clean("/" + p))
	if b == "/" {
		return "."
	}
	return b
}

// srcInfo and dstInfo are what docker's path rules look at.
type srcInfo struct {
	IsDir    bool
	Contents bool // SRC ended in "/."
	Base     string
}

type dstInfo struct {
	Path     string
	Exists   bool
	IsDir    bool
	DirSlash bool // DEST ended in "/": it must be a directory
}

func statDest(t tree, p string) (dstInfo, error) {
	d := dstInfo{Path: p, DirSlash: strings.HasSuffix(p, "/")}
	fd, err := t.open(p, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return d, nil
	}
	if err != nil {
		return d, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return d, err
	}
	d.Exists, d.IsDir = true, st.Mode&unix.S_IFMT == unix.S_IFDIR
	return d, nil
}

// plan applies docker cp's rules: it returns the directory to extract into
// and the name the source root gets there ("" when only its contents go).
func plan(s srcInfo, d dstInfo) (dir, rebase string, err error) {
	switch {
	case d.Exists && d.IsDir:
		if s.IsDir && s.Contents {
			return d.Path, "", nil
		}
		return d.Path, s.Base, nil
	case d.Exists && s.IsDir:
		return "", "", fmt.Errorf("cannot copy a directory to the file %s", d.Path)
	case d.Exists && d.DirSlash:
		return "", "", fmt.Errorf("%s is not a directory", d.Path)
	case !d.Exists && d.DirSlash && !s.IsDir:
		return "", "", fmt.Errorf("destination directory %s does not exist", d.Path)
	}
	clean := strings.TrimRight(d.Path, "/")
	if clean == "" {
		clean = "/"
	}
	parent, base := path.Split(clean)
	if parent == "" {
		parent = "."
	}
	return parent, base, nil
}
