package volume

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Hold takes the volumes lock shared: create and run hold it from making
// or choosing a volume until their container's record is saved, so that
// volume rm and prune (Exclusive) see every container that uses a volume.
func (s Store) Hold() (release func(), err error) { return s.lock(unix.LOCK_SH) }

// Exclusive takes the volumes lock exclusively: volume rm and prune hold
// it while they check which containers use a volume and delete it.
func (s Store) Exclusive() (release func(), err error) { return s.lock(unix.LOCK_EX) }

func (s Store) lock(how int) (func(), error) {
	if err := os.MkdirAll(s.dir(), 0o701); err != nil {
		return nil, fmt.Errorf("lock volumes: %w", err)
	}
	path := filepath.Join(s.dir(), ".lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) // O_CLOEXEC by Go
	if err != nil {
		return nil, fmt.Errorf("lock volumes: %w", err)
	}
	if err := flock(f, how); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}

func flock(f *os.File, how int) error {
	for {
		if err := unix.Flock(int(f.Fd()), how); err != unix.EINTR {
			return err
		}
	}
}

// lockedTemp makes a new directory under parent, named prefix and random
// hex, and holds an exclusive flock on it until unlock: sweep takes a
// directory whose lock is free for the debris of a dead writer. The lock
// is taken on the directory itself and checked to still be the one at
// the path, in case a sweep removed it between the mkdir and the flock.
func lockedTemp(parent, prefix string) (dir string, unlock func(), err error) {
	for range 10 {
		dir = filepath.Join(parent, prefix+randomHex(8))
		if err := os.Mkdir(dir, 0o700); err != nil {
			return "", nil, err
		}
		f, err := os.Open(dir)
		if err != nil {
			continue // swept already
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && sameDir(f, dir) {
			return dir, func() { f.Close() }, nil
		}
		f.Close()
	}
	return "", nil, fmt.Errorf("make a temporary directory in %s: swept away 10 times", parent)
}

func sameDir(f *os.File, path string) bool {
	a, err1 := f.Stat()
	b, err2 := os.Lstat(path)
	return err1 == nil && err2 == nil && os.SameFile(a, b)
}

// sweep removes parent's entries named prefix... whose flock is free:
// what a killed create, fill or remove left. A live writer holds its
// lock; one that renamed its directory into place took the path with it.
func sweep(parent, prefix string) {
	ents, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), prefix) {
			continue
		}
		path := filepath.Join(parent, e.Name())
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil && sameDir(f, path) {
			os.RemoveAll(path)
		}
		f.Close()
	}
}

// rename is rename(2): os.Rename refuses any existing directory as the
// new name, and replacing an empty one is the point here.
func rename(from, to string) error {
	if err := unix.Rename(from, to); err != nil {
		return &os.LinkError{Op: "rename", Old: from, New: to, Err: err}
	}
	return nil
}

// isNotEmpty is rename(2)'s refusal to replace a directory that has
// entries (ENOTEMPTY, or EEXIST on some filesystems).
func isNotEmpty(err error) bool {
	return errors.Is(err, unix.ENOTEMPTY) || errors.Is(err, unix.EEXIST)
}
