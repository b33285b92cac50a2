package rootfs

// A procfs handle the container cannot have shaped, for what the runtime
// writes under /proc (sysctls, its own comm) once the container's tree
// exists. runc's CVE-2025-52881: runc wrote by path into the container's
// /proc, and a container that had bind-mounted /proc/sys/kernel/core_pattern
// (or another host-wide file) over the file runc meant to write had runc
// write its own bytes there, reaching the host's kernel. So a write here:
//
//   starts from a procfs of its own when the kernel allows one (fsopen,
//     fsmount: detached, mounted nowhere, so nothing is over-mounted in
//     it), else a detached clone of /proc without its submounts, else
//     /proc itself; each is checked to be a procfs's root
//   looks the file up beneath that root crossing no mount
//     (RESOLVE_NO_XDEV: an over-mounted file is refused, not reached),
//     following no magic link and never leaving it
//   checks the open file is procfs's

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// procRootIno is the inode number of every procfs's root (PROC_ROOT_INO).
const procRootIno = 1

// Proc is an open, checked procfs root.
type Proc struct{ fd int }

// OpenProc returns a procfs of the calling process's pid namespace (see
// the top of this file for which one).
func OpenProc() (*Proc, error) {
	var errs []error
	for _, open := range []func() (int, error){newProcInstance, cloneProcMount, openProcMount} {
		fd, err := open()
		if err == nil {
			if err = checkProcRoot(fd); err == nil {
				return &Proc{fd: fd}, nil
			}
			unix.Close(fd)
		}
		errs = append(errs, err)
	}
	return nil, fmt.Errorf("open a procfs: %w", errors.Join(errs...))
}

// Close releases the handle (and a private instance with it).
func (p *Proc) Close() error { return unix.Close(p.fd) }

// newProcInstance makes a procfs mounted nowhere. The kernel refuses it
// without CAP_SYS_ADMIN, and in a user namespace whose visible procfs has
// masks over it (mount_too_revealing).
func newProcInstance() (int, error) {
	fs, err := unix.Fsopen("proc", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsopen proc: %w", err)
	}
	defer unix.Close(fs)
	if err := unix.FsconfigCreate(fs); err != nil {
		return -1, fmt.Errorf("fsconfig proc create: %w", err)
	}
	fd, err := unix.Fsmount(fs, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_NOSUID|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOEXEC)
	if err != nil {
		return -1, fmt.Errorf("fsmount proc: %w", err)
	}
	return fd, nil
}

// cloneProcMount is a detached copy of the mount on /proc alone: none of
// the mounts over its files come with it.
func cloneProcMount() (int, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, "/proc", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return -1, fmt.Errorf("open_tree /proc: %w", err)
	}
	return fd, nil
}

func openProcMount() (int, error) {
	fd, err := unix.Open("/proc", unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open /proc: %w", err)
	}
	return fd, nil
}

// checkProcRoot refuses an fd that is not the root of a procfs.
func checkProcRoot(fd int) error {
	if err := checkOnProcfs(fd); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("fstat: %w", err)
	}
	if st.Ino != procRootIno {
		return fmt.Errorf("not a procfs's root (inode %d)", st.Ino)
	}
	return nil
}

// checkOnProcfs refuses an fd whose file is not on a procfs.
func checkOnProcfs(fd int) error {
	var fs unix.Statfs_t
	if err := unix.Fstatfs(fd, &fs); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if fs.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on a procfs (filesystem %#x)", fs.Type)
	}
	return nil
}

// procBeneath is every lookup below a Proc: inside it, on its mount only,
// through no magic link (/proc/self is a plain one and stays allowed).
const procBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_XDEV | unix.RESOLVE_NO_MAGICLINKS

// OpenFile opens rel ("sys/net/ipv4/ip_forward", "self/comm") below p
// with flags; the file must be procfs's.
func (p *Proc) OpenFile(rel string, flags int) (*os.File, error) {
	rel = strings.TrimLeft(rel, "/")
	name := "/proc/" + rel
	fd, err := openat2(p.fd, rel, &unix.OpenHow{Flags: uint64(flags | unix.O_NOFOLLOW | unix.O_CLOEXEC), Resolve: procBeneath})
	if errors.Is(err, unix.EXDEV) {
		return nil, fmt.Errorf("open %s: something is mounted over it or on its path: %w", name, err)
	}
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if err := checkOnProcfs(fd); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	return os.NewFile(uintptr(fd), name), nil
}

// WriteProcFile writes data, in one write as procfs files want, to rel
// below a fresh checked procfs: the one way the init writes under /proc.
func WriteProcFile(rel string, data []byte) error {
	p, err := OpenProc()
	if err != nil {
		return fmt.Errorf("write /proc/%s: %w", strings.TrimLeft(rel, "/"), err)
	}
	defer p.Close()
	f, err := p.OpenFile(rel, unix.O_WRONLY)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", f.Name(), err)
	}
	return nil
}

// ProcSelfFds lists the calling process's open fds from a checked procfs
// (not the container's /proc, whose listing a container could fake to
// keep an fd of skiff's open across exec).
func ProcSelfFds() ([]int, error) {
	p, err := OpenProc()
	if err != nil {
		return nil, fmt.Errorf("list fds: %w", err)
	}
	defer p.Close()
	d, err := p.OpenFile("self/fd", unix.O_RDONLY|unix.O_DIRECTORY)
	if err != nil {
		return nil, fmt.Errorf("list fds: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("list fds: %w", err)
	}
	fds := make([]int, 0, len(names))
	for _, n := range names {
		if fd, err := strconv.Atoi(n); err == nil {
			fds = append(fds, fd)
		}
	}
	return fds, nil
}
