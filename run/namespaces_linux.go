package run

import "github.com/skiff-dev/skiff/ns"

// Shared are the namespaces a new container's init is not given of its
// own (--pid, --ipc, --uts): the host's, or another running container's,
// which the spawning thread joins before the fork so the init is born in
// them, as it is in another's network namespace.
type Shared struct {
	// Host are the CLONE_NEW* flags of the namespaces shared with the host.
	Host uintptr
	// Join are namespaces of running containers (the caller closes each
	// Target once the start is over).
	Join []Joined
}

// Joined is one namespace (Flag, a CLONE_NEW* flag) of a running process.
type Joined struct {
	Flag   int
	Target *ns.Target
}

// notNew are the clone flags of the namespaces the init is not born in a
// new one of.
func (s Shared) notNew() uintptr {
	f := s.Host
	for _, j := range s.Join {
		f |= uintptr(j.Flag)
	}
	return f
}

// join moves the calling (discarded) thread into the joined namespaces.
func (s Shared) join() error {
	for _, j := range s.Join {
		if err := j.Target.Join(j.Flag); err != nil {
			return err
		}
	}
	return nil
}
