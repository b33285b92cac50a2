package cgroup

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// v2Cgroup makes a cgroup in the host's cgroup2 hierarchy only (so the v1
// devices list of the test's own cgroup, which allows everything, leaves
// every decision to the program), or skips.
func v2Cgroup(t *testing.T) *Cgroup {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: loads and attaches eBPF programs")
	}
	hs, err := Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if h.V2 {
			cg, err := NewAt([]Hierarchy{h}, fmt.Sprintf("devtest-%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "-")))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cg.Delete() })
			return cg
		}
	}
	t.Skip("no cgroup2 hierarchy mounted")
	return nil
}

// deviceNodes makes a character node 1:7 (full), and a block node of
// loop device 7:250 (unbound loop minors open fine once allowed, or fail
// with ENXIO, never EPERM), in a temporary directory.
func deviceNodes(t *testing.T) (char, block string) {
	t.Helper()
	dir := t.TempDir()
	char, block = filepath.Join(dir, "full"), filepath.Join(dir, "loop")
	if err := unix.Mknod(char, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 7))); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mknod(block, unix.S_IFBLK|0o666, int(unix.Mkdev(7, 250))); err != nil {
		t.Fatal(err)
	}
	return char, block
}

// TestHelperDeviceAccess is not a test: the child started in the cgroup by
// accessIn, which tries one access and exits 0 when the kernel allowed it,
// 1 when it refused (EPERM).
func TestHelperDeviceAccess(t *testing.T) {
	op, path := os.Getenv("SKIFF_TEST_DEVICE_OP"), os.Getenv("SKIFF_TEST_DEVICE_PATH")
	if op == "" {
		return
	}
	var err error
	switch op {
	case "r", "w":
		flag := os.O_RDONLY
		if op == "w" {
			flag = os.O_WRONLY
		}
		var f *os.File
		if f, err = os.OpenFile(path, flag, 0); err == nil {
			f.Close()
		}
	case "mknod-c", "mknod-b":
		mode := uint32(unix.S_IFCHR)
		if op == "mknod-b" {
			mode = unix.S_IFBLK
		}
		err = unix.Mknod(path, mode|0o600, int(unix.Mkdev(7, 251)))
	}
	if errors.Is(err, unix.EPERM) {
		os.Exit(1)
	}
	os.Exit(0) // allowed (ENXIO from an unbound loop minor is past the check)
}

// accessIn runs one access by a process born in cg's cgroup2 directory:
// true when allowed.
func accessIn(t *testing.T, cg *Cgroup, op, path string) bool {
	t.Helper()
	fd, err := unix.Open(cg.Paths()[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperDeviceAccess$")
	cmd.Env = append(os.Environ(), "SKIFF_TEST_DEVICE_OP="+op, "SKIFF_TEST_DEVICE_PATH="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return true
	case errors.As(err, &ee) && ee.ExitCode() == 1:
		return false
	}
	t.Fatalf("helper: %v: %s", err, out)
	return false
}

// The program's decisions, loaded and attached for real: docker's list
// denies a block device and allows its mknod; a rule granting only reads
// does not grant a write (containerd/cgroups' generator would); a later
// deny overrides an earlier allow; --privileged's rule allows everything.
func TestDeviceProgramDecisions(t *testing.T) {
	cg := v2Cgroup(t)
	char, block := deviceNodes(t)
	newNode := filepath.Join(t.TempDir(), "made")
	defaults := DefaultDevices()
	tests := []struct {
		name  string
		rules []specs.LinuxDeviceCgroup
		op    string
		path  string
		allow bool
	}{
		{"default: read of a block device", defaults, "r", block, false},
		{"default: read of c 1:7", defaults, "r", char, true},
		{"default: write of c 1:7", defaults, "w", char, true},
		{"default: mknod of a block node", defaults, "mknod-b", newNode, true},
		{"none: mknod", nil, "mknod-c", newNode, false},
		{"none: read", nil, "r", char, false},
		{"read only: read", []specs.LinuxDeviceCgroup{Rule(true, "c", 1, 7, "r")}, "r", char, true},
		{"read only: write", []specs.LinuxDeviceCgroup{Rule(true, "c", 1, 7, "r")}, "w", char, false},
		{"read only: other minor", []specs.LinuxDeviceCgroup{Rule(true, "c", 1, 8, "rw")}, "r", char, false},
		{"wildcard minor", []specs.LinuxDeviceCgroup{Rule(true, "b", 7, -1, "rw")}, "r", block, true},
		{"wrong type", []specs.LinuxDeviceCgroup{Rule(true, "c", 7, -1, "rwm")}, "r", block, false},
		{"later deny wins", append(append([]specs.LinuxDeviceCgroup{}, defaults...), Rule(false, "c", 1, 7, "w")), "w", char, false},
		{"later deny leaves reads", append(append([]specs.LinuxDeviceCgroup{}, defaults...), Rule(false, "c", 1, 7, "w")), "r", char, true},
		{"privileged: block read", []specs.LinuxDeviceCgroup{AllowAll()}, "r", block, true},
		{"--device: block read", append(append([]specs.LinuxDeviceCgroup{}, defaults...), Rule(true, "b", 7, 250, "rwm")), "r", block, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := cg.SetDevices(tc.rules); err != nil {
				t.Fatal(err)
			}
			os.Remove(newNode)
			if got := accessIn(t, cg, tc.op, tc.path); got != tc.allow {
				t.Errorf("%s of %s under %v: allowed %v, want %v", tc.op, tc.path, tc.rules, got, tc.allow)
			}
		})
	}
}

// Setting the rules again, as every restart in a surviving directory and
// every start does, replaces the program: one attached after many.
func TestDeviceProgramReplaced(t *testing.T) {
	cg := v2Cgroup(t)
	fd, err := unix.Open(cg.Paths()[0], unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	for i := 0; i < 5; i++ {
		if err := cg.SetDevices(DefaultDevices()); err != nil {
			t.Fatal(err)
		}
		ids, err := attachedDevicePrograms(fd)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) != 1 {
			t.Fatalf("after %d settings: %d device programs attached (%v), want 1", i+1, len(ids), ids)
		}
	}
	// The last one set is the one in force.
	_, block := deviceNodes(t)
	if err := cg.SetDevices([]specs.LinuxDeviceCgroup{AllowAll()}); err != nil {
		t.Fatal(err)
	}
	if !accessIn(t, cg, "r", block) {
		t.Error("after replacing docker's list by allow-all, a block read is still denied")
	}
}

func TestParseRule(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"c 1:3 rwm", "c 1:3 rwm"}, {"b *:* m", "b *:* m"}, {"a", "a *:* rwm"},
		{"c 136:* rw", "c 136:* rw"}, {"a *:* r", "a *:* r"},
	} {
		r, err := ParseRule(tc.in)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := FormatRule(r); got != tc.want || !r.Allow {
			t.Errorf("%q: %q allow %v, want %q allow", tc.in, got, r.Allow, tc.want)
		}
	}
	for _, bad := range []string{"", "x 1:3 rwm", "c 1:3", "c 1-3 rwm", "c 1:3 rwx", "c 1:3 rwmr", "c 1:99999999999 r", "c a:3 r"} {
		if _, err := ParseRule(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		}
	}
}

// On v1, SetDevices adds the container's rules to the list New wrote.
func TestSetDevicesV1(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	hs, err := Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	var v1 []Hierarchy
	for _, h := range hs {
		if h.Devices {
			v1 = append(v1, h)
		}
	}
	if len(v1) == 0 {
		t.Skip("no v1 devices hierarchy")
	}
	cg, err := NewAt(v1, fmt.Sprintf("devtest-v1-%d", os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Delete()
	rules := append(DefaultDevices(), Rule(true, "b", 7, 250, "r"), Rule(true, "c", 4, -1, "rw"))
	if err := cg.SetDevices(rules); err != nil {
		t.Fatal(err)
	}
	got := strings.Fields(strings.ReplaceAll(read(t, filepath.Join(cg.Paths()[0], "devices.list")), "\n", " "))
	want := strings.Fields(strings.Join(append(append([]string{}, allowedDevices...), "b 7:250 r", "c 4:* rw"), " "))
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("devices.list\n%v\nwant\n%v", got, want)
	}
	if err := cg.SetDevices([]specs.LinuxDeviceCgroup{AllowAll()}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(cg.Paths()[0], "devices.list")); got != "a *:* rwm" {
		t.Errorf("--privileged's rule: devices.list %q", got)
	}
}
