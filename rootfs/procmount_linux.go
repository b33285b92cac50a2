package rootfs

// Where procfs and sysfs may go, and what may go on /proc (runc's
// checkProcMount, the rules docker's users already live with). A /proc
// that is not the container's procfs (an image's /proc -> /somewhere, a
// volume on /proc, a bind over /proc/sys/...) would make every masked and
// read-only path under it, and any write the runtime makes there, land on
// something else: the setting of CVE-2025-52881 and, for the masks,
// CVE-2025-31133.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// procBindable are the only files a mount may cover below /proc: the ones
// lxcfs emulates (runc's list).
var procBindable = map[string]bool{
	"/proc/cpuinfo": true, "/proc/diskstats": true, "/proc/meminfo": true, "/proc/stat": true,
	"/proc/swaps": true, "/proc/uptime": true, "/proc/loadavg": true, "/proc/slabinfo": true,
	"/proc/sys/kernel/ns_last_pid": true, "/proc/sys/crypto/fips_enabled": true,
}

// checkKernelFsTarget refuses procfs or sysfs on anything but an ordinary
// directory of the root: a link (anywhere on the path) would put it, and
// every mask and read-only path below it, where the link points. Missing
// is fine: it is made as a directory.
func checkKernelFsTarget(rootfs string, m specs.Mount) error {
	if m.Type != "proc" && m.Type != "sysfs" {
		return nil
	}
	root, err := unix.Open(rootfs, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rootfs, err)
	}
	defer unix.Close(root)
	fd, err := openStrict(root, m.Destination, unix.O_PATH)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	refused := fmt.Errorf("mount %s on %s: filesystem %q must be mounted on ordinary directory", m.Type, m.Destination, m.Type)
	if errors.Is(err, ErrSymlinkOnPath) {
		return refused
	}
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Type, m.Destination, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return refused
	}
	return nil
}

// checkProcTarget refuses a mount whose target, the fd the mount will
// use (resolved inside rootfs), is /proc for anything but a procfs, or
// lies below /proc but for procBindable's files. Called before pivot_root:
// the fd's path is read through the host's /proc, which the container
// cannot touch.
func checkProcTarget(rootfs string, fd int, m specs.Mount) error {
	where, err := inRootPath(rootfs, fd)
	if err != nil {
		return fmt.Errorf("mount %s on %s: %w", m.Source, m.Destination, err)
	}
	switch {
	case where == "/proc":
		if m.Type == "proc" || isProcfsBind(m) {
			return nil
		}
		return fmt.Errorf("mount %s on %s: %q cannot be mounted because it is not of type proc", describe(m.Source, m.Type), m.Destination, where)
	case strings.HasPrefix(where, "/proc/") && !procBindable[where]:
		return fmt.Errorf("mount %s on %s: %q cannot be mounted because it is inside /proc", describe(m.Source, m.Type), m.Destination, where)
	}
	return nil
}

// isProcfsBind: a bind of a procfs (the host's /proc, say) on /proc,
// which runc lets through.
func isProcfsBind(m specs.Mount) bool {
	if m.Type != "bind" && !parseMountOptions(m.Options).isBind() {
		return false
	}
	var fs unix.Statfs_t
	return unix.Statfs(m.Source, &fs) == nil && fs.Type == unix.PROC_SUPER_MAGIC
}

func (o mountOpts) isBind() bool { return o.flags&unix.MS_BIND != 0 }

// inRootPath is where the open fd is inside rootfs ("/proc"), read from
// both fds' links in the (host's) /proc/self/fd: the kernel's names, so a
// rootfs reached through the host's links compares right.
func inRootPath(rootfs string, fd int) (string, error) {
	root, err := canonicalDir(rootfs)
	if err != nil {
		return "", err
	}
	p, err := os.Readlink(fdPath(fd))
	if err != nil {
		return "", fmt.Errorf("where the target is: %w", err)
	}
	rel, err := filepath.Rel(root, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("the target %s is outside the root %s", p, root)
	}
	return filepath.Join("/", rel), nil
}

func canonicalDir(dir string) (string, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(fd)
	return os.Readlink(fdPath(fd))
}
