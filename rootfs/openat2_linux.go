package rootfs

import (
	"errors"

	"golang.org/x/sys/unix"
)

// openat2 is unix.Openat2 retried while the kernel answers EAGAIN (or
// EINTR): a lookup confined with RESOLVE_IN_ROOT or RESOLVE_BENEATH that
// meets ".." fails with EAGAIN whenever a rename or a mount anywhere on
// the host raced it, and containers starting beside us mount all the
// time. Bounded, so a mount storm is an error, not a spin.
func openat2(dirfd int, path string, how *unix.OpenHow) (int, error) {
	for range 128 {
		fd, err := unix.Openat2(dirfd, path, how)
		if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
	return -1, unix.EAGAIN
}
