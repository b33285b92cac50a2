package run

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/rootfs"
)

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
	// ShmTree is a detached copy of the IPC donor's /dev/shm mount
	// (--ipc container:, open_tree), which the init attaches as its own
	// /dev/shm, as docker binds the donor's; the caller closes it.
	ShmTree *os.File
}

// shmTreeFd is ShmTree's fd in the init: the ExtraFiles entry after the
// sync socket.
const shmTreeFd = syncFd + 1

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

// attachSharedShm puts the donor's /dev/shm (fd shmTreeFd, a detached
// mount) on the container's /dev/shm, resolved inside its root, and
// closes the fd.
func attachSharedShm(root string) error {
	defer unix.Close(shmTreeFd)
	target, err := rootfs.OpenInRoot(root, "/dev/shm", rootfs.Dir)
	if err != nil {
		return fmt.Errorf("shared /dev/shm: %w", err)
	}
	defer unix.Close(target)
	if err := unix.MoveMount(shmTreeFd, "", target, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("shared /dev/shm: %w", os.NewSyscallError("move_mount", err))
	}
	return nil
}
