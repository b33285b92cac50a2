package network

import (
	"fmt"

	"github.com/vishvananda/netlink"
)

// LoopbackUp brings up "lo" in the calling thread's network namespace: a
// fresh netns has lo down, and programs expect 127.0.0.1 to work.
func LoopbackUp() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	return nil
}
