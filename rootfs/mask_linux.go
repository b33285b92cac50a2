package rootfs

// Masked and read-only paths (docker's linux.maskedPaths and
// readonlyPaths), applied in the pivoted root. runc's CVE-2025-31133: a
// container whose /dev/null is a link to /proc/sys/kernel/core_pattern
// (from its image through a volume's copy-up, or written there by a second
// container sharing the volume, racing the start) had runc bind that file,
// writable, over /proc/kcore: a write there reached the host's kernel. So:
//
//   /dev/null is opened once, O_PATH, without following a link, and must
//     be the null device (character 1:3) not from the image's layers
//   every target is opened without following a link (a masked path that
//     is a link, or lies beyond one, is refused, never masked elsewhere)
//   each mount goes fd to fd (fdmount_linux.go): what was checked is what
//     is mounted, and where

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// MaskPaths hides paths of the (already pivoted) root: the null device
// over files, an empty read-only tmpfs over directories. Absent paths are
// fine.
func MaskPaths(paths []string) error {
	return eachInRoot("mask paths", paths, maskPathsIn)
}

// eachInRoot applies apply to paths of the (already pivoted) root, opened once.
func eachInRoot(what string, paths []string, apply func(root int, paths []string) error) error {
	if len(paths) == 0 {
		return nil
	}
	root, err := openRoot()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer unix.Close(root)
	return apply(root, paths)
}

func maskPathsIn(root int, paths []string) error {
	m := masker{root: root, null: -1}
	defer m.close()
	for _, p := range paths {
		if err := m.mask(p); err != nil {
			return fmt.Errorf("mask %s: %w", p, err)
		}
	}
	return nil
}

// masker holds the root and, once a file needs it, the checked /dev/null.
type masker struct{ root, null int }

func (m *masker) close() {
	if m.null >= 0 {
		unix.Close(m.null)
	}
}

func (m *masker) mask(path string) error {
	target, mode, err := openTarget(m.root, path)
	if target < 0 || err != nil {
		return err
	}
	defer unix.Close(target)
	if mode == unix.S_IFDIR {
		return mountEmptyDir(target)
	}
	if m.null < 0 {
		if m.null, err = openDevNull(m.root); err != nil {
			return err
		}
	}
	return bindFdOnto(m.null, target, false, 0)
}

// openDevNull opens the root's /dev/null (O_PATH) and checks it is the
// null device on a filesystem of skiff's making (its /dev tmpfs, or the
// host's devtmpfs when bound there), not a node the image's layers carry.
func openDevNull(root int) (int, error) {
	fd, err := openStrict(root, "/dev/null", unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("the container's /dev/null: %w", err)
	}
	if err := checkDevNull(fd); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

func checkDevNull(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("the container's /dev/null: fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		return fmt.Errorf("the container's /dev/null is %s, not the null device 1:3", fileKind(&st))
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("the container's /dev/null: fstatfs: %w", err)
	}
	if fs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		return errors.New("the container's /dev/null is a node of its image, not of its /dev")
	}
	return nil
}

// mountEmptyDir mounts a new empty tmpfs, read-only down to its
// superblock, on the directory open as target.
func mountEmptyDir(target int) error {
	fs, err := unix.Fsopen("tmpfs", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("fsopen tmpfs: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigSetFlag(fs, "ro"); err != nil {
		return fmt.Errorf("fsconfig tmpfs ro: %w", err)
	}
	if err := unix.FsconfigCreate(fs); err != nil {
		return fmt.Errorf("fsconfig tmpfs create: %w", err)
	}
	mnt, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return fmt.Errorf("fsmount tmpfs: %w", err)
	}
	defer unix.Close(mnt)
	if err := unix.MoveMount(mnt, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("move_mount tmpfs: %w", err)
	}
	return nil
}

// ReadonlyPaths makes paths of the (already pivoted) root read-only: a
// recursive clone of each, made read-only while still detached, mounted
// over it. Absent paths are fine.
func ReadonlyPaths(paths []string) error {
	return eachInRoot("read-only paths", paths, readonlyPathsIn)
}

func readonlyPathsIn(root int, paths []string) error {
	for _, p := range paths {
		if err := readonlyPath(root, p); err != nil {
			return fmt.Errorf("make %s read-only: %w", p, err)
		}
	}
	return nil
}

func readonlyPath(root int, path string) error {
	target, _, err := openTarget(root, path)
	if target < 0 || err != nil {
		return err
	}
	defer unix.Close(target)
	return bindFdOnto(target, target, true, unix.MOUNT_ATTR_RDONLY)
}

// openTarget opens path under root (O_PATH, no link followed anywhere) as
// a mask or read-only path's target, with its file type; a link there is
// refused. An absent path is fd -1 and no error: nothing to hide.
func openTarget(root int, path string) (fd int, mode uint32, err error) {
	fd, err = openStrict(root, path, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return -1, 0, nil
	}
	if err != nil {
		return -1, 0, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("fstat: %w", err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFLNK {
		unix.Close(fd)
		return -1, 0, fmt.Errorf("%s: %w", path, ErrSymlinkOnPath)
	}
	return fd, st.Mode & unix.S_IFMT, nil
}
