package archive

import (
	"archive/tar"
	"bufio"
	"errors"
	"fmt"
	"os"
	"path"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// What a layer extracted inside a rootless user namespace needs beyond a
// root extraction (UserNSLayerOptions): whiteouts in overlayfs's xattr
// form where mknod of a 0/0 device is refused, and a clear error for an
// owner the namespace does not map (lchown's bare EINVAL is podman#12715).

// The xattr whiteout (overlayfs 6.7+, read with userxattr in lower
// layers): the entry is an empty regular file carrying whiteoutXattr, in a
// directory whose opaque xattr is "x" ("holds xattr whiteouts", not
// opaque).
const (
	whiteoutXattr          = "user.overlay.whiteout"
	opaqueHasXattrWhiteout = "x"
)

// xattrWhiteout makes name under pfd (the directory parent) an xattr
// whiteout.
func (e *extractor) xattrWhiteout(pfd int, parent, name string) error {
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW
	fd, err := openBeneath(pfd, name, flags, 0o644)
	if err == unix.EEXIST {
		if err = e.replace(pfd, path.Join(parent, name), name); err == nil {
			fd, err = openBeneath(pfd, name, flags, 0o644)
		}
	}
	if err != nil {
		return fmt.Errorf("create: %w", err)
	}
	defer unix.Close(fd)
	if err := unix.Fsetxattr(fd, whiteoutXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("set %s: %w", whiteoutXattr, err)
	}
	if err := unix.Fsetxattr(pfd, OpaqueXattr(true), []byte(opaqueHasXattrWhiteout), 0); err != nil {
		return fmt.Errorf("set %s=%s on its directory: %w", OpaqueXattr(true), opaqueHasXattrWhiteout, err)
	}
	return nil
}

// UnmappedIDError is a chown the user namespace refused because the
// entry's owner is not one of its ids: the user's subordinate ranges
// (/etc/subuid, /etc/subgid) are too small for the image.
type UnmappedIDError struct {
	Kind   string // "uid" or "gid"
	ID     int
	Mapped string // the ids the namespace maps, "0-65535"
	Err    error  // the chown's own error (EINVAL)
}

func (e *UnmappedIDError) Error() string {
	file := "/etc/subuid"
	if e.Kind == "gid" {
		file = "/etc/subgid"
	}
	return fmt.Sprintf("%s %d is not mapped in the user namespace (it maps %ss %s): the image needs more subordinate ids in %s",
		e.Kind, e.ID, e.Kind, e.Mapped, file)
}

func (e *UnmappedIDError) Unwrap() error { return e.Err }

// chownError names the unmapped id when the kernel refused a chown with
// EINVAL, which it does for an id the caller's user namespace lacks.
func chownError(hdr *tar.Header, err error) error {
	if errors.Is(err, unix.EINVAL) {
		for _, c := range []struct {
			kind, mapFile string
			id            int
		}{{"uid", "/proc/self/uid_map", hdr.Uid}, {"gid", "/proc/self/gid_map", hdr.Gid}} {
			ranges, rerr := readIDMap(c.mapFile)
			if rerr == nil && !ranges.contains(c.id) {
				return &UnmappedIDError{Kind: c.kind, ID: c.id, Mapped: ranges.String(), Err: err}
			}
		}
	}
	return fmt.Errorf("chown %d:%d: %w", hdr.Uid, hdr.Gid, err)
}

// idRange is one line of /proc/self/uid_map as seen from inside: the ids
// first..first+count-1 of the namespace.
type idRange struct{ first, count int64 }

type idRanges []idRange

func (rs idRanges) contains(id int) bool {
	for _, r := range rs {
		if int64(id) >= r.first && int64(id) < r.first+r.count {
			return true
		}
	}
	return false
}

func (rs idRanges) String() string {
	if len(rs) == 0 {
		return "none"
	}
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d-%d", r.first, r.first+r.count-1)
	}
	return strings.Join(parts, ", ")
}

// readIDMap reads the inside ids of a uid_map or gid_map.
func readIDMap(path string) (idRanges, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rs idRanges
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 3 {
			continue
		}
		first, err1 := strconv.ParseInt(fields[0], 10, 64)
		count, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("parse %s: %q", path, sc.Text())
		}
		rs = append(rs, idRange{first, count})
	}
	return rs, sc.Err()
}
