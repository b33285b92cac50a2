package proc

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// Handle is a process held by a pidfd: signals and waits reach exactly the
// process whose start time was checked, even if its pid is reused later.
type Handle struct{ fd int }

// Open returns nil, nil when pid is not (or no longer) the process that
// started at start (0: any process with that pid).
func Open(pid int, start uint64) (*Handle, error) {
	if pid <= 0 {
		return nil, nil
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	unix.CloseOnExec(fd)
	// Checked after opening: the pidfd pins this process, so a match now
	// cannot be undone by a later pid reuse.
	if !Alive(pid, start) {
		unix.Close(fd)
		return nil, nil
	}
	return &Handle{fd: fd}, nil
}

// Signal sends sig; a process that has exited meanwhile is no error.
func (p *Handle) Signal(sig unix.Signal) error {
	err := unix.PidfdSendSignal(p.fd, sig, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// Wait reports whether the process exited within timeout (negative: for ever).
func (p *Handle) Wait(timeout time.Duration) bool {
	ms := -1
	if timeout >= 0 {
		ms = int(timeout / time.Millisecond)
	}
	deadline := time.Now().Add(timeout)
	for {
		fds := []unix.PollFd{{Fd: int32(p.fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, ms)
		if n > 0 {
			return true
		}
		if err != unix.EINTR {
			return false
		}
		if ms >= 0 {
			if ms = int(time.Until(deadline) / time.Millisecond); ms < 0 {
				ms = 0
			}
		}
	}
}

// Close releases the pidfd.
func (p *Handle) Close() { unix.Close(p.fd) }
