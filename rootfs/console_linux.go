package rootfs

// A container's terminal: its ptmx and /dev/console. runc's
// CVE-2025-52565: the pty slave was bound on /dev/console by its
// /dev/pts/N path, and /dev/console itself by path, so a container that
// had swapped either for a link got a file of its choosing (a procfs one,
// writable) mounted instead. Here the ptmx is checked to be devpts's own,
// the slave is the fd TIOCGPTPEER gives (checked to be a pty slave on a
// devpts), /dev/console is opened or made without following a link, and
// the bind goes fd to fd.

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The kernel's numbers for a devpts instance's ptmx (fs/devpts/inode.c
// mknod_ptmx, TTYAUX_MAJOR) and its slaves (UNIX98_PTY_SLAVE_MAJOR, over
// UNIX98_PTY_MAJOR_COUNT majors).
const (
	ptmxIno, ptmxMajor, ptmxMinor = 2, 5, 2
	ptySlaveMajor, ptyMajorCount  = 136, 8
)

// OpenPtmx opens the (already pivoted) root's /dev/pts/ptmx read-write,
// no controlling terminal, once an O_PATH handle showed it is a devpts's
// ptmx; the open file must be that same inode.
func OpenPtmx() (int, error) {
	root, err := openRoot()
	if err != nil {
		return -1, fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(root)
	return openPtmxIn(root)
}

func openPtmxIn(root int) (int, error) {
	h, err := openStrict(root, "/dev/pts/ptmx", unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(h)
	want, err := checkPtmx(h)
	if err != nil {
		return -1, err
	}
	fd, err := openStrict(root, "/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY)
	if err != nil {
		return -1, fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil || got.Dev != want.Dev || got.Ino != want.Ino {
		unix.Close(fd)
		return -1, errors.New("open /dev/pts/ptmx: it changed while it was opened")
	}
	return fd, nil
}

func checkPtmx(fd int) (*unix.Stat_t, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, fmt.Errorf("/dev/pts/ptmx: fstat: %w", err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return nil, fmt.Errorf("/dev/pts/ptmx: fstatfs: %w", err)
	}
	if fs.Type != unix.DEVPTS_SUPER_MAGIC || st.Ino != ptmxIno ||
		st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(ptmxMajor, ptmxMinor) {
		return nil, fmt.Errorf("/dev/pts/ptmx is %s (inode %d, filesystem %#x), not a devpts's ptmx", fileKind(&st), st.Ino, fs.Type)
	}
	return &st, nil
}

// MountConsole binds the pty slave open as slave on the (already pivoted)
// root's /dev/console, as docker does for -t.
func MountConsole(slave int) error {
	root, err := openRoot()
	if err != nil {
		return fmt.Errorf("mount the pty on /dev/console: %w", err)
	}
	defer unix.Close(root)
	return mountConsoleIn(root, slave)
}

func mountConsoleIn(root, slave int) error {
	if err := checkPtySlave(slave); err != nil {
		return fmt.Errorf("mount the pty on /dev/console: %w", err)
	}
	target, err := openConsoleTarget(root)
	if err != nil {
		return fmt.Errorf("mount the pty on /dev/console: %w", err)
	}
	defer unix.Close(target)
	if err := bindFdOnto(slave, target, false, 0); err != nil {
		return fmt.Errorf("mount the pty on /dev/console: %w", err)
	}
	return nil
}

func checkPtySlave(fd int) error {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("pty slave: fstat: %w", err)
	}
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("pty slave: fstatfs: %w", err)
	}
	major := unix.Major(st.Rdev)
	if fs.Type != unix.DEVPTS_SUPER_MAGIC || st.Mode&unix.S_IFMT != unix.S_IFCHR ||
		major < ptySlaveMajor || major >= ptySlaveMajor+ptyMajorCount {
		return fmt.Errorf("the pty slave is %s (filesystem %#x), not a pty on a devpts", fileKind(&st), fs.Type)
	}
	return nil
}

// openConsoleTarget opens /dev/console (O_PATH), creating it as an empty
// file (O_EXCL, never opening what is there) when missing. What is there
// must be a file or a device: a link is refused, not followed.
func openConsoleTarget(root int) (int, error) {
	fd, err := openStrict(root, "/dev/console", unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return createConsole(root)
	}
	if err != nil {
		return -1, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("/dev/console: fstat: %w", err)
	}
	if t := st.Mode & unix.S_IFMT; t != unix.S_IFREG && t != unix.S_IFCHR {
		unix.Close(fd)
		if t == unix.S_IFLNK {
			return -1, fmt.Errorf("/dev/console: %w", ErrSymlinkOnPath)
		}
		return -1, fmt.Errorf("/dev/console is %s, not a file or a device", fileKind(&st))
	}
	return fd, nil
}

func createConsole(root int) (int, error) {
	dev, err := openStrict(root, "/dev", unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return -1, err
	}
	defer unix.Close(dev)
	fd, err := unix.Openat(dev, "console", unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_RDONLY|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return -1, fmt.Errorf("create /dev/console: %w", err)
	}
	return fd, nil
}
