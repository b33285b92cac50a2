package seccomp

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs p on every thread of the calling process (TSYNC), with
// p.Flags. Without no_new_privs the caller needs CAP_SYS_ADMIN: load
// before dropping capabilities then, as runc does. A nil p is a no-op.
func Load(p *Program) error {
	if p == nil {
		return nil
	}
	n := p.Len()
	if n == 0 || n > maxInsns || len(p.Insns)%insnSize != 0 {
		return fmt.Errorf("loading seccomp filter: invalid program of %d bytes", len(p.Insns))
	}
	filter := make([]unix.SockFilter, n)
	for i := range filter {
		b := p.Insns[i*insnSize:]
		filter[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:]),
		}
	}
	prog := unix.SockFprog{Len: uint16(n), Filter: &filter[0]}
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC) | uintptr(p.Flags)
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filter)
	switch {
	case errno == unix.EACCES:
		return fmt.Errorf("loading seccomp filter: %w (the process needs no_new_privs or CAP_SYS_ADMIN)", errno)
	case errno != 0:
		return fmt.Errorf("loading seccomp filter: %w", errno)
	case r != 0:
		// TSYNC failed: thread r runs under a filter this one does not
		// descend from.
		return fmt.Errorf("loading seccomp filter: thread %d cannot be synchronised with the caller's filter", r)
	}
	return nil
}
