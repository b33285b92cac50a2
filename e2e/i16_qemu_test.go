package e2e

// Resource limits on a real cgroup v2 host (issue 16): `make e2e-v2` boots
// one under qemu, with every controller enabled at the root as systemd
// does. On the hybrid CI host these tests skip: there the v2 files are
// checked on a fake tree (cgroup's unit tests).

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// i16qemuV2 is the unified hierarchy's mount on a pure v2 host.
const i16qemuV2 = "/sys/fs/cgroup"

// i16qemuRequireV2 skips unless /sys/fs/cgroup is a cgroup2 root that
// delegates the memory, cpu and pids controllers.
func i16qemuRequireV2(t *testing.T) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(i16qemuV2, "cgroup.subtree_control"))
	if err != nil {
		t.Skip("no cgroup v2 root at /sys/fs/cgroup (a v1 or hybrid host): `make e2e-v2` runs this on one")
	}
	on := strings.Fields(string(b))
	for _, c := range []string{"memory", "cpu", "pids", "cpuset"} {
		if !contains(on, c) {
			t.Skipf("the cgroup v2 root does not delegate %s (subtree_control %q)", c, strings.TrimSpace(string(b)))
		}
	}
}

// i16qemuFile reads container id's v2 cgroup file.
func i16qemuFile(t *testing.T, id, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(i16qemuV2, "skiff", id, name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return strings.TrimSpace(string(b))
}

// TestI16QemuV2CgroupFiles: each flag lands in its v2 file as docker's
// runc writes it (memory.swap.max is the swap beyond memory; cpu.weight is
// runc's quadratic conversion of the shares since opencontainers/cgroups
// v0.0.5, 512 -> 59, the older linear one gave 20), and the container
// reads its own limit at /sys/fs/cgroup as its first act.
func TestI16QemuV2CgroupFiles(t *testing.T) {
	i16qemuRequireV2(t)
	s := shared(t)
	for _, tc := range []struct {
		name  string
		flags []string
		files map[string]string
	}{
		{"memory, swap doubled", []string{"-m", "64m"},
			map[string]string{"memory.max": "67108864", "memory.swap.max": "67108864"}},
		{"memory, swap and reservation", []string{"--memory", "32m", "--memory-swap", "48m", "--memory-reservation", "16m"},
			map[string]string{"memory.max": "33554432", "memory.swap.max": "16777216", "memory.low": "16777216"}},
		{"unlimited swap", []string{"-m", "32m", "--memory-swap", "-1"},
			map[string]string{"memory.max": "33554432", "memory.swap.max": "max"}},
		{"cpus", []string{"--cpus", "0.5"},
			map[string]string{"cpu.max": "50000 100000"}},
		{"cpu shares, period, quota", []string{"-c", "512", "--cpu-period", "50000", "--cpu-quota", "25000"},
			map[string]string{"cpu.max": "25000 50000", "cpu.weight": "59"}},
		{"cpuset", []string{"--cpuset-cpus", "0", "--cpuset-mems", "0"},
			map[string]string{"cpuset.cpus": "0", "cpuset.mems": "0"}},
		{"pids", []string{"--pids-limit", "100"},
			map[string]string{"pids.max": "100"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := s.runD(t, append(tc.flags, fx.busybox, "sleep", "300")...)
			for name, want := range tc.files {
				if got := i16qemuFile(t, id, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
	t.Run("limit in place before the first instruction", func(t *testing.T) {
		r := s.must(t, "run", "--rm", "--pids-limit", "42", fx.busybox, "cat", "/sys/fs/cgroup/pids.max")
		if strings.TrimSpace(r.stdout) != "42" {
			t.Errorf("pids.max seen from inside %q, want 42", r.stdout)
		}
	})
	t.Run("update of a running container", func(t *testing.T) {
		id := s.runD(t, "-m", "64m", fx.busybox, "sleep", "300")
		s.must(t, "update", "-m", "96m", "--memory-swap", "192m", "--pids-limit", "30", "--cpus", "0.25", id)
		for name, want := range map[string]string{
			"memory.max": "100663296", "memory.swap.max": "100663296", "pids.max": "30", "cpu.max": "25000 100000",
		} {
			if got := i16qemuFile(t, id, name); got != want {
				t.Errorf("after update %s = %q, want %q", name, got, want)
			}
		}
	})
}
