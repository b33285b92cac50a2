package state

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// A create holds the new container's lock from making its directory until
// its record is saved, so a directory without a record whose lock is free
// is debris of a killed create, never a create in progress.

// TryLockContainer is LockContainer without waiting: ok is false if
// another process holds the lock.
func TryLockContainer(runRoot, id string) (l *Lock, ok bool, err error) {
	if !ValidID(id) {
		return nil, false, errors.New("invalid container id " + id)
	}
	path := filepath.Join(runRoot, "locks", id+".lock")
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, false, err
	}
	if err := flock(f, unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, false, nil
		}
		return nil, false, err
	}
	return &Lock{f: f}, true, nil
}

// removeDebris removes container id's directory if it is debris, and
// reports whether it did.
func removeDebris(root, runRoot, id string) bool {
	dir, err := Dir(root, id)
	if err != nil || !noRecord(dir) {
		return false
	}
	l, ok, err := TryLockContainer(runRoot, id)
	if err != nil || !ok {
		return false
	}
	defer l.Unlock()
	if !noRecord(dir) {
		return false // saved while we took the lock
	}
	if err := os.RemoveAll(dir); err != nil {
		return false
	}
	os.RemoveAll(RunDir(runRoot, id))
	RemoveLockFile(runRoot, id)
	return true
}

// noRecord: dir exists and holds no state.json.
func noRecord(dir string) bool {
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "state.json"))
	return errors.Is(err, fs.ErrNotExist)
}

// SweepDebris removes every container directory left by a killed create.
// It costs one stat per container without a record, which is none when
// nothing went wrong.
func SweepDebris(root, runRoot string) {
	ents, err := os.ReadDir(ContainersDir(root))
	if err != nil {
		return
	}
	for _, e := range ents {
		if e.IsDir() && ValidID(e.Name()) {
			removeDebris(root, runRoot, e.Name())
		}
	}
}
