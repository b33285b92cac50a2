package build

// The image side of a COPY: read-only views of the image being built and
// of a COPY --from image, and paths resolved inside them as the kernel's
// RESOLVE_IN_ROOT would (links followed, never out of the root).

import (
	"archive/tar"
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/store"
)

// imageView is a read-only view of an image's filesystem.
func (e *executor) imageView(img *store.Image) (int, func(), error) {
	return openImageView(e.o.Images, img)
}

// openImageView is a read-only view of img's filesystem in images.
func openImageView(images *store.Store, img *store.Image) (int, func(), error) {
	if len(img.Layers) == 0 {
		return -1, nil, errors.New("COPY --from: the image has no layers")
	}
	dirs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		dirs[len(img.Layers)-1-i] = images.LayerDir(l)
	}
	if len(dirs) == 1 {
		// One layer is its own root: overlay wants two lower dirs
		// without an upper.
		fd, err := unix.Open(dirs[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, nil, fmt.Errorf("COPY --from: %w", err)
		}
		return fd, func() { unix.Close(fd) }, nil
	}
	return rootfs.OpenView(rootfs.Layers{Upper: dirs[0], Lower: dirs[1:]})
}

// stageView is a read-only view of s's filesystem (-1 for scratch).
func (e *executor) stageView(s *stageState) (int, func(), error) {
	if s.img == nil || len(s.img.Layers) == 0 {
		return -1, func() {}, nil
	}
	return e.imageView(s.img)
}

// resolveInRoot is p inside the root with every symlink on the way
// followed inside it (as the kernel's RESOLVE_IN_ROOT would), as a
// relative path without links ("" for the root); what does not exist is
// kept as written.
func resolveInRoot(rootfd int, p string) (string, error) {
	var done []string
	todo := strings.Split(p, "/")
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, c)...)
		target, isLink, err := readLinkInRoot(rootfd, cur)
		if err != nil {
			return "", err
		}
		if !isLink {
			done = append(done, c)
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		if path.IsAbs(target) {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return path.Join(done...), nil
}

// readLinkInRoot is rel's link target if rel (its parents free of links)
// is a symlink in the root.
func readLinkInRoot(rootfd int, rel string) (string, bool, error) {
	if rootfd < 0 {
		return "", false, nil
	}
	fd, err := rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", false, nil
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", false, fmt.Errorf("readlink %s: %w", rel, err)
	}
	return string(buf[:n]), true, nil
}

// writeParents writes the directories from the root down to dir (link
// free): those the image has with their attributes, so the layer changes
// none of them; missing ones 0755, the last one owned as own.
func writeParents(lw *layerWriter, base int, dir string, own owner) error {
	if dir == "" {
		return nil
	}
	parts := strings.Split(dir, "/")
	now := time.Now()
	for i := range parts {
		rel := path.Join(parts[:i+1]...)
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: now}
		if i == len(parts)-1 {
			hdr.Uid, hdr.Gid = own.uid, own.gid
		}
		if st, ok, err := statInRoot(base, rel); err != nil {
			return err
		} else if ok {
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return fmt.Errorf("/%s is not a directory", rel)
			}
			hdr.Mode, hdr.Uid, hdr.Gid = int64(st.Mode&0o7777), int(st.Uid), int(st.Gid)
			hdr.ModTime = time.Unix(st.Mtim.Unix())
		}
		if err := lw.header(hdr); err != nil {
			return err
		}
	}
	return nil
}

// statInRoot is rel's lstat in the root, ok false when it is missing.
func statInRoot(rootfd int, rel string) (unix.Stat_t, bool, error) {
	var st unix.Stat_t
	if rootfd < 0 {
		return st, false, nil
	}
	fd, err := rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	defer unix.Close(fd)
	return st, true, unix.Fstat(fd, &st)
}

// isDirInRoot reports whether p is a directory in the root (links
// followed inside it).
func isDirInRoot(rootfd int, p string) bool {
	fd, err := rootfs.InRoot(rootfd, strings.TrimPrefix(path.Clean(p), "/"), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}
