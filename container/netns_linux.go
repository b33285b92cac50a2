package container

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetnsOf runs fn in pid's network namespace, from a thread of its own
// that goes back to the monitor's namespace after. If it cannot go back,
// undo (when fn succeeded) releases what fn made, and the thread is never
// unlocked: it ends with its goroutine rather than run other goroutines in
// the container's namespace.
func inNetnsOf(pid int, fn func() error, undo func()) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		own, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("the monitor's network namespace: %w", err)
			return
		}
		defer own.Close()
		target, err := netns.GetFromPid(pid)
		if err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("network namespace of %d: %w", pid, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("enter the network namespace of %d: %w", pid, err)
			return
		}
		err = fn()
		if backErr := netns.Set(own); backErr != nil {
			if err == nil {
				undo()
				done <- fmt.Errorf("back to the monitor's network namespace: %w", backErr)
				return
			}
			done <- fmt.Errorf("%v, and back to the monitor's network namespace: %w", err, backErr)
			return
		}
		runtime.UnlockOSThread()
		done <- err
	}()
	return <-done
}
