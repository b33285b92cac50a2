package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds symlink expansion as the kernel's MAXSYMLINKS does.
const maxSymlinks = 40

// SecureJoin resolves unsafePath (absolute or not) inside root as if root
// were "/": every symlink is expanded lexically against root, ".." stops at
// root, and missing components are kept as they are, so the result names
// where the path would be created. The result is an absolute path inside
// root ("/etc/hosts"), never a host path.
func SecureJoin(root, unsafePath string) (string, error) {
	var resolved []string
	pending := splitPath(unsafePath)
	links := 0
	for len(pending) > 0 {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(resolved) > 0 {
				resolved = resolved[:len(resolved)-1]
			}
			continue
		}
		host := filepath.Join(root, filepath.Join(resolved...), c)
		fi, err := os.Lstat(host)
		if errors.Is(err, os.ErrNotExist) || (err == nil && fi.Mode()&os.ModeSymlink == 0) {
			resolved = append(resolved, c)
			continue
		}
		if err != nil {
			return "", fmt.Errorf("resolve %s in %s: %w", unsafePath, root, err)
		}
		if links++; links > maxSymlinks {
			return "", fmt.Errorf("resolve %s in %s: %w", unsafePath, root, unix.ELOOP)
		}
		dest, err := os.Readlink(host)
		if err != nil {
			return "", fmt.Errorf("resolve %s in %s: %w", unsafePath, root, err)
		}
		if filepath.IsAbs(dest) {
			resolved = resolved[:0]
		}
		pending = append(splitPath(dest), pending...)
	}
	return "/" + strings.Join(resolved, "/"), nil
}

func splitPath(p string) []string { return strings.Split(p, "/") }

// Kind says what OpenInRoot creates when the path's last element is missing.
type Kind int

const (
	MustExist Kind = iota // missing is an error
	Dir                   // create a directory (0755)
	File                  // create an empty regular file (0644), e.g. a bind target
)

// inRoot is how every lookup under a container root is done: the kernel
// treats root as "/" for "..", absolute symlinks and mount crossings, so no
// hostile image symlink (/etc -> /host) can make us touch a host path.
var inRoot = unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS

// OpenInRoot opens path inside the directory root with O_PATH, creating
// missing parents as directories and the last element as kind says. The fd
// is O_CLOEXEC; mount onto it through /proc/self/fd/N.
func OpenInRoot(root, path string, kind Kind) (int, error) {
	rootfd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", root, err)
	}
	defer unix.Close(rootfd)
	clean, err := SecureJoin(root, path)
	if err != nil {
		return -1, err
	}
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	if clean == "/" {
		parts = nil
	}
	dir, err := openat2(rootfd, ".", &unix.OpenHow{Flags: unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC, Resolve: uint64(inRoot)})
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", root, err)
	}
	for i, name := range parts {
		last := i == len(parts)-1
		k := Dir
		if last {
			k = kind
		}
		next, err := openChild(rootfd, dir, strings.Join(parts[:i+1], "/"), name, k)
		unix.Close(dir)
		if err != nil {
			return -1, fmt.Errorf("open %s in %s: %w", clean, root, err)
		}
		dir = next
	}
	return dir, nil
}

// InRoot opens path (relative to the root rootfd, "/" allowed) with
// flags, resolving every component inside the root: "..", absolute
// symlinks and magic links never leave it.
func InRoot(rootfd int, path string, flags int) (int, error) {
	p := strings.TrimLeft(path, "/")
	if p == "" {
		p = "."
	}
	fd, err := openat2(rootfd, p, &unix.OpenHow{Flags: uint64(flags | unix.O_CLOEXEC), Resolve: uint64(inRoot)})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: "/" + strings.TrimPrefix(path, "/"), Err: err}
	}
	return fd, nil
}

// openChild opens rel (inside rootfd) whose parent is the already-open
// parent; when missing it creates name in parent as k says and retries.
func openChild(rootfd, parent int, rel, name string, k Kind) (int, error) {
	how := &unix.OpenHow{Flags: unix.O_PATH | unix.O_CLOEXEC, Resolve: uint64(inRoot)}
	fd, err := openat2(rootfd, rel, how)
	if err == nil || !errors.Is(err, unix.ENOENT) || k == MustExist {
		return fd, err
	}
	switch k {
	case Dir:
		err = unix.Mkdirat(parent, name, 0o755)
	case File:
		var f int
		f, err = unix.Openat(parent, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
		if err == nil {
			unix.Close(f)
		}
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("create %s: %w", rel, err)
	}
	return openat2(rootfd, rel, how)
}

// fdPath names an open fd for the mount(2) family, which takes paths.
func fdPath(fd int) string { return fmt.Sprintf("/proc/self/fd/%d", fd) }
