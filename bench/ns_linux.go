package main

import (
	"errors"
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// unifiedMount is this host's cgroup2 mount beside the v1 controllers; crun
// 1.8 sees it, calls the host "hybrid" and refuses to run.
const unifiedMount = "/sys/fs/cgroup/unified"

// nsThread runs functions on one OS thread that has its own mount namespace
// in which unifiedMount is gone, so every process started from it (forked
// from that thread) sees a plain cgroup v1 host. Doing it once per thread
// instead of wrapping each crun in `unshare -m sh -c 'umount ...'` keeps the
// wrapper's fork+exec cost out of crun's timings. The host's mounts are untouched.
type nsThread struct {
	work chan func()
}

func startCrunNS() (*nsThread, error) {
	t := &nsThread{work: make(chan func())}
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns the runtime ends the
		// thread, and the namespace with it, instead of reusing it elsewhere.
		runtime.LockOSThread()
		if err := enterCrunNS(); err != nil {
			errc <- err
			return
		}
		errc <- nil
		for fn := range t.work {
			fn()
		}
	}()
	if err := <-errc; err != nil {
		return nil, err
	}
	return t, nil
}

func enterCrunNS() error {
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("crun mount namespace: unshare: %w", err)
	}
	// Private first, or the umount below would propagate to the host.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("crun mount namespace: make / private: %w", err)
	}
	err := unix.Unmount(unifiedMount, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("crun mount namespace: umount %s: %w", unifiedMount, err)
	}
	return nil
}

// Do runs fn on the namespace's thread and waits for it.
func (t *nsThread) Do(fn func() error) error {
	errc := make(chan error, 1)
	t.work <- func() { errc <- fn() }
	return <-errc
}

// Close ends the thread and so the namespace.
func (t *nsThread) Close() { close(t.work) }
