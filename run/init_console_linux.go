package run

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/fs"
)

// setupConsole creates the container's pty in its own devpts instance (so
// the parent never hands it a host pty), binds the slave on /dev/console,
// sends the master to the parent and makes the slave this process's stdio
// and controlling terminal. The slave belongs to the container's user.
func setupConsole(uid uint32) error {
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/pts/ptmx: %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("get pty number: %w", err)
	}
	slavePath := fmt.Sprintf("/dev/pts/%d", n)
	slave, err := unix.Open(slavePath, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", slavePath, err)
	}
	defer unix.Close(slave)
	if err := unix.Fchown(slave, int(uid), -1); err != nil {
		return fmt.Errorf("chown %s: %w", slavePath, err)
	}
	if err := fs.MountConsole(slavePath); err != nil {
		return err
	}
	if err := unix.Sendmsg(syncFd, []byte(ptyMasterMsg), unix.UnixRights(master), nil, 0); err != nil {
		return fmt.Errorf("send pty master to parent: %w", err)
	}
	// EPERM: the parent already made us a session leader.
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("setsid: %w", err)
	}
	if err := unix.IoctlSetInt(slave, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("make %s the controlling terminal: %w", slavePath, err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("dup %s onto fd %d: %w", slavePath, fd, err)
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
