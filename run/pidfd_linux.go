package run

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/state"
)

// proc is a process held by a pidfd: signals and waits reach exactly the
// process whose start time was checked, even if its pid is reused later.
type proc struct{ fd int }

// openProc returns nil, nil when pid is not (or no longer) the process
// that started at start.
func openProc(pid int, start uint64) (*proc, error) {
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
	if !state.Alive(pid, start) {
		unix.Close(fd)
		return nil, nil
	}
	return &proc{fd: fd}, nil
}

func (p *proc) signal(sig unix.Signal) error {
	err := unix.PidfdSendSignal(p.fd, sig, nil, 0)
	if err != nil && !errors.Is(err, unix.ESRCH) {
		return fmt.Errorf("signal %v: %w", sig, err)
	}
	return nil
}

// wait reports whether the process exited within timeout (negative: for ever).
func (p *proc) wait(timeout time.Duration) bool {
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

func (p *proc) close() { unix.Close(p.fd) }
