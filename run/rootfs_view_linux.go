package run

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

// WriteChanges writes container c's upper dir, the container's changes to
// its image, as one OCI layer tar: overlay whiteouts become ".wh." entries
// and opaque dirs get ".wh..wh..opq" (commit).
func WriteChanges(w io.Writer, root string, c *state.Container) error {
	dir, err := state.Dir(root, c.ID)
	if err != nil {
		return err
	}
	o := archive.WriteOptions{Overlay: true, UserXattr: os.Geteuid() != 0, Xattrs: true, Skip: mountTarget}
	if err := archive.WriteDir(w, filepath.Join(dir, "upper"), o); err != nil {
		return fmt.Errorf("container %s: %w", short(c.ID), err)
	}
	return nil
}

// mountTarget reports the empty files the init creates in the upper dir
// only to bind-mount the generated /etc files over: they are no change of
// the container's (docker keeps them in an init layer that commit skips).
func mountTarget(rel string, mode uint32, size int64) bool {
	switch rel {
	case "etc/hostname", "etc/hosts", "etc/resolv.conf":
		return mode&unix.S_IFMT == unix.S_IFREG && size == 0
	}
	return false
}

// Export writes container c's merged filesystem as a tar (export). A
// running container's own mounts (/proc, /sys, /dev...) are written as
// empty directories, as docker's export shows them.
func Export(w io.Writer, root, runRoot string, c *state.Container) error {
	fd, release, err := OpenRootfs(root, runRoot, c)
	if err != nil {
		return err
	}
	defer release()
	if err := archive.Write(w, fd, archive.WriteOptions{SameMount: true, Xattrs: true}); err != nil {
		return fmt.Errorf("export %s: %w", short(c.ID), err)
	}
	return nil
}

// FreezeFor freezes running container c for the duration of a commit -p;
// thaw undoes only what it did: an already paused or stopped container is
// left as it is.
func FreezeFor(c *state.Container) (thaw func(), err error) {
	if c.Status != state.Running {
		return func() {}, nil
	}
	cg, err := cgroup.Load(c.ID)
	if err != nil {
		return nil, fmt.Errorf("pause %s: %w", short(c.ID), err)
	}
	if frozen, err := cg.Frozen(); err == nil && frozen {
		return func() {}, nil
	}
	if err := cg.Freeze(); err != nil {
		cg.Thaw()
		return nil, fmt.Errorf("pause %s: %w", short(c.ID), err)
	}
	return func() { cg.Thaw() }, nil
}

// OpenRootfs opens container c's merged filesystem as an O_PATH directory
// fd, for cp, diff and export. A running container's root is its init's
// /proc/<pid>/root (checked against the recorded start time after opening,
// so a recycled pid is never taken for it); a stopped one gets a read-only
// overlay of its upper dir over its image layers, mounted detached
// (fsmount), so no mount namespace, mount point or cleanup on crash is
// needed: the mount goes away when the last fd on it is closed.
//
// Resolve every path under rootfd with openat2 and RESOLVE_IN_ROOT (see
// fs.OpenInRoot, InRoot): the container owns the symlinks in there
// (CVE-2018-15664). release closes rootfd; call it once.
func OpenRootfs(root, runRoot string, c *state.Container) (rootfd int, release func(), err error) {
	if c.Pid > 0 && c.Status != state.Exited && c.Status != state.Created {
		fd, err := openProcRoot(c.Pid, c.PidStartTime)
		if err == nil {
			return fd, closer(fd), nil
		}
		if !errors.Is(err, errGone) {
			return -1, nil, fmt.Errorf("container %s: %w", short(c.ID), err)
		}
		// The process exited since the record was read: its files are
		// still all in the overlay.
	}
	return OpenOverlay(root, c, false)
}

// errGone says the container's process is no longer the recorded one.
var errGone = errors.New("container process is gone")

func openProcRoot(pid int, start uint64) (int, error) {
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/root", pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return -1, errGone
	}
	if err != nil {
		return -1, fmt.Errorf("open root of pid %d: %w", pid, err)
	}
	// Checked after opening: had the pid been reused before the open, the
	// start time would now differ.
	if !state.Alive(pid, start) {
		unix.Close(fd)
		return -1, errGone
	}
	return fd, nil
}

// OpenOverlay mounts container c's overlay detached and returns the fd of
// its root. Read-only it stacks the upper dir as one more lower layer, so
// no work dir is touched and it may coexist with a running container's
// mount. writable mounts upper and work as the container does: the caller
// must hold the container's lock and the container must not be running
// (overlay forbids two mounts sharing an upper dir).
func OpenOverlay(root string, c *state.Container, writable bool) (rootfd int, release func(), err error) {
	lower, err := LowerDirs(root, c.ID)
	if err != nil {
		return -1, nil, err
	}
	dir, err := state.Dir(root, c.ID)
	if err != nil {
		return -1, nil, err
	}
	upper, work := filepath.Join(dir, "upper"), filepath.Join(dir, "work")
	if !writable {
		lower = append([]string{upper}, lower...)
		upper, work = "", ""
	}
	fd, err := mountDetachedOverlay(lower, upper, work, os.Geteuid() != 0, !writable)
	if err != nil {
		return -1, nil, fmt.Errorf("container %s: mount its filesystem: %w", short(c.ID), err)
	}
	return fd, closer(fd), nil
}

// LowerDirs reads the image layers from the container's config.json
// (as Load does), top layer first as overlay wants them.
func LowerDirs(root, id string) ([]string, error) {
	spec, err := loadSpec(root, id)
	if err != nil {
		return nil, err
	}
	var layers []string
	if err := json.Unmarshal([]byte(spec.Annotations[annotLowerdirs]), &layers); err != nil {
		return nil, fmt.Errorf("container %s: config.json: layer list: %w", short(id), err)
	}
	top := make([]string, len(layers))
	for i, d := range layers {
		top[len(layers)-1-i] = d
	}
	return top, nil
}

func mountDetachedOverlay(lower []string, upper, work string, userxattr, readonly bool) (int, error) {
	if len(lower) == 0 {
		return -1, errors.New("no layers")
	}
	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	if err := overlayLowers(fsfd, lower); err != nil {
		return -1, err
	}
	if upper != "" {
		if err := unix.FsconfigSetString(fsfd, "upperdir", upper); err != nil {
			return -1, fmt.Errorf("upperdir %s: %w", upper, err)
		}
		if err := unix.FsconfigSetString(fsfd, "workdir", work); err != nil {
			return -1, fmt.Errorf("workdir %s: %w", work, err)
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
	attr := unix.MOUNT_ATTR_NODEV | unix.MOUNT_ATTR_NOSUID
	if readonly {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	mfd, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, attr)
	if err != nil {
		return -1, fmt.Errorf("fsmount overlay: %w", err)
	}
	return mfd, nil
}

// overlayLowers passes the layers one "lowerdir+" key each (6.8+, no
// length bound), else as one colon-separated "lowerdir".
func overlayLowers(fsfd int, lower []string) error {
	err := unix.FsconfigSetString(fsfd, "lowerdir+", lower[0])
	if err == nil {
		for _, l := range lower[1:] {
			if err := unix.FsconfigSetString(fsfd, "lowerdir+", l); err != nil {
				return fmt.Errorf("lowerdir %s: %w", l, err)
			}
		}
		return nil
	}
	if err := unix.FsconfigSetString(fsfd, "lowerdir", strings.Join(lower, ":")); err != nil {
		return fmt.Errorf("lowerdir: %w", err)
	}
	return nil
}

// InRoot opens path (relative to the container's root, "/" allowed) under
// rootfd with flags, resolving every component inside the root: "..",
// absolute symlinks and magic links never leave it.
func InRoot(rootfd int, path string, flags int) (int, error) {
	p := strings.TrimLeft(path, "/")
	if p == "" {
		p = "."
	}
	fd, err := unix.Openat2(rootfd, p, &unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: "/" + strings.TrimPrefix(path, "/"), Err: err}
	}
	return fd, nil
}

func closer(fd int) func() {
	done := false
	return func() {
		if !done {
			done = true
			unix.Close(fd)
		}
	}
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
