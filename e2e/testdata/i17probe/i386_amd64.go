package main

import "golang.org/x/sys/unix"

// int80 makes i386 system call nr through int $0x80 and returns the raw
// result (a negative errno on failure, as a uintptr).
func int80(nr, a1, a2, a3 uintptr) uintptr

// The same calls through the i386 ABI: a filter must hold for every ABI
// the kernel takes from a container, else int $0x80 walks around it
// (docker's profile lists SCMP_ARCH_X86 beside SCMP_ARCH_X86_64).
func init() {
	probes["getpid-i386"] = func() error { return i386(20) }
	probes["keyctl-i386"] = func() error {
		return i386(288, unix.KEYCTL_GET_KEYRING_ID, uintptr(0xfffffffd) /* KEY_SPEC_SESSION_KEYRING */, 0)
	}
	probes["clone3-i386"] = func() error { return i386(435, 0, 0) } // size 0: the kernel's EINVAL
	probes["removexattrat-i386"] = func() error { return i386(466, 0xffffffff, 0, 0) }
}

func i386(nr uintptr, args ...uintptr) error {
	var a [3]uintptr
	copy(a[:], args)
	r := int32(int80(nr, a[0], a[1], a[2]))
	if r < 0 && r > -4096 {
		return unix.Errno(-r)
	}
	return nil
}
