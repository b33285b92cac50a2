package rootfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Layers are a container's overlay on disk: the image's layer dirs, top
// layer first as overlay stacks them, the container's upper dir (its
// changes) and overlay's work dir beside it.
type Layers struct {
	Lower []string
	Upper string
	Work  string
}

// MountOverlay mounts the container's overlay l at target. userxattr
// selects user.overlay.* xattrs (rootless). The mount is nodev, as
// podman's: a device node that an image layer carries, or that the
// container makes outside its /dev, never opens a host device.
func MountOverlay(target string, l Layers, userxattr bool) error {
	if len(l.Lower) == 0 {
		return fmt.Errorf("mount overlay on %s: no layers", target)
	}
	if err := matchUpperRoot(l); err != nil {
		return fmt.Errorf("mount overlay on %s: %w", target, err)
	}
	err := mountOverlayFsconfig(target, l, userxattr)
	if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EINVAL) {
		// Kernels before 6.8 have no "lowerdir+", and a colon-joined
		// "lowerdir" longer than fsconfig's 256 bytes is refused: use mount(2).
		err = mountOverlayLegacy(target, l, userxattr)
	}
	if err != nil {
		return fmt.Errorf("mount overlay on %s: %w", target, err)
	}
	return nil
}

// matchUpperRoot gives a still empty upper dir the mode and owner of the
// top layer's root: overlay shows the upper's attributes for "/", so an
// upper made 0700 would lock every non-root user out of the container.
// Once the container has written anything the upper is its own and kept.
func matchUpperRoot(l Layers) error {
	d, err := os.Open(l.Upper)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(1)
	d.Close()
	if len(names) > 0 {
		return nil
	}
	if err != nil && err != io.EOF {
		return fmt.Errorf("read %s: %w", l.Upper, err)
	}
	var st unix.Stat_t
	if err := unix.Stat(l.Lower[0], &st); err != nil {
		return fmt.Errorf("stat %s: %w", l.Lower[0], err)
	}
	if err := unix.Chown(l.Upper, int(st.Uid), int(st.Gid)); err != nil {
		return fmt.Errorf("chown %s: %w", l.Upper, err)
	}
	if err := unix.Chmod(l.Upper, st.Mode&0o7777); err != nil {
		return fmt.Errorf("chmod %s: %w", l.Upper, err)
	}
	return nil
}

// mountOverlayFsconfig builds the overlay detached and moves it onto target.
func mountOverlayFsconfig(target string, l Layers, userxattr bool) error {
	mfd, err := fsmountOverlay(l, userxattr, unix.MOUNT_ATTR_NODEV)
	if err != nil {
		return err
	}
	defer unix.Close(mfd)
	if err := unix.MoveMount(mfd, "", unix.AT_FDCWD, target, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		return fmt.Errorf("move mount: %w", err)
	}
	return nil
}

// fsmountOverlay is skiff's one overlay builder (fsopen, fsconfig,
// fsmount): it returns the fd of the detached mount, which lives while an
// fd or a mount point holds it. Without an upper dir the overlay is a
// read-only stack of l.Lower. attr is the MOUNT_ATTR_* set of the mount.
// The layers go one "lowerdir+" key each (Linux 6.8+: any number of
// them); a kernel without that key refuses it with EINVAL, when it is set
// (6.5-6.7) or only at the create (before 6.5, whose overlay still reads
// its options the old way), and the overlay is built again with one
// "lowerdir" list.
func fsmountOverlay(l Layers, userxattr bool, attr int) (int, error) {
	if len(l.Lower) == 0 {
		return -1, errors.New("no layers")
	}
	mfd, err := fsmountOverlayKeys(l, userxattr, attr, true)
	if errors.Is(err, unix.EINVAL) {
		mfd, err = fsmountOverlayKeys(l, userxattr, attr, false)
	}
	return mfd, err
}

// fsmountOverlayKeys builds the overlay with the layers as "lowerdir+"
// keys (plus) or one "lowerdir" list.
func fsmountOverlayKeys(l Layers, userxattr bool, attr int, plus bool) (int, error) {
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	closeLowers := func() {}
	if plus {
		err = overlayLowersPlus(fsfd, l.Lower)
	} else {
		closeLowers, err = overlayLowerList(fsfd, l.Lower)
	}
	if err != nil {
		return -1, err
	}
	defer closeLowers()
	if l.Upper != "" {
		if err := unix.FsconfigSetString(fsfd, "upperdir", l.Upper); err != nil {
			return -1, fmt.Errorf("upperdir %s: %w", l.Upper, err)
		}
		if err := unix.FsconfigSetString(fsfd, "workdir", l.Work); err != nil {
			return -1, fmt.Errorf("workdir %s: %w", l.Work, err)
		}
	}
	if userxattr {
		if err := unix.FsconfigSetFlag(fsfd, "userxattr"); err != nil {
			return -1, fmt.Errorf("userxattr: %w", err)
		}
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return -1, fmt.Errorf("create overlay: %w", err)
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return mfd, nil
}

// overlayLowersPlus passes the layers one "lowerdir+" key each.
func overlayLowersPlus(fsfd int, lower []string) error {
	for _, l := range lower {
		if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
			return fmt.Errorf("lowerdir+ %s: %w", l, err)
		}
	}
	return nil
}

// overlayLowerList is the one "lowerdir" key of kernels before 6.8: a
// colon-separated list. fsconfig takes at most 255 bytes a string, which a
// few layers' paths exceed: then each layer goes as /proc/self/fd/N of an
// O_PATH descriptor, which the kernel resolves to the directory when it
// reads the list (before 6.5 only at the create: the caller closes them
// after it, with the returned func).
func overlayLowerList(fsfd int, lower []string) (closeFDs func(), err error) {
	closeFDs = func() {}
	joined := joinLowers(lower)
	if len(joined) > fsconfigMaxString {
		var fds []int
		closeFDs = func() {
			for _, fd := range fds {
				unix.Close(fd)
			}
		}
		paths := make([]string, len(lower))
		for i, l := range lower {
			fd, err := unix.Open(l, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
			if err != nil {
				closeFDs()
				return func() {}, fmt.Errorf("lowerdir %s: %w", l, err)
			}
			fds = append(fds, fd)
			paths[i] = fmt.Sprintf("/proc/self/fd/%d", fd)
		}
		if joined = strings.Join(paths, ":"); len(joined) > fsconfigMaxString {
			closeFDs()
			return func() {}, fmt.Errorf("%d layers do not fit in overlay's lowerdir on this kernel (Linux 6.8 or later takes any number)", len(lower))
		}
	}
	if err := unix.FsconfigSetString(fsfd, "lowerdir", joined); err != nil {
		closeFDs()
		return func() {}, fmt.Errorf("lowerdir: %w", err)
	}
	return closeFDs, nil
}

// fsconfigMaxString is the longest string value fsconfig takes (256 bytes
// with the terminating NUL).
const fsconfigMaxString = 255

// mountOverlayLegacy uses mount(2), whose data is one page: when the layer
// list does not fit, it chdirs to the layers' common parent and passes
// relative paths, as docker's overlay2 driver does.
func mountOverlayLegacy(target string, l Layers, userxattr bool) error {
	lowerdirs, upper, work := l.Lower, l.Upper, l.Work
	data := overlayData(lowerdirs, upper, work, userxattr)
	if len(data) < os.Getpagesize()-1 {
		return unix.Mount("overlay", target, "overlay", unix.MS_NODEV, data)
	}
	parent := commonParent(append([]string{upper, work}, lowerdirs...))
	rel := func(p string) string {
		r, _ := filepath.Rel(parent, p)
		return r
	}
	var rl []string
	for _, l := range lowerdirs {
		rl = append(rl, rel(l))
	}
	data = overlayData(rl, rel(upper), rel(work), userxattr)
	if len(data) >= os.Getpagesize()-1 {
		return fmt.Errorf("%d layers do not fit in mount data even as relative paths", len(lowerdirs))
	}
	wd, err := os.Getwd()
	if err != nil {
		return err
	}
	absTarget, err := filepath.Abs(target)
	if err != nil {
		return err
	}
	if err := os.Chdir(parent); err != nil {
		return err
	}
	defer os.Chdir(wd)
	return unix.Mount("overlay", absTarget, "overlay", unix.MS_NODEV, data)
}

func overlayData(lowerdirs []string, upper, work string, userxattr bool) string {
	d := "lowerdir=" + escapeOption(joinLowers(lowerdirs)) + ",upperdir=" + escapeOption(escapePath(upper)) +
		",workdir=" + escapeOption(escapePath(work))
	if userxattr {
		d += ",userxattr"
	}
	return d
}

// joinLowers is overlayfs's colon-separated lower layer list, each path's
// own colons and backslashes escaped as overlayfs reads them back: a
// --root whose path has a colon still mounts.
func joinLowers(lower []string) string {
	esc := make([]string, len(lower))
	for i, l := range lower {
		esc[i] = strings.ReplaceAll(escapePath(l), ":", `\:`)
	}
	return strings.Join(esc, ":")
}

// escapePath escapes a path's backslashes for overlayfs.
func escapePath(p string) string { return strings.ReplaceAll(p, `\`, `\\`) }

// escapeOption escapes the commas of a mount(2) data value: mount's data is
// comma-separated, and overlayfs honours a backslash before one (a --root
// under a directory with a comma in its name, as a test's temp dir).
func escapeOption(v string) string { return strings.ReplaceAll(v, ",", `\,`) }

// commonParent is the longest directory prefix shared by all paths.
func commonParent(paths []string) string {
	p := filepath.Dir(filepath.Clean(paths[0]))
	for _, q := range paths[1:] {
		q = filepath.Clean(q)
		for p != "/" && !strings.HasPrefix(q, p+"/") {
			p = filepath.Dir(p)
		}
	}
	return p
}
