// Command i17probe is the e2e suite's seccomp probe (issue 17), built
// static and put into a test image: busybox has no way to make a given
// system call and say what the kernel (or the filter in front of it)
// answered.
//
//	i17probe NAME...   make each named call with fixed harmless arguments and
//	                   print "NAME ok" or "NAME ERRNO" (EPERM, ENOSYS, ...);
//	                   the name status prints the Seccomp, NoNewPrivs and
//	                   capability lines of /proc/self/status instead
//
// Every probe is harmless whatever answers it, the filter or the kernel,
// and whatever capabilities the probe runs with: the arguments are ones
// the kernel rejects before it acts (settime, init-module, clone3,
// highest+1, lsm_list_modules), or the call only queries (keyctl,
// personality-query), or what it makes is the probe's own and goes with
// it (a bpf map, a perf counter, a socket, a directory, a child in a user
// namespace of its own). On x86_64 some also go through the i386 ABI
// (i386_amd64.go).
package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// highestPlusOne is one above the highest x86_64 syscall docker's profile
// (moby/profiles/seccomp v0.3.0) names, removexattrat (466): open_tree_attr
// on kernels since 6.15, which the filter must answer with ENOSYS as it
// does every call newer than the profile (moby#42680), where the default
// action would say EPERM.
const highestPlusOne = 467

// probes are the calls by name; each returns nil or the errno.
var probes = map[string]func() error{
	"getpid":          func() error { return raw(unix.SYS_GETPID) },
	"keyctl":          keyctl,
	"bpf":             bpf,
	"perf_event_open": perfEventOpen,
	"unshare-user":    unshareUser,
	"clone-newuser":   func() error { return startSelf(&syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER}) },
	"fork-exec":       func() error { return startSelf(nil) },
	"settime":         settime,
	"init-module":     initModule,
	"clone3":          func() error { return raw(unix.SYS_CLONE3, 0, 0) }, // size 0: the kernel's EINVAL
	"highest+1": func() error {
		return raw(highestPlusOne, ^uintptr(0), 0, 0, 0, 0) // dfd -1, no path: EBADF or EFAULT
	},
	"syscall-1000":      func() error { return raw(1000) },
	"personality-query": func() error { return raw(unix.SYS_PERSONALITY, 0xffffffff) },
	// ADDR_NO_RANDOMIZE for this process's later execs: docker's profile
	// allows only five personality values.
	"personality-set": func() error { return raw(unix.SYS_PERSONALITY, 0x0040000) },
	"socket-vsock":    func() error { return socket(unix.AF_VSOCK) },
	"socket-inet":     func() error { return socket(unix.AF_INET) },
	"mkdir":           mkdir,
	// lsm_list_modules (461), below the profile's highest call but named
	// only by its CAP_SYS_ADMIN rule: the default action's EPERM, not the
	// ENOSYS of calls newer than the profile. No buffers: EFAULT unfiltered.
	"lsm_list_modules": func() error { return raw(461, 0, 0, 0) },
	// Newer calls docker's profile allows: cachestat (451) on fd -1, the
	// kernel's EBADF; removexattrat (466), the highest call the profile
	// names, with no name to remove: EFAULT. A filter that does not know
	// their numbers answers ENOSYS.
	"cachestat":     func() error { return raw(451, ^uintptr(0), 0, 0, 0) },
	"removexattrat": func() error { return raw(466, ^uintptr(0), 0, 0, 0) },
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	for _, name := range os.Args[1:] {
		if probes[name] == nil && name != "status" {
			usage()
		}
	}
	for _, name := range os.Args[1:] {
		if name != "status" {
			fmt.Println(name, answer(probes[name]()))
		} else if err := status(); err != nil {
			fmt.Fprintln(os.Stderr, "i17probe:", err)
			os.Exit(1)
		}
	}
}

func usage() {
	var names []string
	for n := range probes {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: i17probe NAME... (status %s)\n", strings.Join(names, " "))
	os.Exit(2)
}

// answer is "ok" or the errno's name.
func answer(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return "error:" + strings.ReplaceAll(err.Error(), " ", "_")
	}
	if name := unix.ErrnoName(errno); name != "" {
		return name
	}
	return fmt.Sprintf("errno%d", int(errno))
}

// raw makes system call nr, the answer's errno or nil.
func raw(nr uintptr, args ...uintptr) error {
	var a [6]uintptr
	copy(a[:], args)
	_, _, e := unix.Syscall6(nr, a[0], a[1], a[2], a[3], a[4], a[5])
	if e != 0 {
		return e
	}
	return nil
}

// keyctl asks for the session keyring's id without creating one.
func keyctl() error {
	_, err := unix.KeyctlInt(unix.KEYCTL_GET_KEYRING_ID, unix.KEY_SPEC_SESSION_KEYRING, 0, 0, 0)
	return err
}

// bpf asks for a map of type 0 (unspec), which the kernel refuses.
func bpf() error {
	var attr [128]byte
	fd, _, e := unix.Syscall(unix.SYS_BPF, 0 /* BPF_MAP_CREATE */, uintptr(unsafe.Pointer(&attr[0])), unsafe.Sizeof(attr))
	if e != 0 {
		return e
	}
	unix.Close(int(fd))
	return nil
}

// perfEventOpen opens a disabled software dummy counter on this process.
func perfEventOpen() error {
	attr := unix.PerfEventAttr{Type: unix.PERF_TYPE_SOFTWARE, Config: unix.PERF_COUNT_SW_DUMMY, Bits: unix.PerfBitDisabled}
	attr.Size = uint32(unsafe.Sizeof(attr))
	fd, err := unix.PerfEventOpen(&attr, 0, -1, -1, unix.PERF_FLAG_FD_CLOEXEC)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// unshareUser starts this program again in a child that first unshares a
// user namespace: a Go program has threads, and the kernel takes
// CLONE_NEWUSER only from a single-threaded process, which the child
// between its fork and its exec is.
func unshareUser() error {
	return startSelf(&syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWUSER})
}

// startSelf runs this program's getpid probe as a child started with
// attr: Go reports the errno of the clone, or of the child's unshare, as
// the start's error. clone-newuser asks clone for a user namespace, which
// docker's profile refuses by a masked comparison of clone's flags;
// fork-exec is the plain start (CLONE_VFORK|CLONE_VM|CLONE_PIDFD), which
// it allows.
func startSelf(attr *syscall.SysProcAttr) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.Command(self, "getpid")
	cmd.SysProcAttr = attr
	return cmd.Run()
}

// settime sets CLOCK_REALTIME to an invalid time (negative seconds and
// nanoseconds): the kernel checks the value before the caller's
// CAP_SYS_TIME (do_sys_settimeofday64) and answers EINVAL, so the host's
// clock cannot change even when nothing else stops the call. The filter
// answers EPERM before that.
func settime() error {
	ts := unix.Timespec{Sec: -1, Nsec: -1}
	return raw(unix.SYS_CLOCK_SETTIME, unix.CLOCK_REALTIME, uintptr(unsafe.Pointer(&ts)))
}

// initModule loads a module from fd -1: EPERM without CAP_SYS_MODULE, else
// the kernel's EBADF.
func initModule() error { return unix.FinitModule(-1, "", 0) }

func socket(family int) error {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// mkdir makes and removes /i17probe.d.
func mkdir() error {
	const dir = "/i17probe.d"
	if err := unix.Mkdir(dir, 0o755); err != nil {
		return err
	}
	return unix.Rmdir(dir)
}

// status prints /proc/self/status's lines about confinement.
func status() error {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return err
	}
	for _, l := range strings.Split(string(b), "\n") {
		key, _, _ := strings.Cut(l, ":")
		switch key {
		case "Seccomp", "Seccomp_filters", "NoNewPrivs", "CapEff", "CapPrm", "CapBnd":
			fmt.Println(l)
		}
	}
	return nil
}
