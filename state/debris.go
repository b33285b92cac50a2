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

// RemoveAbandoned removes container id's run directory if the container
// has no directory, and reports whether it did: what a run leaves when it
// gives up on the monitor it spawned early before its create made
// anything (the image is missing); the monitor calls it once its first
// client is gone without Go. A create that got further leaves a
// directory: its own failure removes it (Delete), a killed one leaves
// debris that the next create sweeps, run directory included. The monitor
// never sweeps it itself: a concurrent create would find the debris
// locked and its name taken.
func RemoveAbandoned(root, runRoot, id string) bool {
	dir, err := Dir(root, id)
	if err != nil {
		return false
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return os.RemoveAll(RunDir(runRoot, id)) == nil
}

// noRecord: dir exists and holds no state.json.
func noRecord(dir string) bool {
	if _, err := os.Stat(dir); err != nil {
		return false
	}
	_, err := os.Stat(filepath.Join(dir, "state.json"))
	return errors.Is(err, fs.ErrNotExist)
}

// SweepDebris removes every container directory left by a killed create,
// and every run directory left by a run killed before its container had a
// directory. It costs a stat or two per container.
func SweepDebris(root, runRoot string) {
	ents, err := os.ReadDir(ContainersDir(root))
	if err == nil {
		for _, e := range ents {
			if e.IsDir() && ValidID(e.Name()) {
				removeDebris(root, runRoot, e.Name())
			}
		}
	}
	if ents, err = os.ReadDir(filepath.Join(runRoot, "containers")); err == nil {
		for _, e := range ents {
			if e.IsDir() && ValidID(e.Name()) {
				removeOrphanRunDir(root, runRoot, e.Name())
			}
		}
	}
}

// removeOrphanRunDir removes id's run directory if id has no container
// directory and no monitor: what a run leaves when it is killed after
// taking its monitor lock and before its monitor runs. A run holds the
// container lock from before it makes the run directory until the
// monitor it spawns holds the monitor lock, so under that lock a free
// monitor lock means nobody will use the directory.
func removeOrphanRunDir(root, runRoot, id string) {
	dir, err := Dir(root, id)
	if err != nil {
		return
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		return
	}
	l, ok, err := TryLockContainer(runRoot, id)
	if err != nil || !ok {
		return
	}
	defer l.Unlock()
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) || MonitorAlive(runRoot, id) {
		return
	}
	os.RemoveAll(RunDir(runRoot, id))
	RemoveLockFile(runRoot, id)
}
