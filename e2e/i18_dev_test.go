package e2e

// Issue 18, devices: docker's device allow-list held by the v1 devices
// list and, on its own, by the eBPF program on the container's cgroup2
// directory (this host is a hybrid: the kernel checks both); --device and
// --device-cgroup-rule; a program replaced, never piled up, at each start.

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
)

// i18devLoop attaches a loop device to a small file of known content and
// returns its path and "major minor"; it is detached when the test ends.
func i18devLoop(t *testing.T) (dev, majMin string) {
	t.Helper()
	img := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(img, []byte(strings.Repeat("host disk data\n", 4096)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", img).Output()
	if err != nil {
		t.Skipf("no loop device: losetup: %v", err)
	}
	dev = strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	mm, err := os.ReadFile(filepath.Join("/sys/class/block", filepath.Base(dev), "dev"))
	if err != nil {
		t.Fatal(err)
	}
	return dev, strings.Replace(strings.TrimSpace(string(mm)), ":", " ", 1)
}

// i18devCgroupDir is container id's directory in this host's v1 devices
// hierarchy (v2 false) or its cgroup2 one; skips when there is none.
func i18devCgroupDir(t *testing.T, id string, v2 bool) string {
	t.Helper()
	hs, err := cgroup.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if (v2 && h.V2) || (!v2 && h.Devices) {
			return filepath.Join(h.Mount, cgroup.Parent, id)
		}
	}
	t.Skipf("no %s hierarchy mounted", map[bool]string{false: "v1 devices", true: "cgroup2"}[v2])
	return ""
}

// i18devOpenV1 writes "a *:* rwm" into container id's v1 devices list,
// where this host has one, so that only the cgroup2 program decides.
func i18devOpenV1(t *testing.T, id string) {
	t.Helper()
	hs, err := cgroup.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if !h.Devices {
			continue
		}
		dir := filepath.Join(h.Mount, cgroup.Parent, id)
		if err := os.WriteFile(filepath.Join(dir, "devices.allow"), []byte("a *:* rwm"), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "devices.list")); strings.TrimSpace(string(b)) != "a *:* rwm" {
			t.Fatalf("the v1 list was not opened: %q", b)
		}
	}
}

// i18devPrograms counts the device programs attached to the cgroup2
// directory dir itself (BPF_PROG_QUERY).
func i18devPrograms(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatalf("query the device programs of %s: %v", dir, err)
	}
	return len(res.Programs)
}

// i18devReadBlock is a script that makes a node for the block device
// majMin under /dev and reads from it.
func i18devReadBlock(majMin string) string {
	return "mknod /dev/disk b " + majMin + " && head -c 15 /dev/disk"
}

// i18devDetachAll detaches every device program of the cgroup2 directory
// dir, from outside, leaving only the v1 list to decide.
func i18devDetachAll(t *testing.T, dir string) {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	res, err := link.QueryPrograms(link.QueryOptions{Target: fd, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Programs {
		prog, err := ebpf.NewProgramFromID(p.ID)
		if err != nil {
			t.Fatal(err)
		}
		err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice})
		prog.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// A block device node made under /dev by a default container cannot be
// opened: with both the v1 list and the cgroup2 program in force; with the
// program detached from outside, so that the v1 list alone denies; and with
// the container's v1 list opened from outside ("a *:* rwm" written while
// it runs), so that only the eBPF program denies.
func TestI18DevBlockDenied(t *testing.T) {
	s := shared(t)
	_, majMin := i18devLoop(t)
	denied := func(t *testing.T, r result, what string) {
		t.Helper()
		if r.code == 0 || strings.Contains(r.stdout, "host disk data") || !strings.Contains(r.stderr, "not permitted") {
			t.Fatalf("%s: a default container read a host block device through a node it made: %v", what, r)
		}
	}
	t.Run("v1 list and program", func(t *testing.T) {
		denied(t, inside(t, s, i18devReadBlock(majMin)), "both in force")
	})
	t.Run("v1 list only", func(t *testing.T) {
		id := s.runD(t, "--network", "none", fx.busybox, "sleep", "300")
		i18devCgroupDir(t, id, false) // skips where there is no v1 list
		v2 := i18devCgroupDir(t, id, true)
		i18devDetachAll(t, v2)
		if n := i18devPrograms(t, v2); n != 0 {
			t.Fatalf("%d device programs left on %s", n, v2)
		}
		denied(t, s.skiff(nil, "exec", id, "sh", "-c", i18devReadBlock(majMin)), "the v1 list alone")
	})
	t.Run("program only", func(t *testing.T) {
		id := s.runD(t, "--network", "none", fx.busybox, "sleep", "300")
		v2 := i18devCgroupDir(t, id, true)
		if n := i18devPrograms(t, v2); n != 1 {
			t.Fatalf("%d device programs on %s, want 1", n, v2)
		}
		i18devOpenV1(t, id)
		denied(t, s.skiff(nil, "exec", id, "sh", "-c", i18devReadBlock(majMin)), "the cgroup2 program alone")
		r := s.skiff(nil, "exec", id, "sh", "-c", "head -c 4 /dev/zero | wc -c && echo x > /dev/null && echo null-ok")
		if r.code != 0 || !strings.Contains(r.stdout, "null-ok") {
			t.Fatalf("the program must allow docker's list: %v", r)
		}
	})
}

// --device passes one loop device through (at another path, with its
// permissions), --device-cgroup-rule opens one to a node the container
// makes, inspect shows both as docker does, and docker's errors refuse
// malformed values.
func TestI18DevDevice(t *testing.T) {
	s := shared(t)
	dev, majMin := i18devLoop(t)
	t.Run("passed through", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", "--network", "none", "--device", dev+":/dev/xvdc", fx.busybox,
			"sh", "-c", "head -c 15 /dev/xvdc && ls -l /dev/xvdc")
		if r.code != 0 || !strings.HasPrefix(r.stdout, "host disk data\n") || !strings.Contains(r.stdout, "brw") {
			t.Fatalf("--device %s:/dev/xvdc: %v", dev, r)
		}
	})
	t.Run("outside /dev, on the nodev root", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", "--network", "none", "--device", dev+":/xvdc", fx.busybox, "head", "-c", "15", "/xvdc")
		if r.code != 0 || r.stdout != "host disk data\n" {
			t.Fatalf("--device %s:/xvdc: %v", dev, r)
		}
	})
	t.Run("read only", func(t *testing.T) {
		r := s.skiff(nil, "run", "--rm", "--network", "none", "--device", dev+":/dev/xvdc:r", fx.busybox,
			"sh", "-c", "head -c 15 /dev/xvdc; echo x > /dev/xvdc && echo wrote")
		if !strings.HasPrefix(r.stdout, "host disk data\n") || strings.Contains(r.stdout, "wrote") || !strings.Contains(r.stderr, "not permitted") {
			t.Fatalf("--device %s:/dev/xvdc:r must read and not write: %v", dev, r)
		}
	})
	t.Run("cgroup rule", func(t *testing.T) {
		rule := "b " + strings.Replace(majMin, " ", ":", 1) + " rw"
		r := s.skiff(nil, "run", "--rm", "--network", "none", "--device-cgroup-rule", rule, fx.busybox, "sh", "-c", i18devReadBlock(majMin))
		if r.code != 0 || r.stdout != "host disk data\n" {
			t.Fatalf("--device-cgroup-rule %q: %v", rule, r)
		}
	})
	t.Run("inspect", func(t *testing.T) {
		id := s.create(t, "--device", dev+":/dev/xvdc:rw", "--device-cgroup-rule", "c 1:3 mr", fx.busybox, "true")
		r := s.must(t, "inspect", "-f", "{{json .HostConfig.Devices}} {{json .HostConfig.DeviceCgroupRules}}", id)
		want := `[{"PathOnHost":"` + dev + `","PathInContainer":"/dev/xvdc","CgroupPermissions":"rw"}] ["c 1:3 mr"]`
		if strings.TrimSpace(r.stdout) != want {
			t.Errorf("inspect: %s, want %s", r.stdout, want)
		}
		var none []struct{ HostConfig struct{ Devices []any } }
		id2 := s.create(t, fx.busybox, "true")
		if err := json.Unmarshal([]byte(s.must(t, "inspect", id2).stdout), &none); err != nil || none[0].HostConfig.Devices == nil {
			t.Errorf("no --device: HostConfig.Devices must be [] as docker's: %v %+v", err, none)
		}
	})
	t.Run("refused", func(t *testing.T) {
		for _, tc := range []struct{ flag, value, msg string }{
			{"--device", "/dev/null:relative", `invalid argument "/dev/null:relative" for "--device" flag: relative is not an absolute path`},
			{"--device", "/dev/null:/x:rwz", `invalid argument "/dev/null:/x:rwz" for "--device" flag: bad mode specified: rwz`},
			{"--device", "/a:/b:r:w", `invalid argument "/a:/b:r:w" for "--device" flag: bad format for path: /a:/b:r:w`},
			{"--device-cgroup-rule", "x 1:3 r", `invalid argument "x 1:3 r" for "--device-cgroup-rule" flag: invalid device cgroup format 'x 1:3 r'`},
			{"--device", "/dev/i18-no-such-device", `error gathering device information while adding custom device "/dev/i18-no-such-device": no such file or directory`},
		} {
			r := s.skiff(nil, "run", "--rm", tc.flag, tc.value, fx.busybox, "true")
			if r.code != 125 || !strings.Contains(r.stderr, tc.msg) || strings.Count(r.stderr, "skiff:") != 1 {
				t.Errorf("%s %q: want exit 125 and %q: %v", tc.flag, tc.value, tc.msg, r)
			}
		}
	})
}

// i18devAttachStale attaches an allow-all device program to dir, as a
// directory that outlived its container (a failed rmdir) would still hold.
func i18devAttachStale(t *testing.T, dir string) {
	t.Helper()
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Type: ebpf.CGroupDevice, License: "Apache",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 1), asm.Return()},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = link.RawAttachProgram(link.RawAttachProgramOptions{Target: fd, Program: prog, Attach: ebpf.AttachCGroupDevice, Flags: unix.BPF_F_ALLOW_MULTI})
	if err != nil {
		t.Fatal(err)
	}
}

// Starts never add a program: `start` of a stopped container again and
// again, a start in a directory that kept an old program (which must go:
// the block device stays denied), and restarts by the monitor.
func TestI18DevRestartNoLeak(t *testing.T) {
	s := shared(t)
	_, majMin := i18devLoop(t)
	id := s.runD(t, "--network", "none", fx.busybox, "sleep", "300")
	v2 := i18devCgroupDir(t, id, true)
	for i := 0; i < 3; i++ {
		s.must(t, "stop", "-t", "0", id)
		if i == 2 { // the directory outlived the container, with a program
			if err := os.MkdirAll(v2, 0o755); err != nil {
				t.Fatal(err)
			}
			i18devAttachStale(t, v2)
		}
		s.must(t, "start", id)
		if n := i18devPrograms(t, v2); n != 1 {
			t.Fatalf("after start %d: %d device programs on %s, want 1", i+1, n, v2)
		}
	}
	i18devOpenV1(t, id)
	if r := s.skiff(nil, "exec", id, "sh", "-c", i18devReadBlock(majMin)); r.code == 0 || !strings.Contains(r.stderr, "not permitted") {
		t.Fatalf("the stale allow-all program was left in force: %v", r)
	}

	rid := s.runD(t, "--network", "none", "--restart", "always", fx.busybox, "sh", "-c", "sleep 0.3; exit 1")
	rv2 := i18devCgroupDir(t, rid, true)
	deadline := time.Now().Add(30 * time.Second)
	for seen := 0; seen < 3 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		fd, err := unix.Open(rv2, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			continue // between two runs
		}
		if err != nil {
			t.Fatal(err)
		}
		unix.Close(fd)
		if n := i18devPrograms(t, rv2); n > 1 {
			t.Fatalf("restarted container: %d device programs on %s", n, rv2)
		}
		if c := s.inspect(t, rid).RestartCount; c > seen {
			seen = c
		}
	}
	if c := s.inspect(t, rid).RestartCount; c < 3 {
		t.Fatalf("the container restarted %d times in 30s, want 3", c)
	}
}

// --privileged: every host device node in the container's /dev and "a *:*
// rwm" on v1 and in the program, as docker: the loop device reads.
func TestI18DevPrivileged(t *testing.T) {
	s := shared(t)
	dev, _ := i18devLoop(t)
	r := s.skiff(nil, "run", "--rm", "--network", "none", "--privileged", fx.busybox, "sh", "-c", "ls -l "+dev+" && head -c 15 "+dev)
	if r.code != 0 || !strings.Contains(r.stdout, "host disk data\n") || !strings.HasPrefix(r.stdout, "brw") {
		t.Fatalf("--privileged must see and read the host's %s: %v", dev, r)
	}
}
