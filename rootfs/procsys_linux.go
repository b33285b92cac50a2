package rootfs

import (
	"fmt"
	"strings"
)

// WriteProcSys writes value to the sysctl key ("net.ipv4.ip_forward")
// under /proc/sys, the one way the init sets a sysctl (CVE-2025-52881: a
// write redirected by a swapped path or a file bound over the target
// lands on the host). It goes through WriteProcFile: a procfs checked to
// be a real one, no symlink followed and no mount crossed below it.
func WriteProcSys(key, value string) error {
	if key == "" || strings.Contains(key, "/") || strings.Contains(key, "..") {
		return fmt.Errorf("sysctl %q: not a sysctl key", key)
	}
	if err := WriteProcFile("sys/"+strings.ReplaceAll(key, ".", "/"), []byte(value)); err != nil {
		return fmt.Errorf("sysctl %s=%s: %w", key, value, err)
	}
	return nil
}
