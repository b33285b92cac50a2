package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/state"
)

func formatRules(rs []specs.LinuxDeviceCgroup) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = cgroup.FormatRule(r)
	}
	return out
}

func TestResolveDevices(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	dir := t.TempDir()
	// A directory of nodes (docker maps each below it) and a symlink to one.
	if err := os.MkdirAll(filepath.Join(dir, "snd"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []struct {
		name         string
		major, minor uint32
	}{{"snd/a", 1, 7}, {"snd/b", 1, 8}} {
		p := filepath.Join(dir, n.name)
		if err := unix.Mknod(p, unix.S_IFCHR|0o660, int(unix.Mkdev(n.major, n.minor))); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, 0o660); err != nil { // past the umask
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "snd/a"), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	defaults := formatRules(cgroup.DefaultDevices())

	set, err := resolveDevices(state.SecurityFlags{
		Devices: []state.DeviceMapping{
			{PathOnHost: filepath.Join(dir, "link"), PathInContainer: "/dev/x", CgroupPermissions: "r"},
			{PathOnHost: filepath.Join(dir, "snd"), PathInContainer: "/dev/snd", CgroupPermissions: "rw"},
		},
		DeviceCgroupRules: []string{"b 8:* rwm"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, n := range set.nodes {
		paths = append(paths, n.Path)
	}
	if got := strings.Join(paths, " "); got != "/dev/x /dev/snd/a /dev/snd/b" {
		t.Errorf("nodes %s", got)
	}
	if m := set.nodes[0]; m.Type != "c" || m.Major != 1 || m.Minor != 7 || *m.FileMode != 0o660 {
		t.Errorf("the symlink's node: %+v", m)
	}
	want := append(append([]string{}, defaults...), "c 1:7 r", "c 1:7 rw", "c 1:8 rw", "b 8:* rwm")
	if got := formatRules(set.rules); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("rules\n%v\nwant\n%v", got, want)
	}

	_, err = resolveDevices(state.SecurityFlags{Devices: []state.DeviceMapping{{PathOnHost: "/dev/i18-none", PathInContainer: "/dev/n", CgroupPermissions: "rwm"}}})
	if err == nil || err.Error() != `error gathering device information while adding custom device "/dev/i18-none": no such file or directory` {
		t.Errorf("a missing device: %v", err)
	}
	_, err = resolveDevices(state.SecurityFlags{Devices: []state.DeviceMapping{{PathOnHost: "/etc/hostname", PathInContainer: "/dev/n", CgroupPermissions: "rwm"}}})
	if err == nil || !strings.Contains(err.Error(), "not a device node") {
		t.Errorf("a regular file: %v", err)
	}
}

// --privileged: every host device node at its own path (none from /dev/pts
// or /dev/shm, not /dev/console), and one rule that allows everything.
func TestResolveDevicesPrivileged(t *testing.T) {
	set, err := resolveDevices(state.SecurityFlags{Privileged: true, DeviceCgroupRules: []string{"c 1:3 r"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := formatRules(set.rules); len(got) != 1 || got[0] != "a *:* rwm" {
		t.Errorf("rules %v, want [a *:* rwm]", got)
	}
	seen := map[string]bool{}
	for _, n := range set.nodes {
		seen[n.Path] = true
		if strings.HasPrefix(n.Path, "/dev/pts/") || strings.HasPrefix(n.Path, "/dev/shm/") || n.Path == "/dev/console" {
			t.Errorf("%s copied", n.Path)
		}
	}
	for _, p := range []string{"/dev/null", "/dev/loop-control"} {
		if _, err := os.Stat(p); err == nil && !seen[p] {
			t.Errorf("host device %s not copied (%d nodes)", p, len(set.nodes))
		}
	}
}
