package commands

// The host facts `info` reports, read where docker's daemon reads them.

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/spec"
)

// securityOptions lists what skiff applies to every container, in
// docker's form: docker's seccomp profile (built in); no AppArmor,
// SELinux or user-namespace remapping yet.
func securityOptions(rootless bool) []string {
	opts := []string{"name=seccomp,profile=" + spec.SeccompBuiltin}
	if rootless {
		opts = append(opts, "name=rootless")
	}
	return opts
}

// printSecurityOption prints "name=seccomp,profile=builtin" as docker's
// info does: the name, then each property on its own line, capitalised.
func printSecurityOption(w io.Writer, opt string) {
	for i, kv := range strings.Split(opt, ",") {
		k, v, _ := strings.Cut(kv, "=")
		if i == 0 && k == "name" {
			fmt.Fprintln(w, "  "+v)
			continue
		}
		fmt.Fprintf(w, "   %s: %s\n", strings.ToUpper(k[:1])+k[1:], v)
	}
}

// cgroupDriver is docker's "Cgroup Driver": skiff writes the cgroup
// filesystem itself; without root it can write no hierarchy's root and
// creates no cgroup ("none", as rootless docker on v1 says).
func cgroupDriver(rootless bool, version string) string {
	if rootless || version == "" {
		return "none"
	}
	return "cgroupfs"
}

// cgroupVersion is docker's "Cgroup Version": "2" only when the unified
// hierarchy is all there is; a hybrid host (v1 controllers beside a
// cgroup2 mount) is "1", as docker says, since the controllers are v1.
func cgroupVersion() string {
	hs, err := cgroup.Hierarchies()
	if err != nil {
		return ""
	}
	return cgroupVersionOf(hs)
}

func cgroupVersionOf(hs []cgroup.Hierarchy) string {
	v := ""
	for _, h := range hs {
		if !h.V2 {
			return "1"
		}
		v = "2"
	}
	return v
}

// fsNames are docker's names for the filesystems a store may live on
// (statfs f_type magic numbers).
var fsNames = map[int64]string{
	0x61756673: "aufs", 0x9123683E: "btrfs", 0x28cd3d45: "cramfs", 0xf15f: "ecryptfs",
	0xEF53: "extfs", 0xF2F52010: "f2fs", 0x65735546: "fuse", 0x47504653: "gpfs",
	0x72b6: "jffs2", 0x3153464a: "jfs", 0x6969: "nfs", 0x794C7630: "overlayfs",
	0x858458f6: "ramfs", 0x52654973: "reiserfs", 0x517B: "smb", 0x73717368: "squashfs",
	0x01021994: "tmpfs", 0xa501fcf5: "vxfs", 0x58465342: "xfs", 0x2fc12fc1: "zfs",
}

// backingFS names the filesystem the store is (or would be) on: the
// nearest existing directory at or above root.
func backingFS(root string) string {
	for p := root; ; p = filepath.Dir(p) {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err == nil {
			if n, ok := fsNames[int64(st.Type)]; ok {
				return n
			}
			return "<unknown>"
		}
		if p == "/" {
			return "<unknown>"
		}
	}
}

type uname struct{ release, machine string }

func hostUname() uname {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return uname{}
	}
	return uname{release: unix.ByteSliceToString(u.Release[:]), machine: unix.ByteSliceToString(u.Machine[:])}
}

// osRelease reads PRETTY_NAME and VERSION_ID from os-release, where docker
// reads them.
func osRelease() (pretty, version string) {
	for _, p := range []string{"/etc/os-release", "/usr/lib/os-release"} {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		defer f.Close()
		return parseOSRelease(f)
	}
	return "", ""
}

func parseOSRelease(r io.Reader) (pretty, version string) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		if !ok {
			continue
		}
		if u, err := strconv.Unquote(v); err == nil {
			v = u
		} else {
			v = strings.Trim(v, `'"`)
		}
		switch k {
		case "PRETTY_NAME":
			pretty = v
		case "VERSION_ID":
			version = v
		}
	}
	return pretty, version
}

var osHostname = os.Hostname

func memTotal() int64 {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0
	}
	return int64(si.Totalram) * int64(si.Unit)
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1 // docker's "unknown"
	}
	return len(ents)
}

// proxyEnv is a proxy variable as pulls see it (upper or lower case), with
// a password masked as docker masks it.
func proxyEnv(name string) string {
	v := os.Getenv(name)
	if v == "" {
		v = os.Getenv(strings.ToLower(name))
	}
	if u, err := url.Parse(v); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return v
}

// engineID is a stable id for this machine's store, computed rather than
// stored (info writes nothing): the machine id and the root, shaped as
// docker's UUID engine id.
func engineID(root string) string {
	mid, err := os.ReadFile("/etc/machine-id")
	if err != nil {
		h, _ := osHostname()
		mid = []byte(h)
	}
	s := sha256.Sum256([]byte(strings.TrimSpace(string(mid)) + "\x00" + root))
	x := fmt.Sprintf("%x", s[:16])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:32]
}
