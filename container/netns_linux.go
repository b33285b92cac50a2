package container

import (
	"fmt"
	"runtime"

	"github.com/vishvananda/netns"
)

// inNetnsOf runs fn in pid's network namespace, on a thread of its own
// that is never unlocked: it ends with its goroutine rather than go back.
// It could not always go back: a rootless monitor's own namespace is the
// host's, owned by the initial user namespace, where it has no
// CAP_SYS_ADMIN to setns (its container's, owned by its own, it may).
// What fn makes keeps the namespace it was made in (sockets, a TAP's fd).
func inNetnsOf(pid int, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked, see above
		target, err := netns.GetFromPid(pid)
		if err != nil {
			done <- fmt.Errorf("network namespace of %d: %w", pid, err)
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			done <- fmt.Errorf("enter the network namespace of %d: %w", pid, err)
			return
		}
		done <- fn()
	}()
	return <-done
}
