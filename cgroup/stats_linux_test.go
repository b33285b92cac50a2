package cgroup

import (
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// writeFiles writes a fake cgroup directory's files.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, s := range files {
		write(t, filepath.Join(dir, name), s)
	}
}

// v2Files is a container's directory on a unified hierarchy with the
// memory, cpu, io and pids controllers, as a pure v2 host has it.
func v2Files(oomKills string) map[string]string {
	return map[string]string{
		"cgroup.controllers": "cpu io memory pids\n",
		"cpu.stat":           "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
		"memory.current":     "10485760\n",
		"memory.max":         "max\n",
		"memory.stat":        "anon 4194304\nfile 6291456\ninactive_file 2097152\nactive_file 4194304\n",
		"memory.events":      "low 0\nhigh 0\nmax 3\noom 1\noom_kill " + oomKills + "\n",
		"io.stat":            "8:0 rbytes=1000 wbytes=2000 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=500 wbytes=0 rios=1 wios=0 dbytes=0 dios=0\n",
		"pids.current":       "7\n",
		"pids.max":           "100\n",
	}
}

// This host's unified mount has no controller but hugetlb, so the v2
// statistics are read from a fake tree (plain files standing for kernfs).
func TestStatsV2FakeTree(t *testing.T) {
	root := t.TempDir()
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, cg.Paths()[0], v2Files("0"))
	got, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPUNanos: 2500000 * 1000,
		Memory:   10485760 - 2097152, MemoryLimit: math.MaxUint64,
		BlockRead: 1500, BlockWrite: 2000, Pids: 7,
		have: allControllers,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Stats{}, controllers{})); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if !Unlimited(got.MemoryLimit) {
		t.Errorf("memory.max max is not unlimited")
	}
}

// v1Files are the files the library reads in each v1 controller's
// directory, by hierarchy.
var v1Files = map[string]map[string]string{
	"memory": {
		"memory.stat":                 "cache 6291456\nrss 4194304\ninactive_file 1048576\ntotal_inactive_file 2097152\n",
		"memory.usage_in_bytes":       "10485760\n",
		"memory.max_usage_in_bytes":   "20971520\n",
		"memory.limit_in_bytes":       "33554432\n",
		"memory.failcnt":              "0\n",
		"memory.oom_control":          "oom_kill_disable 0\nunder_oom 0\noom_kill 0\n",
		"memory.memsw.usage_in_bytes": "10485760\n",
	},
	"cpu,cpuacct": {
		"cpuacct.usage":        "3000000000\n",
		"cpuacct.stat":         "user 200\nsystem 100\n",
		"cpuacct.usage_percpu": "1500000000 1500000000\n",
	},
	"blkio": {
		"blkio.throttle.io_service_bytes": "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 0\n8:0 Async 12288\n8:0 Total 12288\nTotal 12288\n",
		"blkio.throttle.io_serviced":      "8:0 Read 1\n8:0 Write 2\nTotal 3\n",
	},
	"pids": {"pids.current": "3\n", "pids.max": "max\n"},
}

// v1FakeCgroup makes container c1's cgroup in fake v1 hierarchies named as
// on a host (cpu,cpuacct mounted together) plus a unified one without
// controllers, as on this hybrid host, and fills in files.
func v1FakeCgroup(t *testing.T, files map[string]map[string]string) *Cgroup {
	t.Helper()
	base := t.TempDir()
	hs := []Hierarchy{{Mount: filepath.Join(base, "unified"), V2: true}}
	for name := range files {
		hs = append(hs, Hierarchy{Mount: filepath.Join(base, name)})
	}
	for _, h := range hs {
		if err := os.MkdirAll(h.Mount, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cg, err := NewAt(hs, "c1")
	if err != nil {
		t.Fatal(err)
	}
	writeFiles(t, filepath.Join(base, "unified", Parent, "c1"), map[string]string{"cgroup.controllers": "\n", "cpu.stat": "usage_usec 1\n"})
	for name, fs := range files {
		writeFiles(t, filepath.Join(base, name, Parent, "c1"), fs)
	}
	return cg
}

func TestStatsV1FakeTrees(t *testing.T) {
	cg := v1FakeCgroup(t, v1Files)
	got, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	want := Stats{
		CPUNanos: 3000000000,
		Memory:   10485760 - 2097152, MemoryLimit: 33554432, // total_inactive_file, not inactive_file
		BlockRead: 4096, BlockWrite: 8192, Pids: 3,
		have: allControllers,
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(Stats{}, controllers{})); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
}

func TestOOMKilled(t *testing.T) {
	v1 := func(oomControl, failcnt string) *Cgroup {
		files := map[string]map[string]string{"memory": {}}
		for k, v := range v1Files["memory"] {
			files["memory"][k] = v
		}
		files["memory"]["memory.oom_control"] = oomControl
		files["memory"]["memory.failcnt"] = failcnt
		return v1FakeCgroup(t, files)
	}
	v2 := func(kills string) *Cgroup {
		cg, err := NewAt([]Hierarchy{{Mount: t.TempDir(), V2: true}}, "c1")
		if err != nil {
			t.Fatal(err)
		}
		writeFiles(t, cg.Paths()[0], v2Files(kills))
		return cg
	}
	for _, tc := range []struct {
		name   string
		cg     *Cgroup
		killed bool
		want   bool
	}{
		{"v2 oom_kill counted", v2("1"), true, true},
		{"v2 no oom_kill", v2("0"), true, false},
		{"v1 oom_kill counted", v1("oom_kill_disable 0\nunder_oom 0\noom_kill 2\n", "5\n"), true, true},
		{"v1 limit hit, reclaimed, no kill", v1("oom_kill_disable 0\nunder_oom 0\noom_kill 0\n", "5\n"), true, false},
		{"v1 old kernel, limit hit, SIGKILL", v1("oom_kill_disable 0\nunder_oom 0\n", "5\n"), true, true},
		{"v1 old kernel, limit hit, clean exit", v1("oom_kill_disable 0\nunder_oom 0\n", "5\n"), false, false},
		{"v1 old kernel, never hit", v1("oom_kill_disable 0\nunder_oom 0\n", "0\n"), true, false},
		{"no memory controller", v1FakeCgroup(t, map[string]map[string]string{"pids": v1Files["pids"]}), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.cg.OOMKilled(tc.killed)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("OOMKilled(%v) = %v, want %v", tc.killed, got, tc.want)
			}
		})
	}
}
