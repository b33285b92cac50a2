package attach

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Listen listens on a monitor's attach socket at path, replacing a stale
// one. path may be longer than a sockaddr_un allows (108 bytes).
func Listen(path string) (*net.UnixListener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("attach socket: %w", err)
	}
	var l *net.UnixListener
	err := viaShortPath(path, func(p string) error {
		os.Remove(p)
		var err error
		l, err = net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("attach socket %s: %w", path, err)
	}
	// The name may be the /proc alias: unlinking it at Close would be
	// unreliable, the monitor removes the socket itself.
	l.SetUnlinkOnClose(false)
	return l, nil
}

// Dial connects to the monitor listening at path, however long it is.
func Dial(path string) (*net.UnixConn, error) {
	var c *net.UnixConn
	err := viaShortPath(path, func(p string) error {
		var err error
		c, err = net.DialUnix("unix", nil, &net.UnixAddr{Name: p, Net: "unix"})
		return err
	})
	return c, err
}

// viaShortPath calls fn with path, or, when path is too long for a
// sockaddr_un, with /proc/self/fd/<dirfd>/<base>, which the kernel
// resolves through an O_PATH fd of the socket's directory.
func viaShortPath(path string, fn func(string) error) error {
	const maxSun = 107 // sun_path is 108 bytes with its NUL
	if len(path) <= maxSun {
		return fn(path)
	}
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: filepath.Dir(path), Err: err}
	}
	defer unix.Close(dir)
	return fn(fmt.Sprintf("/proc/self/fd/%d/%s", dir, filepath.Base(path)))
}
