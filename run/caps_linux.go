package run

import (
	"fmt"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/spec"
)

// capNames maps OCI capability names to numbers. Only the names in this
// table can be granted; an unknown name is a setup error, never ignored.
var capNames = map[string]int{
	"CAP_CHOWN": unix.CAP_CHOWN, "CAP_DAC_OVERRIDE": unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH": unix.CAP_DAC_READ_SEARCH, "CAP_FOWNER": unix.CAP_FOWNER,
	"CAP_FSETID": unix.CAP_FSETID, "CAP_KILL": unix.CAP_KILL, "CAP_SETGID": unix.CAP_SETGID,
	"CAP_SETUID": unix.CAP_SETUID, "CAP_SETPCAP": unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE": unix.CAP_LINUX_IMMUTABLE, "CAP_NET_BIND_SERVICE": unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST": unix.CAP_NET_BROADCAST, "CAP_NET_ADMIN": unix.CAP_NET_ADMIN,
	"CAP_NET_RAW": unix.CAP_NET_RAW, "CAP_IPC_LOCK": unix.CAP_IPC_LOCK, "CAP_IPC_OWNER": unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE": unix.CAP_SYS_MODULE, "CAP_SYS_RAWIO": unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT": unix.CAP_SYS_CHROOT, "CAP_SYS_PTRACE": unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT": unix.CAP_SYS_PACCT, "CAP_SYS_ADMIN": unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT": unix.CAP_SYS_BOOT, "CAP_SYS_NICE": unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE": unix.CAP_SYS_RESOURCE, "CAP_SYS_TIME": unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG": unix.CAP_SYS_TTY_CONFIG, "CAP_MKNOD": unix.CAP_MKNOD,
	"CAP_LEASE": unix.CAP_LEASE, "CAP_AUDIT_WRITE": unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL": unix.CAP_AUDIT_CONTROL, "CAP_SETFCAP": unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE": unix.CAP_MAC_OVERRIDE, "CAP_MAC_ADMIN": unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG": unix.CAP_SYSLOG, "CAP_WAKE_ALARM": unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND": unix.CAP_BLOCK_SUSPEND, "CAP_AUDIT_READ": unix.CAP_AUDIT_READ,
	"CAP_PERFMON": unix.CAP_PERFMON, "CAP_BPF": unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// capMask turns OCI names ("CAP_CHOWN", also "chown") into a bit mask.
func capMask(names []string) (uint64, error) {
	var m uint64
	for _, n := range names {
		up := strings.ToUpper(n)
		if !strings.HasPrefix(up, "CAP_") {
			up = "CAP_" + up
		}
		c, ok := capNames[up]
		if !ok {
			return 0, fmt.Errorf("unknown capability %q", n)
		}
		m |= 1 << uint(c)
	}
	return m, nil
}

// capSets is the five sets as masks.
type capSets struct {
	bounding, effective, permitted, inheritable, ambient uint64
}

// capSetsFor computes the sets from the spec, or docker's DefaultCaps when
// it names none, so a container never inherits the caller's full set.
// Effective and permitted are what the spec says (the kernel clears them on
// exec for a non-root uid); inheritable and ambient only if the spec asks,
// and docker leaves them empty.
func capSetsFor(c *specs.LinuxCapabilities) (capSets, error) {
	if c == nil {
		m, err := capMask(spec.DefaultCaps)
		return capSets{bounding: m, effective: m, permitted: m}, err
	}
	var s capSets
	for _, x := range []struct {
		dst   *uint64
		names []string
	}{
		{&s.bounding, c.Bounding}, {&s.effective, c.Effective}, {&s.permitted, c.Permitted},
		{&s.inheritable, c.Inheritable}, {&s.ambient, c.Ambient},
	} {
		m, err := capMask(x.names)
		if err != nil {
			return s, err
		}
		*x.dst = m
	}
	// The kernel refuses a set wider than the one it derives from: keep
	// each within the bounding and permitted sets rather than fail on exec.
	s.permitted &= s.bounding
	s.effective &= s.permitted
	s.ambient &= s.permitted & s.inheritable
	return s, nil
}

// lastCap is the highest capability the running kernel knows: the last
// number PR_CAPBSET_READ accepts, asked of the kernel (two or three calls
// from the number x/sys knows) rather than read from
// /proc/sys/kernel/cap_last_cap, which for the init and an exec'd process
// is the container's /proc: a file faked there would have left every
// capability above its number in the bounding set (CVE-2025-52881's class).
func lastCap() int {
	known := func(c int) bool {
		_, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		return err == nil
	}
	c := unix.CAP_LAST_CAP
	for c < 63 && known(c+1) {
		c++
	}
	for c > 0 && !known(c) {
		c--
	}
	return c
}

// dropBounding removes from the bounding set every capability not in keep,
// so no later exec (setuid binary, file caps) can gain more than keep.
func dropBounding(keep uint64, last int) error {
	for c := 0; c <= last; c++ {
		if keep&(1<<uint(c)) != 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil {
			return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
		}
	}
	return nil
}

// applyCaps sets permitted, effective and inheritable of this thread and
// clears the ambient set (then raises the ambient ones asked for).
func applyCaps(s capSets) error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := range data {
		data[i].Effective = uint32(s.effective >> (32 * i))
		data[i].Permitted = uint32(s.permitted >> (32 * i))
		data[i].Inheritable = uint32(s.inheritable >> (32 * i))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c < 64; c++ {
		if s.ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d: %w", c, err)
		}
	}
	return nil
}

// boundingCaps are the names of the capabilities in the calling process's
// bounding set, in number order: what "every capability" (docker's
// --privileged) can mean, since no process gets one outside it.
func boundingCaps() []string {
	byNumber := make(map[int]string, len(capNames))
	for n, c := range capNames {
		byNumber[c] = n
	}
	var names []string
	for c := 0; c <= lastCap(); c++ {
		in, err := unix.PrctlRetInt(unix.PR_CAPBSET_READ, uintptr(c), 0, 0, 0)
		if name, known := byNumber[c]; err == nil && in == 1 && known {
			names = append(names, name)
		}
	}
	return names
}
