package store

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// flock opens (creating) path and takes an flock on it; closing the returned
// file releases the lock, and so does the kernel when the process dies, which
// is what makes a free lock proof that its holder is gone.
func flock(path string, how int) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// tryLock is flock without waiting: ok is false when someone else holds it.
func tryLock(path string) (f *os.File, ok bool) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, false
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil, false
	}
	return f, true
}

// tryFlock takes an exclusive flock on f without waiting.
func tryFlock(f *os.File) bool {
	return unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil
}

// sameFile reports whether the locked file f is still the one at path: a
// sweeper may have removed a lock between our create and our flock.
func sameFile(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Stat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

const (
	lockEx = unix.LOCK_EX
	lockSh = unix.LOCK_SH
)
