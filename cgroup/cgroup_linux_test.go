package cgroup

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ns"
)

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func write(t *testing.T, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// The host's real unified mount has only hugetlb, so the v2 delegation logic
// is tested against a fake cgroupfs: plain files standing for kernfs ones.
func TestV2FakeTree(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.subtree_control"), "cpu memory pids\n")
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "skiff", "c1")
	if got := cg.Paths(); len(got) != 1 || got[0] != leaf {
		t.Fatalf("paths %v, want [%s]", got, leaf)
	}
	if got := read(t, filepath.Join(root, "skiff", "cgroup.subtree_control")); got != "+cpu +memory +pids" {
		t.Errorf("skiff subtree_control %q, want all the root's controllers", got)
	}
	if got := read(t, filepath.Join(root, "cgroup.subtree_control")); got != "cpu memory pids" {
		t.Errorf("root subtree_control changed to %q", got)
	}
	if err := cg.Add(4242); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(leaf, "cgroup.procs")); got != "4242" {
		t.Errorf("cgroup.procs %q, want 4242", got)
	}
	os.Remove(filepath.Join(leaf, "cgroup.procs")) // kernfs files do not block rmdir
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leaf); !os.IsNotExist(err) {
		t.Errorf("leaf still there: %v", err)
	}
}

func TestV1CpusetFakeTree(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cpuset.cpus"), "0-1\n")
	write(t, filepath.Join(root, "cpuset.mems"), "0\n")
	if _, err := NewAt([]Hierarchy{{Mount: root, Cpuset: true}}, "c2"); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"skiff", "skiff/c2"} {
		if got := read(t, filepath.Join(root, d, "cpuset.cpus")); got != "0-1" {
			t.Errorf("%s cpuset.cpus %q, want 0-1", d, got)
		}
		if got := read(t, filepath.Join(root, d, "cpuset.mems")); got != "0" {
			t.Errorf("%s cpuset.mems %q, want 0", d, got)
		}
	}
}

func TestUnwritableHierarchyIsSkipped(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root ignores directory permissions")
	}
	root := t.TempDir()
	os.Chmod(root, 0o555)
	cg, err := NewAt([]Hierarchy{{Mount: root}}, "c3")
	if err != nil || len(cg.Paths()) != 0 {
		t.Fatalf("got %v, %v; want skipped", cg.Paths(), err)
	}
}

func TestParseMountLine(t *testing.T) {
	tests := []struct {
		line string
		want Hierarchy
		ok   bool
	}{
		{"30 25 0:26 / /sys/fs/cgroup/cpuset rw,relatime shared:9 - cgroup cgroup rw,cpuset", Hierarchy{Mount: "/sys/fs/cgroup/cpuset", Cpuset: true}, true},
		{"31 25 0:27 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory", Hierarchy{Mount: "/sys/fs/cgroup/memory"}, true},
		{"32 25 0:28 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices", Hierarchy{Mount: "/sys/fs/cgroup/devices", Devices: true}, true},
		{"35 25 0:30 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw", Hierarchy{Mount: "/sys/fs/cgroup/unified", V2: true}, true},
		{"36 25 0:31 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw", Hierarchy{}, false},
		{"25 1 0:22 / /sys/fs/cgroup rw - tmpfs tmpfs rw", Hierarchy{}, false},
		{"37 25 0:32 / /mnt/my\\040cg rw - cgroup2 cgroup2 rw", Hierarchy{Mount: "/mnt/my cg", V2: true}, true},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			got, ok := parseMountLine(tt.line)
			if ok != tt.ok || got != tt.want {
				t.Fatalf("got %+v %v, want %+v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

// On the real host (root): the cgroup sits at the root of each hierarchy,
// not under the test's own cgroup.
func TestRealHost(t *testing.T) {
	id, cg := realCgroup(t)
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := cg.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if hasV1Devices(t) {
		if !cg.DevicesRestricted() {
			t.Error("v1 devices hierarchy mounted, but the cgroup does not restrict devices")
		}
		list := strings.Fields(strings.ReplaceAll(read(t, filepath.Join("/sys/fs/cgroup/devices", Parent, id, "devices.list")), "\n", " "))
		if got, want := strings.Join(list, " "), strings.Join(strings.Fields(strings.Join(allowedDevices, " ")), " "); got != want {
			t.Errorf("devices.list:\n%s\nwant docker's allow-list:\n%s", got, want)
		}
	}
	got := read(t, filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cgroup"))
	if !strings.Contains(got, ":memory:/skiff/"+id+"\n") && !strings.HasSuffix(got, ":memory:/skiff/"+id) {
		t.Fatalf("memory cgroup not /skiff/%s:\n%s", id, got)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
}

func hasV1Devices(t *testing.T) bool {
	hs, err := Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.Devices && h.Mount == "/sys/fs/cgroup/devices" {
			return true
		}
	}
	return false
}

// JoinThread's child is born in the cgroup in every hierarchy, v1 by the
// forking thread's own move, the unified one by CLONE_INTO_CGROUP: no
// process is moved (no RCU grace period on a run's path).
func TestJoinThreadRealHost(t *testing.T) {
	id, cg := realCgroup(t)
	cmd := exec.Command("sleep", "30")
	err := ns.OnDiscardedThread(func() error {
		fd, err := cg.JoinThread()
		if err != nil {
			return err
		}
		if fd >= 0 {
			defer unix.Close(fd)
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
		}
		return cmd.Start()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	lines := strings.Split(read(t, filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid), "cgroup")), "\n")
	for _, l := range lines {
		if !strings.HasSuffix(l, ":/skiff/"+id) {
			t.Errorf("child born outside /skiff/%s: %q", id, l)
		}
	}
	if own := read(t, "/proc/self/cgroup"); strings.Contains(own, id) {
		t.Errorf("the test process's main thread joined the cgroup:\n%s", own)
	}
}

// On fake trees: a v1 hierarchy gets the thread's 0 in tasks, the v2 one is
// opened for clone3.
func TestJoinThreadFakeTrees(t *testing.T) {
	v1, v2 := t.TempDir(), t.TempDir()
	cg := &Cgroup{ID: "x", dirs: []dir{{path: v1, h: Hierarchy{Mount: v1}}, {path: v2, h: Hierarchy{Mount: v2, V2: true}}}}
	fd, err := cg.JoinThread()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if got := read(t, filepath.Join(v1, "tasks")); got != "0" {
		t.Errorf("v1 tasks = %q, want 0 (the calling thread)", got)
	}
	if link, _ := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); link != v2 {
		t.Errorf("v2 fd is %q, want %q", link, v2)
	}
	if _, err := os.Stat(filepath.Join(v2, "tasks")); err == nil {
		t.Error("JoinThread wrote tasks in the v2 hierarchy")
	}
}

// realCgroup makes the test's cgroup on the real host (root only), removed
// when the test ends.
func realCgroup(t *testing.T) (string, *Cgroup) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	id := "skiff-test-" + strings.ReplaceAll(t.Name(), "/", "-")
	cg, err := New(id)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Delete() })
	return id, cg
}
