package rootfs

import (
	"fmt"
	"os"
	"strings"

	"golang.org/x/sys/unix"
)

// WriteProcSys writes value to the sysctl key ("net.ipv4.ip_forward")
// under the calling process's /proc/sys, the one way the init writes
// there (CVE-2025-52881: a write redirected by a swapped path lands on
// the host). /proc/sys is opened first and checked to be procfs, then
// the key's file is opened beneath it with no symlink followed, so the
// write can only reach a procfs file below that directory.
func WriteProcSys(key, value string) error {
	rel := strings.ReplaceAll(key, ".", "/")
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return fmt.Errorf("sysctl %q: not a sysctl key", key)
	}
	dir, err := unix.Open("/proc/sys", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("sysctl %s: open /proc/sys: %w", key, err)
	}
	defer unix.Close(dir)
	if err := checkProcfs(dir); err != nil {
		return fmt.Errorf("sysctl %s: /proc/sys: %w", key, err)
	}
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_TRUNC | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	})
	if err != nil {
		return fmt.Errorf("sysctl %s: open /proc/sys/%s: %w", key, rel, err)
	}
	f := os.NewFile(uintptr(fd), "/proc/sys/"+rel)
	defer f.Close()
	if err := checkProcfs(fd); err != nil {
		return fmt.Errorf("sysctl %s: %w", key, err)
	}
	if _, err := f.WriteString(value); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// checkProcfs refuses an fd whose file is not on a procfs.
func checkProcfs(fd int) error {
	var st unix.Statfs_t
	if err := unix.Fstatfs(fd, &st); err != nil {
		return fmt.Errorf("fstatfs: %w", err)
	}
	if st.Type != unix.PROC_SUPER_MAGIC {
		return fmt.Errorf("not on procfs (filesystem type %#x)", st.Type)
	}
	return nil
}
