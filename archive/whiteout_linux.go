package archive

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// The overlay whiteout convention, as OCI layers spell it (image-spec
// layer.md) and as overlayfs stores it. ".wh.NAME" in a layer hides NAME of
// the layers below; overlay's upper dir says the same with a 0/0 character
// device named NAME. ".wh..wh..opq" in a directory hides everything the
// layers below have in it; overlay marks such a directory with the xattr
// OpaqueXattr = "y".
const (
	WhiteoutPrefix = ".wh."
	WhiteoutOpaque = ".wh..wh..opq"
)

// aufsMetaPrefix marks AUFS bookkeeping (.wh..wh.plnk, .wh..wh.aufs) that
// old docker layers carry; like docker we drop it rather than extract it.
const aufsMetaPrefix = ".wh..wh."

// IsWhiteout reports whether st is overlay's whiteout: a 0/0 char device.
func IsWhiteout(st *unix.Stat_t) bool {
	return st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == 0
}

// OpaqueXattr is the xattr overlay reads as "opaque directory": trusted.*
// normally, user.* when the overlay is mounted with userxattr (rootless,
// where trusted.* is the kernel's to refuse).
func OpaqueXattr(userxattr bool) string {
	if userxattr {
		return "user.overlay.opaque"
	}
	return "trusted.overlay.opaque"
}

// IsOpaque reports whether the directory at path p (its last component
// not followed) is marked opaque.
func IsOpaque(p string, userxattr bool) bool {
	var v [4]byte
	n, err := unix.Lgetxattr(p, OpaqueXattr(userxattr), v[:])
	return err == nil && string(v[:n]) == "y"
}

// isOpaqueFD is IsOpaque for an open directory.
func isOpaqueFD(fd int, userxattr bool) bool {
	var v [4]byte
	n, err := unix.Fgetxattr(fd, OpaqueXattr(userxattr), v[:])
	return err == nil && string(v[:n]) == "y"
}

// setOpaque marks the open directory fd opaque.
func setOpaque(fd int, userxattr bool) error {
	return unix.Fsetxattr(fd, OpaqueXattr(userxattr), []byte("y"), 0)
}

// isAUFSMeta reports whether rel is, or is inside, AUFS bookkeeping.
func isAUFSMeta(rel string) bool {
	for _, part := range strings.Split(rel, "/") {
		if strings.HasPrefix(part, aufsMetaPrefix) && part != WhiteoutOpaque {
			return true
		}
	}
	return false
}

// dropWhiteouts removes the whiteouts made in parent (open as fd) before
// its opaque mark came: overlay lists those of an opaque directory (a 0/0
// device as a name that cannot be stat'ed, an xattr whiteout as an empty
// file). A name a later entry took over is no whiteout any more and kept.
func (e *extractor) dropWhiteouts(fd int, parent string) error {
	for _, name := range e.whiteouts[parent] {
		p := fmt.Sprintf("/proc/self/fd/%d/%s", fd, name)
		var st unix.Stat_t
		if unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW) != nil || !IsWhiteoutPath(p, &st, e.o.Rootless) {
			continue
		}
		if err := unix.Unlinkat(fd, name, 0); err != nil && err != unix.ENOENT {
			return fmt.Errorf("remove whiteout %s under an opaque mark: %w", name, err)
		}
	}
	delete(e.whiteouts, parent)
	return nil
}

// IsWhiteoutPath reports whether the entry at p, lstat'ed as st, is a
// whiteout of a layer: a 0/0 device, or with userxattr also overlay's
// xattr form (an empty regular file with user.overlay.whiteout).
func IsWhiteoutPath(p string, st *unix.Stat_t, userxattr bool) bool {
	if IsWhiteout(st) {
		return true
	}
	if !userxattr || st.Mode&unix.S_IFMT != unix.S_IFREG || st.Size != 0 {
		return false
	}
	_, err := unix.Lgetxattr(p, whiteoutXattr, nil)
	return err == nil
}
