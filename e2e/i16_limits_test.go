package e2e

// Issue 16, limits: docker's resource flags written into the container's
// real cgroup files on this host (a cgroup v1 hybrid), update, refusals,
// the cgroup's removal.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// i16limitsV1 is this host's v1 hierarchy root: the tests read the real
// files there.
const i16limitsV1 = "/sys/fs/cgroup"

func i16limitsRequireV1(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(i16limitsV1, "memory", "memory.limit_in_bytes")); err != nil {
		t.Skip("no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory: the v1 files cannot be read here")
	}
}

// i16limitsFile reads container id's cgroup file, "controller/file".
func i16limitsFile(t *testing.T, id, file string) string {
	t.Helper()
	ctl, name, _ := strings.Cut(file, "/")
	b, err := os.ReadFile(filepath.Join(i16limitsV1, ctl, "skiff", id, name))
	if err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	return strings.TrimSpace(string(b))
}

// i16limitsCgroupDirs are container id's cgroup directories that exist.
func i16limitsCgroupDirs(id string) []string {
	m, _ := filepath.Glob(filepath.Join(i16limitsV1, "*", "skiff", id))
	return m
}

// TestI16LimitsCgroupFiles: each flag lands in its v1 file, as docker's
// runc writes it, before the process runs (the process reads its own
// limit as its first act); inspect shows docker's HostConfig values.
func TestI16LimitsCgroupFiles(t *testing.T) {
	i16limitsRequireV1(t)
	s := shared(t)
	for _, tc := range []struct {
		name    string
		flags   []string
		files   map[string]string
		inspect map[string]string
	}{
		{"memory, swap doubled", []string{"-m", "64m"},
			map[string]string{"memory/memory.limit_in_bytes": "67108864", "memory/memory.memsw.limit_in_bytes": "134217728"},
			map[string]string{"{{.HostConfig.Memory}}": "67108864", "{{.HostConfig.MemorySwap}}": "134217728"}},
		{"memory and swap", []string{"--memory", "32m", "--memory-swap", "48m", "--memory-reservation", "16m", "--memory-swappiness", "10"},
			map[string]string{"memory/memory.limit_in_bytes": "33554432", "memory/memory.memsw.limit_in_bytes": "50331648",
				"memory/memory.soft_limit_in_bytes": "16777216", "memory/memory.swappiness": "10"},
			map[string]string{"{{.HostConfig.MemoryReservation}}": "16777216", "{{.HostConfig.MemorySwappiness}}": "10"}},
		{"unlimited swap", []string{"-m", "32m", "--memory-swap", "-1"},
			map[string]string{"memory/memory.limit_in_bytes": "33554432", "memory/memory.memsw.limit_in_bytes": "9223372036854771712"},
			map[string]string{"{{.HostConfig.MemorySwap}}": "-1"}},
		{"oom kill disable", []string{"-m", "32m", "--oom-kill-disable"},
			map[string]string{"memory/memory.oom_control": "oom_kill_disable 1"},
			map[string]string{"{{.HostConfig.OomKillDisable}}": "true"}},
		{"cpus", []string{"--cpus", "0.5"},
			map[string]string{"cpu/cpu.cfs_quota_us": "50000", "cpu/cpu.cfs_period_us": "100000"},
			map[string]string{"{{.HostConfig.NanoCpus}}": "500000000"}},
		{"cpu shares, period, quota", []string{"-c", "512", "--cpu-period", "50000", "--cpu-quota", "25000"},
			map[string]string{"cpu/cpu.shares": "512", "cpu/cpu.cfs_period_us": "50000", "cpu/cpu.cfs_quota_us": "25000"},
			map[string]string{"{{.HostConfig.CpuShares}} {{.HostConfig.CpuPeriod}} {{.HostConfig.CpuQuota}}": "512 50000 25000"}},
		{"cpuset", []string{"--cpuset-cpus", "0", "--cpuset-mems", "0"},
			map[string]string{"cpuset/cpuset.cpus": "0", "cpuset/cpuset.mems": "0"},
			map[string]string{"{{.HostConfig.CpusetCpus}} {{.HostConfig.CpusetMems}}": "0 0"}},
		{"pids", []string{"--pids-limit", "100"},
			map[string]string{"pids/pids.max": "100"},
			map[string]string{"{{.HostConfig.PidsLimit}}": "100"}},
		{"oom score", []string{"--oom-score-adj", "300"}, nil,
			map[string]string{"{{.HostConfig.OomScoreAdj}}": "300"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.runD(t, append(tc.flags, fx.busybox, "sleep", "300")...)
			for file, want := range tc.files {
				got := i16limitsFile(t, id, file)
				if file == "memory/memory.oom_control" {
					got = strings.Split(got, "\n")[0]
				}
				if got != want {
					t.Errorf("%s = %q, want %q", file, got, want)
				}
			}
			for f, want := range tc.inspect {
				if got := strings.TrimSpace(s.must(t, "inspect", "-f", f, id).stdout); got != want {
					t.Errorf("inspect %s = %q, want %q", f, got, want)
				}
			}
		})
	}
	t.Run("oom score of the container's processes", func(t *testing.T) {
		r := s.must(t, "run", "--rm", "--oom-score-adj", "300", fx.busybox, "cat", "/proc/self/oom_score_adj")
		if r.stdout != "300\n" {
			t.Errorf("oom_score_adj %q, want 300", r.stdout)
		}
		// Lowering it takes CAP_SYS_RESOURCE, which this suite may lack:
		// then refused up front, never a failed start.
		r = s.skiff(nil, "run", "--rm", "--oom-score-adj", "-300", fx.busybox, "cat", "/proc/self/oom_score_adj")
		switch {
		case r.code == 0 && r.stdout == "-300\n":
		case r.code == 125 && strings.Contains(r.stderr, "Invalid value -300 for --oom-score-adj: lowering it below the caller's own (0) needs CAP_SYS_RESOURCE"):
			t.Log("no CAP_SYS_RESOURCE here: a negative score is refused")
		default:
			t.Errorf("--oom-score-adj -300: %v", r)
		}
	})
	t.Run("limit in place before the first instruction", func(t *testing.T) {
		// The process's first act is to read its own cgroup's limit.
		r := s.must(t, "run", "--rm", "--pids-limit", "42", fx.busybox, "sh", "-c",
			`cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids$(grep :pids: /proc/self/cgroup | cut -d: -f3)/pids.max`)
		if strings.TrimSpace(r.stdout) != "42" {
			t.Errorf("pids.max seen from inside %q, want 42", r.stdout)
		}
	})
}

// TestI16LimitsRefused: bad values are refused with docker's words, exit
// 125, before anything is created.
func TestI16LimitsRefused(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	for _, tc := range []struct {
		flags []string
		want  string
	}{
		{[]string{"-m", "4m"}, "Minimum memory limit allowed is 6MB"},
		{[]string{"--memory-swap", "64m"}, "You should always set the Memory limit when using Memoryswap limit, see usage"},
		{[]string{"-m", "64m", "--memory-swap", "32m"}, "Minimum memoryswap limit should be larger than memory limit, see usage"},
		{[]string{"--cpus", "1000"}, "Range of CPUs is from 0.01 to"},
		{[]string{"--cpus", "1", "--cpu-quota", "50000"}, "Conflicting options: Nano CPUs and CPU Quota cannot both be set"},
		{[]string{"--cpu-period", "10"}, "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"},
		{[]string{"--cpuset-cpus", "1000"}, "Requested CPUs are not available - requested 1000, available:"},
		{[]string{"--memory-swappiness", "200"}, "Invalid value: 200, valid memory swappiness range is 0-100"},
		{[]string{"--blkio-weight", "5"}, "Range of blkio weight is from 10 to 1000"},
		{[]string{"--oom-score-adj", "5000"}, "Invalid value 5000, range for oom score adj is [-1000, 1000]"},
		{[]string{"--device-write-bps", "/dev/null:1mb"}, "/dev/null is not a block device"},
		{[]string{"--device-read-iops", "/dev/loop0:fast"}, "invalid rate for device: /dev/loop0:fast. The correct format is <device-path>:<number>. Number must be a positive integer"},
	} {
		t.Run(strings.Join(tc.flags, " "), func(t *testing.T) {
			for _, verb := range []string{"run", "create"} {
				r := s.skiff(nil, append(append([]string{verb}, tc.flags...), fx.busybox, "true")...)
				if r.code != 125 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
					t.Errorf("%s: want exit 125 and one line with %q; %v", verb, tc.want, r)
				}
			}
		})
	}
	if r := s.must(t, "ps", "-aq"); r.stdout != "" {
		t.Errorf("containers created by refused runs: %q", r.stdout)
	}
}

// TestI16LimitsUpdate: update changes a running container's cgroup at
// once and a stopped one's record, which its next start writes; both kept
// in the record, with the restart policy.
func TestI16LimitsUpdate(t *testing.T) {
	i16limitsRequireV1(t)
	s := shared(t)
	running := s.runD(t, "-m", "64m", "--pids-limit", "50", fx.busybox, "sleep", "300")
	stopped := s.create(t, "-m", "64m", fx.busybox, "sleep", "300")
	name := strings.TrimPrefix(strings.TrimSpace(s.must(t, "inspect", "-f", "{{.Name}}", running).stdout), "/")
	r := s.must(t, "update", "-m", "128m", "--memory-swap", "256m", "--pids-limit", "80", "--cpus", "0.5",
		"--restart", "on-failure:3", name, stopped)
	if r.stdout != name+"\n"+stopped+"\n" {
		t.Errorf("update printed %q, want the containers as given", r.stdout)
	}
	for file, want := range map[string]string{
		"memory/memory.limit_in_bytes": "134217728", "memory/memory.memsw.limit_in_bytes": "268435456",
		"pids/pids.max": "80", "cpu/cpu.cfs_quota_us": "50000",
	} {
		if got := i16limitsFile(t, running, file); got != want {
			t.Errorf("running: %s = %q, want %q", file, got, want)
		}
	}
	const f = "{{.HostConfig.Memory}} {{.HostConfig.MemorySwap}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}:{{.HostConfig.RestartPolicy.MaximumRetryCount}}"
	for _, id := range []string{running, stopped} {
		if got := strings.TrimSpace(s.must(t, "inspect", "-f", f, id).stdout); got != "134217728 268435456 80 500000000 on-failure:3" {
			t.Errorf("inspect after update: %q", got)
		}
	}
	s.must(t, "start", stopped)
	if got := i16limitsFile(t, stopped, "memory/memory.limit_in_bytes"); got != "134217728" {
		t.Errorf("stopped then started: memory.limit_in_bytes %q, want the updated 134217728", got)
	}
	s.must(t, "update", "--pids-limit", "-1", running)
	if got := i16limitsFile(t, running, "pids/pids.max"); got != "max" {
		t.Errorf("pids.max %q after --pids-limit -1, want max", got)
	}
	r = s.skiff(nil, "update", "-m", "1g", running)
	if r.code != 1 || !strings.Contains(r.stderr, "Memory limit should be smaller than already set memoryswap limit, update the memoryswap at the same time") {
		t.Errorf("update -m above the swap limit: %v", r)
	}
	if r := s.skiff(nil, "update", running); r.code != 1 || !strings.Contains(r.stderr, "you must provide one or more flags when using this command") {
		t.Errorf("update without flags: %v", r)
	}
}

// TestI16LimitsCgroupGone: the container's cgroup directories go when its
// process exits, and after a kill -9 of its monitor, with the next command.
func TestI16LimitsCgroupGone(t *testing.T) {
	i16limitsRequireV1(t)
	t.Run("exit", func(t *testing.T) {
		s := shared(t)
		id := s.runD(t, "-m", "64m", "--pids-limit", "10", fx.busybox, "true")
		s.must(t, "wait", id)
		if d := i16limitsCgroupDirs(id); len(d) != 0 {
			t.Errorf("cgroup left after exit: %v", d)
		}
	})
	t.Run("kill -9 of the monitor", func(t *testing.T) {
		s := faultStore(t)
		id := s.runD(t, "-m", "64m", fx.busybox, "sleep", "300")
		pid := s.inspect(t, id).State.Pid
		if len(i16limitsCgroupDirs(id)) == 0 {
			t.Fatal("no cgroup while running")
		}
		mon := monitorOf(t, pid)
		kill9(mon)
		waitGone(mon, 5*time.Second)
		kill9(pid)
		if !waitGone(pid, 5*time.Second) {
			t.Fatalf("container process %d survived SIGKILL", pid)
		}
		s.must(t, "ps", "-a")
		if d := i16limitsCgroupDirs(id); len(d) != 0 {
			t.Errorf("cgroup left after kill -9 of the monitor and the next command: %v", d)
		}
	})
}

// TestI16LimitsDeviceWriteBps: --device-write-bps throttles direct writes
// (v1 blkio throttles direct I/O only) onto a loop-backed file system.
func TestI16LimitsDeviceWriteBps(t *testing.T) {
	i16limitsRequireV1(t)
	s := shared(t)
	dir := t.TempDir()
	img := filepath.Join(dir, "disk.img")
	if out, err := exec.Command("truncate", "-s", "64M", img).CombinedOutput(); err != nil {
		t.Fatalf("truncate: %v %s", err, out)
	}
	out, err := exec.Command("losetup", "--find", "--show", img).Output()
	if err != nil {
		t.Skipf("losetup: %v (no loop devices here)", err)
	}
	dev := strings.TrimSpace(string(out))
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	if out, err := exec.Command("mkfs.ext4", "-q", dev).CombinedOutput(); err != nil {
		t.Skipf("mkfs.ext4: %v %s", err, out)
	}
	mnt := filepath.Join(dir, "mnt")
	os.Mkdir(mnt, 0o755)
	if out, err := exec.Command("mount", dev, mnt).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", mnt).Run() })

	var st syscall.Stat_t
	if err := syscall.Stat(dev, &st); err != nil {
		t.Fatal(err)
	}
	id := s.runD(t, "--device-write-bps", dev+":1mb", "-v", mnt+":/data", fx.busybox, "sleep", "300")
	want := fmt.Sprintf("%d:%d 1048576", unix.Major(st.Rdev), unix.Minor(st.Rdev))
	if got := i16limitsFile(t, id, "blkio/blkio.throttle.write_bps_device"); got != want {
		t.Errorf("blkio.throttle.write_bps_device %q, want %q", got, want)
	}
	if got := strings.TrimSpace(s.must(t, "inspect", "-f", "{{json .HostConfig.BlkioDeviceWriteBps}}", id).stdout); got != `[{"Path":"`+dev+`","Rate":1048576}]` {
		t.Errorf("inspect BlkioDeviceWriteBps %s", got)
	}
	start := time.Now()
	s.must(t, "exec", id, "dd", "if=/dev/zero", "of=/data/f", "bs=1M", "count=3", "oflag=direct")
	// 3 MiB at 1 MiB/s: about 2 s or more (the first second's budget is
	// spent at once); unthrottled, a loop device takes milliseconds.
	if d := time.Since(start); d < 1500*time.Millisecond {
		t.Errorf("3 MiB of direct writes took %s under a 1 MiB/s limit: not throttled", d)
	}
}

// TestI16LimitsSysFsCgroup: inside the container /sys/fs/cgroup is
// read-only and shows the container's own cgroup (its limits), with the
// host's cgroup namespace by default on v1 (as docker) or its own with
// --cgroupns private; inspect says which.
func TestI16LimitsSysFsCgroup(t *testing.T) {
	i16limitsRequireV1(t)
	s := shared(t)
	const script = `cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max; ` +
		`grep :pids: /proc/self/cgroup; touch /sys/fs/cgroup/pids/pids.max 2>&1; mkdir /sys/fs/cgroup/x 2>&1; true`
	for _, tc := range []struct {
		mode, wantCgroup, wantInspect string
	}{
		{"", ":pids:/skiff/", "host"},
		{"host", ":pids:/skiff/", "host"},
		{"private", ":pids:/\n", "private"},
	} {
		t.Run("cgroupns="+tc.mode, func(t *testing.T) {
			args := []string{"run", "-m", "64m", "--pids-limit", "42"}
			if tc.mode != "" {
				args = append(args, "--cgroupns", tc.mode)
			}
			name := uniqueName(t)
			r := s.must(t, append(args, "--name", name, fx.busybox, "sh", "-c", script)...)
			s.cleanup(t, name)
			if !strings.HasPrefix(r.stdout, "67108864\n42\n") || !strings.Contains(r.stdout, tc.wantCgroup) {
				t.Errorf("inside: %q, want the container's own limits and %q in /proc/self/cgroup", r.stdout, tc.wantCgroup)
			}
			if strings.Count(r.stdout, "Read-only file system") != 2 {
				t.Errorf("/sys/fs/cgroup writable inside: %q", r.stdout)
			}
			if got := strings.TrimSpace(s.must(t, "inspect", "-f", "{{.HostConfig.CgroupnsMode}}", name).stdout); got != tc.wantInspect {
				t.Errorf("CgroupnsMode %q, want %q", got, tc.wantInspect)
			}
		})
	}
	t.Run("exec joins a private cgroup namespace", func(t *testing.T) {
		id := s.runD(t, "--cgroupns", "private", fx.busybox, "sleep", "300")
		if r := s.must(t, "exec", id, "grep", ":pids:", "/proc/self/cgroup"); !strings.HasSuffix(r.stdout, ":pids:/\n") {
			t.Errorf("exec'd process sees %q, want its container's namespace root", r.stdout)
		}
	})
	r := s.skiff(nil, "run", "--cgroupns", "bogus", fx.busybox, "true")
	if r.code != 125 || !strings.Contains(r.stderr, "--cgroupns: invalid CGROUP mode") {
		t.Errorf("--cgroupns bogus: %v", r)
	}
}

// TestI16LimitsCgroupParent: --cgroup-parent puts the cgroup under that
// parent at each hierarchy's root, with its limits; exec joins it there,
// inspect shows the parent, and rm removes it.
func TestI16LimitsCgroupParent(t *testing.T) {
	i16limitsRequireV1(t)
	s := shared(t)
	parent := "i16limits-" + strings.TrimPrefix(uniqueName(t), "e2e-")
	parent = parent[:min(len(parent), 40)]
	t.Cleanup(func() {
		dirs, _ := filepath.Glob(filepath.Join(i16limitsV1, "*", parent))
		for _, d := range dirs {
			os.Remove(d)
		}
	})
	id := s.runD(t, "--cgroup-parent", "/"+parent, "-m", "64m", fx.busybox, "sleep", "300")
	b, err := os.ReadFile(filepath.Join(i16limitsV1, "memory", parent, id, "memory.limit_in_bytes"))
	if err != nil || strings.TrimSpace(string(b)) != "67108864" {
		t.Fatalf("memory.limit_in_bytes under the parent: %q, %v", b, err)
	}
	if d := i16limitsCgroupDirs(id); len(d) != 0 {
		t.Errorf("a cgroup under /skiff too: %v", d)
	}
	r := s.must(t, "exec", id, "grep", ":memory:", "/proc/self/cgroup")
	if !strings.Contains(r.stdout, ":memory:/"+parent+"/"+id) {
		t.Errorf("exec'd process in %q, want the container's cgroup under %s", r.stdout, parent)
	}
	if got := strings.TrimSpace(s.must(t, "inspect", "-f", "{{.HostConfig.CgroupParent}}", id).stdout); got != "/"+parent {
		t.Errorf("CgroupParent %q, want /%s", got, parent)
	}
	s.must(t, "rm", "-f", id)
	if dirs, _ := filepath.Glob(filepath.Join(i16limitsV1, "*", parent, id)); len(dirs) != 0 {
		t.Errorf("cgroup left after rm -f: %v", dirs)
	}
}
