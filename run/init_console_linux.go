package run

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/rootfs"
)

// setupPty creates a pty in the container's own devpts instance (so the
// parent never hands it a host pty), sends the master to the parent (skiff
// run's monitor, or skiff exec) and makes the slave this process's stdio and
// controlling terminal, owned by the container's user. With console the
// slave is also bound on /dev/console: the init's; an exec'd process keeps it.
func setupPty(uid uint32, console bool) error {
	// Checked to be the devpts's own ptmx, never a node or link the
	// container put there (CVE-2025-52565).
	master, err := rootfs.OpenPtmx()
	if err != nil {
		return err
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	// TIOCGPTPEER opens the slave through the master, never by a path the
	// container could have replaced.
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if e != 0 {
		return fmt.Errorf("open pty slave: %w", e)
	}
	slave := int(r)
	defer unix.Close(slave)
	if err := unix.Fchown(slave, int(uid), -1); err != nil {
		return fmt.Errorf("chown pty slave: %w", err)
	}
	if console {
		if err := rootfs.MountConsole(slave); err != nil {
			return err
		}
	}
	if err := syncSocket(syncFd).send(msgPty, nil, master); err != nil {
		return fmt.Errorf("send pty master: %w", err)
	}
	// EPERM: the parent already made us a session leader.
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make the pty our controlling terminal: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup the pty slave onto fd %d: %w", fd, err)
		}
	}
	return nil
}

// fileOrNil keeps a nil *os.File from becoming a non-nil io.Reader.
func fileOrNil(f *os.File) io.Reader {
	if f == nil {
		return nil
	}
	return f
}
