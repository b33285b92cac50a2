package state

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Lock is an exclusive flock held on a file under <runroot>/locks; the
// kernel drops it if the holder dies, so a crash never leaves it stuck.
type Lock struct{ f *os.File }

// LockContainer serializes skiff invocations that change container id.
func LockContainer(runRoot, id string) (*Lock, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("invalid container id %q", id)
	}
	return lockFile(filepath.Join(runRoot, "locks", id+".lock"))
}

// lockNames serializes name reservation across all containers.
func lockNames(runRoot string) (*Lock, error) {
	return lockFile(filepath.Join(runRoot, "locks", "names.lock"))
}

func lockFile(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // O_CLOEXEC by Go
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &Lock{f: f}, nil
}

// Unlock releases the lock; the lock file stays (removing it would race
// with a waiter that already opened it).
func (l *Lock) Unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// RemoveLockFile deletes a removed container's lock file; call it only
// while holding that lock, after the container's directory is gone.
func RemoveLockFile(runRoot, id string) {
	if ValidID(id) {
		os.Remove(filepath.Join(runRoot, "locks", id+".lock"))
	}
}
