package cgroup

import "golang.org/x/sys/unix"

const (
	syscallEBUSY = unix.EBUSY
	syscallEROFS = unix.EROFS
)
