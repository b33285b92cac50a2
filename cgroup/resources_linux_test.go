package cgroup

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i16resources() *specs.LinuxResources {
	limit, swap, quota, pids := int64(64<<20), int64(128<<20), int64(50000), int64(100)
	period, shares := uint64(100000), uint64(512)
	return &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap},
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period, Cpus: "0", Mems: "0"},
		Pids:   &specs.LinuxPids{Limit: &pids},
		BlockIO: &specs.LinuxBlockIO{ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{
			{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: 7, Minor: 0}, Rate: 1 << 20}}},
	}
}

// This host's unified mount has no controllers, so the v2 files limits
// write (cpu.max, memory.max, memory.swap.max, pids.max, io.max, cpuset.*)
// are checked on a fake cgroup2 tree: plain files standing for kernfs ones.
func TestSetResourcesV2FakeTree(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cgroup.subtree_control"), "cpuset cpu io memory pids\n")
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "skiff", "c1")
	write(t, filepath.Join(leaf, "cgroup.controllers"), "cpuset cpu io memory pids\n")
	write(t, filepath.Join(leaf, "memory.swap.max"), "max\n") // swap accounting on
	if err := cg.SetResources(i16resources()); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"memory.max":      "67108864",
		"memory.swap.max": "67108864", // memory+swap less memory, as the library converts
		"cpu.max":         "50000 100000",
		"cpu.weight":      "59", // 512 shares on v2's scale (the library's conversion)
		"cpuset.cpus":     "0",
		"cpuset.mems":     "0",
		"pids.max":        "100",
		"io.max":          "7:0 wbps=1048576",
	} {
		if got := read(t, filepath.Join(leaf, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
}

// --memory-swap -1 on v2: memory.swap.max "max", not the library's
// negative difference (fake tree, as above).
func TestSetResourcesV2UnlimitedSwap(t *testing.T) {
	root := t.TempDir()
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "skiff", "c1")
	write(t, filepath.Join(leaf, "cgroup.controllers"), "memory\n")
	write(t, filepath.Join(leaf, "memory.swap.max"), "0\n")
	limit, swap := int64(64<<20), int64(-1)
	if err := cg.SetResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap}}); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(leaf, "memory.swap.max")); got != "max" {
		t.Errorf("memory.swap.max %q, want max", got)
	}
	if got := read(t, filepath.Join(leaf, "memory.max")); got != "67108864" {
		t.Errorf("memory.max %q", got)
	}
}

// A v2 mount without resource controllers (this hybrid host's, hugetlb
// only) is left alone.
func TestSetResourcesV2NoControllers(t *testing.T) {
	root := t.TempDir()
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "skiff", "c1")
	write(t, filepath.Join(leaf, "cgroup.controllers"), "hugetlb\n")
	if err := cg.SetResources(i16resources()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(leaf, "memory.max")); !os.IsNotExist(err) {
		t.Errorf("memory.max written on a mount without the memory controller: %v", err)
	}
}

// v1 hierarchies on a fake tree mounted under names that are not the
// controllers' (the library would look for <root>/cpu): each controller
// writes into its own mount; swap is dropped without memsw files.
func TestSetResourcesV1FakeTree(t *testing.T) {
	base := t.TempDir()
	mounts := map[string][]string{
		"mem":         {"memory.limit_in_bytes"},
		"cpu,cpuacct": {"cpu.shares"},
		"pids":        {"pids.max"},
		"blkio":       {"blkio.throttle.read_bps_device"},
	}
	var hs []Hierarchy
	for m := range mounts {
		if err := os.MkdirAll(filepath.Join(base, m), 0o755); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, Hierarchy{Mount: filepath.Join(base, m)})
	}
	cg, err := NewAt(hs, "c1")
	if err != nil {
		t.Fatal(err)
	}
	for m, files := range mounts {
		for _, f := range files {
			write(t, filepath.Join(base, m, "skiff", "c1", f), "9223372036854771712")
		}
	}
	if err := cg.SetResources(i16resources()); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{
		"mem/skiff/c1/memory.limit_in_bytes":             "67108864",
		"cpu,cpuacct/skiff/c1/cpu.shares":                "512",
		"cpu,cpuacct/skiff/c1/cpu.cfs_quota_us":          "50000",
		"cpu,cpuacct/skiff/c1/cpu.cfs_period_us":         "100000",
		"pids/skiff/c1/pids.max":                         "100",
		"blkio/skiff/c1/blkio.throttle.write_bps_device": "7:0 1048576",
	} {
		if got := read(t, filepath.Join(base, file)); got != want {
			t.Errorf("%s = %q, want %q", file, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(base, "mem/skiff/c1/memory.memsw.limit_in_bytes")); !os.IsNotExist(err) {
		t.Errorf("swap limit written without swap accounting: %v", err)
	}
	if _, err := os.Stat(filepath.Join(base, "cpu")); !os.IsNotExist(err) {
		t.Errorf("wrote outside the mounts: %v", err)
	}
}

// --cgroup-parent: the cgroup is made under the parent at each root (each
// v1 cpuset level given its parent's cpus and mems), found by LoadUnder.
func TestCgroupParentFakeTree(t *testing.T) {
	root := t.TempDir()
	write(t, filepath.Join(root, "cpuset.cpus"), "0-1\n")
	write(t, filepath.Join(root, "cpuset.mems"), "0\n")
	hs := []Hierarchy{{Mount: root, Cpuset: true}}
	cg, err := newAt(hs, "/a/b", "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, "a", "b", "c1")
	if got := cg.Paths(); len(got) != 1 || got[0] != leaf {
		t.Fatalf("paths %v, want [%s]", got, leaf)
	}
	for _, d := range []string{"a", "a/b", "a/b/c1"} {
		if got := read(t, filepath.Join(root, d, "cpuset.cpus")); got != "0-1" {
			t.Errorf("%s cpuset.cpus %q", d, got)
		}
	}
	for _, tc := range []struct{ in, want string }{{"/a/b", "a/b"}, {"a/b/", "a/b"}, {"x", "x"}} {
		if got, err := CheckParent(tc.in); err != nil || got != tc.want {
			t.Errorf("CheckParent(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"/", "../x", "a/../../b", "a\nb"} {
		if _, err := CheckParent(bad); err == nil {
			t.Errorf("CheckParent(%q) accepted", bad)
		}
	}
}
