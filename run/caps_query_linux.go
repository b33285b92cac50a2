package run

// Questions the CLI and create ask about capabilities: is a name one the
// init can grant, is it in our bounding set (what --privileged and
// --cap-add ALL mean), is it in our effective set.

import "golang.org/x/sys/unix"

// KnownCap reports whether name ("CAP_SYS_ADMIN") is a capability the init
// can grant.
func KnownCap(name string) bool {
	_, ok := capNames[name]
	return ok
}

// InBoundingSet reports whether the known capability name is in the
// calling process's bounding set (so a container can be given it).
func InBoundingSet(name string) bool {
	c, ok := capNames[name]
	if !ok || c > lastCap() {
		return false
	}
	in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
	return err == nil && in == 1
}

// BoundingCaps are the names of the capabilities in the calling process's
// bounding set: every capability a container can get (--privileged).
func BoundingCaps() []string { return boundingCaps() }

// HaveCap reports whether the calling thread has the known capability
// name in its effective set.
func HaveCap(name string) bool {
	c, ok := capNames[name]
	if !ok {
		return false
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	return data[c/32].Effective&(1<<uint(c%32)) != 0
}
