package run

// CVE-2019-5736: a container process that can open /proc/<init>/exe for
// writing overwrites the host's skiff binary. The init is therefore exec'd
// from a view of the binary that cannot be written through (runc 1.2's
// exeseal carries the same two techniques):
//   - a detached read-only bind mount of /proc/self/exe (open_tree +
//     mount_setattr): no copy, microseconds, needs CAP_SYS_ADMIN;
//   - else a memfd copy sealed against writes, growing, shrinking and
//     further sealing: for rootless, costs one copy of the binary.

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/rolesbin"
)

// sealedExe is a view of skiff's binary that no process can write to.
type sealedExe struct {
	f    *os.File
	kind string // "bind" or "memfd", for errors and tests
}

// minSealedFd keeps the sealed fd clear of 0..2, ExtraFiles (at most 2)
// and the temporaries os/exec dup2s over in the child before execve
// resolves /proc/self/fd/N (below 2*len(files)+2). It stays below 64, the
// fd table a process starts with: a dup above it grows the table, which
// in a multi-threaded process waits for an RCU grace period (synchronize_rcu
// in expand_fdtable): 8-19 ms measured in a rootless monitor at 100.
const minSealedFd = 32

// sealSelf seals the program of skiff's roles (rolesbin.Binary: the
// installed skiff-roles, or skiff itself), preferring the bind mount.
func sealSelf() (*sealedExe, error) {
	self := rolesbin.Binary()
	s, bindErr := sealBind(self)
	if bindErr == nil {
		return s, nil
	}
	s, err := sealMemfd(self)
	if err != nil {
		return nil, fmt.Errorf("sealing skiff's binary (CVE-2019-5736 defence): read-only bind: %v; memfd copy: %w", bindErr, err)
	}
	return s, nil
}

// path is what exec.Cmd.Path should be: the kernel resolves it before
// closing the O_CLOEXEC fd at execve.
func (s *sealedExe) path() string { return fmt.Sprintf("/proc/self/fd/%d", s.f.Fd()) }

func (s *sealedExe) Close() error { return s.f.Close() }

func sealBind(path string) (*sealedExe, error) {
	fd, err := unix.OpenTree(unix.AT_FDCWD, path, unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err != nil {
		return nil, &os.PathError{Op: "open_tree", Path: path, Err: err}
	}
	attr := unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY}
	if err := unix.MountSetattr(fd, "", unix.AT_EMPTY_PATH, &attr); err != nil {
		unix.Close(fd)
		return nil, &os.PathError{Op: "mount_setattr", Path: path, Err: err}
	}
	return wrapFd(fd, "bind")
}

func sealMemfd(path string) (*sealedExe, error) {
	src, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	flags := unix.MFD_CLOEXEC | unix.MFD_ALLOW_SEALING
	// vm.memfd_noexec may make memfds non-executable unless MFD_EXEC is
	// asked for; kernels before 6.3 reject the flag.
	fd, err := unix.MemfdCreate("skiff", flags|unix.MFD_EXEC)
	if errors.Is(err, unix.EINVAL) {
		fd, err = unix.MemfdCreate("skiff", flags)
	}
	if err != nil {
		return nil, os.NewSyscallError("memfd_create", err)
	}
	dst := os.NewFile(uintptr(fd), "memfd:skiff")
	st, err := src.Stat()
	if err != nil {
		dst.Close()
		return nil, err
	}
	n, err := io.Copy(dst, src) // copy_file_range/sendfile under the hood
	if err == nil && n != st.Size() {
		err = fmt.Errorf("copied %d of %d bytes", n, st.Size())
	}
	if err == nil {
		err = dst.Chmod(0o511) // no write bit for anyone, as runc
	}
	if err != nil {
		dst.Close()
		return nil, fmt.Errorf("copying %s to memfd: %w", path, err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	// F_SEAL_EXEC (6.3+) also freezes the mode bits; older kernels lack it.
	if _, err := unix.FcntlInt(dst.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_EXEC); err != nil && !errors.Is(err, unix.EINVAL) {
		dst.Close()
		return nil, os.NewSyscallError("fcntl F_ADD_SEALS", err)
	}
	if _, err := unix.FcntlInt(dst.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		dst.Close()
		return nil, os.NewSyscallError("fcntl F_ADD_SEALS", err)
	}
	nfd, err := unix.FcntlInt(dst.Fd(), unix.F_DUPFD_CLOEXEC, minSealedFd)
	dst.Close()
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	return &sealedExe{f: os.NewFile(uintptr(nfd), "memfd:skiff"), kind: "memfd"}, nil
}

func wrapFd(fd int, kind string) (*sealedExe, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minSealedFd)
	unix.Close(fd)
	if err != nil {
		return nil, os.NewSyscallError("fcntl F_DUPFD_CLOEXEC", err)
	}
	return &sealedExe{f: os.NewFile(uintptr(nfd), "sealed-exe"), kind: kind}, nil
}
