package logfile

import (
	"time"

	"golang.org/x/sys/unix"
)

// watch wakes a follow when the log grows: inotify where it works, else a
// short sleep.
type watch struct{ fd int }

func newWatch(path string) *watch {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return &watch{fd: -1}
	}
	if _, err := unix.InotifyAddWatch(fd, path, unix.IN_MODIFY|unix.IN_CLOSE_WRITE); err != nil {
		unix.Close(fd)
		return &watch{fd: -1}
	}
	return &watch{fd: fd}
}

// wait returns after the log changes or pollInterval, false once stop is closed.
func (w *watch) wait(stop <-chan struct{}) bool {
	select {
	case <-stop:
		return false
	default:
	}
	if w.fd < 0 {
		select {
		case <-stop:
			return false
		case <-time.After(pollInterval):
			return true
		}
	}
	fds := []unix.PollFd{{Fd: int32(w.fd), Events: unix.POLLIN}}
	n, _ := unix.Poll(fds, int(pollInterval/time.Millisecond))
	if n > 0 {
		var buf [4096]byte
		for {
			if _, err := unix.Read(w.fd, buf[:]); err != nil {
				break
			}
		}
	}
	select {
	case <-stop:
		return false
	default:
		return true
	}
}

func (w *watch) close() {
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
}
