package network

import (
	"os"
	"runtime"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestLoopbackUp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("a new network namespace needs root")
	}
	errs := make(chan error, 1)
	go func() {
		// The thread stays locked in its own netns; Go discards it when
		// this goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errs <- err
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			errs <- err
			return
		}
		if lo.Attrs().Flags&unix.IFF_UP != 0 {
			t.Errorf("lo is already up in a fresh netns: the test proves nothing")
		}
		if err := LoopbackUp(); err != nil {
			errs <- err
			return
		}
		if lo, err = netlink.LinkByName("lo"); err == nil && lo.Attrs().Flags&unix.IFF_UP == 0 {
			t.Errorf("lo still down after LoopbackUp")
		}
		errs <- err
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
}
