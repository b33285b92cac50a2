package ns

import "golang.org/x/sys/unix"

// ContainerCloneFlags are the namespaces a container's init is created in:
// its own mounts, pid 1, hostname, SysV IPC and network stack. The user
// namespace is left out: rootless adds CLONE_NEWUSER on top.
const ContainerCloneFlags = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS |
	unix.CLONE_NEWIPC | unix.CLONE_NEWNET
