package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"path"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// Each kind of entry is made by one name under its parent's fd with calls
// that never follow a final symlink (mkdirat, O_CREAT|O_EXCL, symlinkat,
// linkat without AT_SYMLINK_FOLLOW, mknodat, fchownat and utimensat with
// AT_SYMLINK_NOFOLLOW); chmod goes through an fd (see chmodAt).

func (e *extractor) mkdir(hdr *tar.Header, pfd int, rel, base string) error {
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
	if e.o.Xattrs && len(xattrs(hdr)) > 0 {
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
	e.late = append(e.late, dirMeta{rel, uint32(hdr.Mode) & 0o7777, hdr.AccessTime, hdr.ModTime})
	return nil
}

func (e *extractor) file(hdr *tar.Header, r io.Reader, pfd int, rel, base string) error {
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW
	mode := uint32(hdr.Mode) & 0o7777
	fd, err := openBeneath(pfd, base, flags, mode)
	if err == unix.EEXIST {
		if err = e.replace(pfd, rel, base); err == nil {
			fd, err = openBeneath(pfd, base, flags, mode)
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

// copy writes r to fd with the extractor's buffer; no fsync: a layer is
// published by a rename, and a crash leaves only a temp dir to sweep.
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

// hardlink links to an entry already extracted beneath the destination.
func (e *extractor) hardlink(hdr *tar.Header, pfd int, rel, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("hardlink target %w", err)
	}
	if target == "" || target == rel {
		return fmt.Errorf("hardlink to %q: target must be another entry of the archive", hdr.Linkname)
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
	if err := chmodAt(pfd, base, mode&0o7777); err != nil {
		return err
	}
	if err := e.setXattrs(hdr, -1, pfd, base); err != nil {
		return err
	}
	return setTimes(pfd, base, hdr)
}

// chmodAt sets the mode of base under pfd through an fd on the node
// itself: fchmodat would follow a symlink a running container swapped in.
func chmodAt(pfd int, base string, mode uint32) error {
	fd, err := openBeneath(pfd, base, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		return fmt.Errorf("chmod: replaced by a symlink meanwhile")
	}
	if err := unix.Chmod(fmt.Sprintf("/proc/self/fd/%d", fd), mode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	return nil
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
	if isOpaqueFD(pfd, e.o.Rootless) {
		// An opaque dir hides all below already, and overlay lists a
		// whiteout in one as a name that cannot be stat'ed (6.18).
		return nil
	}
	e.whiteouts[parent] = append(e.whiteouts[parent], name)
	if e.o.Rootless && e.o.XattrWhiteouts {
		if err := e.xattrWhiteout(pfd, parent, name); err != nil {
			return fmt.Errorf("%s: whiteout: %w", hdr.Name, err)
		}
		return nil
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
	if err := setOpaque(fd, e.o.Rootless); err != nil {
		return fmt.Errorf("%s: set %s: %w", hdr.Name, OpaqueXattr(e.o.Rootless), err)
	}
	if err := e.dropWhiteouts(fd, parent); err != nil {
		return fmt.Errorf("%s: %w", hdr.Name, err)
	}
	return nil
}

// chownNeeded skips the syscall when the owner is already ours: as root
// extracting a root-owned image, that is almost every entry.
func (e *extractor) chownNeeded(hdr *tar.Header) bool {
	return e.o.Chown && (hdr.Uid != e.uid || hdr.Gid != e.gid)
}

func (e *extractor) chown(hdr *tar.Header, pfd int, base string) error {
	if !e.chownNeeded(hdr) {
		return nil
	}
	if err := unix.Fchownat(pfd, base, hdr.Uid, hdr.Gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return chownError(hdr, err)
	}
	return nil
}

func (e *extractor) chownFD(hdr *tar.Header, fd int) error {
	if !e.chownNeeded(hdr) {
		return nil
	}
	if err := unix.Fchown(fd, hdr.Uid, hdr.Gid); err != nil {
		return chownError(hdr, err)
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

// setXattrs sets an entry's xattrs (with Xattrs) on fd, or else on base
// under pfd without following a final symlink.
func (e *extractor) setXattrs(hdr *tar.Header, fd, pfd int, base string) error {
	if !e.o.Xattrs {
		return nil
	}
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

// setTimesAt gives base under pfd its times, not following a link; an
// entry without a time keeps the time of its making.
func setTimesAt(pfd int, base string, atime, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	if atime.IsZero() {
		atime = mtime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(pfd, base, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("set times: %w", err)
	}
	return nil
}
