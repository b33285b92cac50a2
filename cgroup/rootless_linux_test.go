package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// This host is hybrid (its controllers on v1), so the v2 delegation logic
// is tested on fake cgroupfs trees: plain files standing for kernfs ones,
// chowned to a test uid where ownership is what delegation means.

// i20TestUID owns the fake delegated subtrees; no such user need exist.
const i20TestUID = 4242

// fakeCgroupDir is one cgroup directory of a fake tree, its files owned
// with it by uid.
type fakeCgroupDir struct {
	path           string // below the fake mount
	uid            int
	controllers    string
	subtreeControl string
	procs          string
}

func makeFakeCgroups(t *testing.T, mount string, cgs []fakeCgroupDir) {
	t.Helper()
	for _, c := range cgs {
		dir := filepath.Join(mount, c.path)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"cgroup.controllers":     c.controllers,
			"cgroup.subtree_control": c.subtreeControl,
			"cgroup.procs":           c.procs,
		}
		for name, content := range files {
			write(t, filepath.Join(dir, name), content)
		}
		for _, name := range []string{".", "cgroup.procs", "cgroup.subtree_control"} {
			if err := os.Chown(filepath.Join(dir, name), c.uid, c.uid); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// systemdUserTree is a host's unified hierarchy as systemd lays it out
// for a logged-in user: the user's slice and session root's, its
// user@UID.service delegated (owned by the user), with the user's
// systemd's own cgroups below.
func systemdUserTree(serviceControllers, serviceSubtree, serviceProcs string) []fakeCgroupDir {
	const all = "cpu io memory pids"
	return []fakeCgroupDir{
		{path: ".", uid: 0, controllers: "cpuset " + all, subtreeControl: all},
		{path: "user.slice", uid: 0, controllers: all, subtreeControl: all},
		{path: "user.slice/user-4242.slice", uid: 0, controllers: all, subtreeControl: all},
		{path: "user.slice/user-4242.slice/session-3.scope", uid: 0, controllers: "", procs: "300\n"},
		{path: "user.slice/user-4242.slice/user@4242.service", uid: i20TestUID, controllers: serviceControllers, subtreeControl: serviceSubtree, procs: serviceProcs},
		{path: "user.slice/user-4242.slice/user@4242.service/init.scope", uid: i20TestUID, procs: "400\n"},
		{path: "user.slice/user-4242.slice/user@4242.service/app.slice", uid: i20TestUID},
		{path: "user.slice/user-4242.slice/user@4242.service/app.slice/term.scope", uid: i20TestUID, procs: "500\n"},
	}
}

const (
	i20TermScope = "/user.slice/user-4242.slice/user@4242.service/app.slice/term.scope"
	i20Service   = "user.slice/user-4242.slice/user@4242.service"
)

func needChown(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chowning a fake cgroup tree to a test uid needs root")
	}
}

func TestRootlessDelegation(t *testing.T) {
	needChown(t)
	tests := []struct {
		name    string
		tree    []fakeCgroupDir
		v1      bool // no cgroup2 mount in the hierarchies
		hybrid  bool // v1 hierarchies beside the cgroup2 mount
		self    string
		uid     int
		subtree string // below the mount; "" for no delegation
		ctrls   []string
		enable  []string
		reason  string // a part of Reason, when no delegation
	}{
		{
			name:    "delegated systemd user service",
			tree:    systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			self:    "0::" + i20TermScope + "\n",
			uid:     i20TestUID,
			subtree: i20Service,
			ctrls:   []string{"cpu", "memory", "pids"},
			enable:  []string{"cpu", "memory", "pids"},
		},
		{
			name:    "delegated, nothing enabled yet: all can be",
			tree:    systemdUserTree("cpu io memory pids", "", ""),
			self:    "0::" + i20TermScope + "\n",
			uid:     i20TestUID,
			subtree: i20Service,
			ctrls:   []string{"cpu", "io", "memory", "pids"},
			enable:  []string{"cpu", "io", "memory", "pids"},
		},
		{
			name:    "missing controllers: only pids delegated",
			tree:    systemdUserTree("pids", "pids", ""),
			self:    "0::" + i20TermScope + "\n",
			uid:     i20TestUID,
			subtree: i20Service,
			ctrls:   []string{"pids"},
			enable:  []string{"pids"},
		},
		{
			name:    "subtree holding processes: only what is enabled already",
			tree:    systemdUserTree("cpu memory pids", "pids", "600\n"),
			self:    "0::" + i20TermScope + "\n",
			uid:     i20TestUID,
			subtree: i20Service,
			ctrls:   []string{"cpu", "memory", "pids"},
			enable:  []string{"pids"},
		},
		{
			name:   "a tree owned by another user",
			tree:   systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			self:   "0::" + i20TermScope + "\n",
			uid:    i20TestUID + 1,
			reason: "owned by uid 4242",
		},
		{
			name:   "a login session's scope is root's",
			tree:   systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			self:   "0::/user.slice/user-4242.slice/session-3.scope\n",
			uid:    i20TestUID,
			reason: "session-3.scope is owned by uid 0",
		},
		{
			name:   "the root cgroup",
			tree:   systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			self:   "0::/\n",
			uid:    i20TestUID,
			reason: "the hierarchy's root",
		},
		{
			// A cgroup namespace shows a cgroup outside it as "/../...":
			// that path below this mount is someone else's.
			name:   "outside the cgroup namespace",
			tree:   systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			self:   "0::/../.." + i20TermScope + "\n",
			uid:    i20TestUID,
			reason: "outside it",
		},
		{
			name: "a tree the user owns up to the root stops below it",
			tree: []fakeCgroupDir{
				{path: ".", uid: i20TestUID, controllers: "memory pids", subtreeControl: "memory pids"},
				{path: "a", uid: i20TestUID, controllers: "memory pids", subtreeControl: "memory pids"},
				{path: "a/b", uid: i20TestUID, controllers: "memory pids", procs: "1\n"},
			},
			self:    "0::/a/b\n",
			uid:     i20TestUID,
			subtree: "a",
			ctrls:   []string{"memory", "pids"},
			enable:  []string{"memory", "pids"},
		},
		{
			name:   "cgroup v1",
			v1:     true,
			self:   "4:memory:/\n1:cpu:/\n",
			uid:    i20TestUID,
			reason: "cgroups v1",
		},
		{
			name:   "hybrid",
			tree:   systemdUserTree("cpu memory pids", "cpu memory pids", ""),
			hybrid: true,
			self:   "4:memory:/\n0::" + i20TermScope + "\n",
			uid:    i20TestUID,
			reason: "hybrid",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mount := t.TempDir()
			makeFakeCgroups(t, mount, tt.tree)
			var hs []Hierarchy
			if tt.v1 || tt.hybrid {
				hs = append(hs, Hierarchy{Mount: t.TempDir()})
			}
			if !tt.v1 {
				hs = append(hs, Hierarchy{Mount: mount, V2: true})
			}
			d := DelegatedAt(hs, tt.self, tt.uid)
			if d.V1 != (tt.v1 || tt.hybrid) {
				t.Errorf("V1 = %v, want %v", d.V1, tt.v1 || tt.hybrid)
			}
			if tt.subtree == "" {
				if d.Subtree != "" || !strings.Contains(d.Reason, tt.reason) {
					t.Fatalf("got subtree %q reason %q, want no delegation because %q", d.Subtree, d.Reason, tt.reason)
				}
				return
			}
			if d.Reason != "" {
				t.Errorf("reason %q for a delegation", d.Reason)
			}
			if want := filepath.Join(mount, tt.subtree); d.Subtree != want {
				t.Errorf("subtree %q, want %q", d.Subtree, want)
			}
			if diff := cmp.Diff(tt.ctrls, d.Controllers); diff != "" {
				t.Errorf("controllers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.enable, d.Enableable); diff != "" {
				t.Errorf("enableable (-want +got):\n%s", diff)
			}
		})
	}
}

// ptrTo is v as the pointer OCI resources hold.
func ptrTo[T any](v T) *T { return &v }

func TestIgnoredLimits(t *testing.T) {
	delegated := Delegation{Subtree: "/sys/fs/cgroup/" + i20Service, Enableable: []string{"cpu", "memory", "pids"}}
	memPids := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptrTo[int64](20)},
	}
	tests := []struct {
		name string
		r    *specs.LinuxResources
		d    Delegation
		want string
	}{
		{"no limits", nil, Delegation{V1: true}, ""},
		{"unlimited values ask nothing", &specs.LinuxResources{
			Pids:   &specs.LinuxPids{Limit: ptrTo[int64](-1)},
			Memory: &specs.LinuxMemory{Swap: ptrTo[int64](-1)},
			CPU:    &specs.LinuxCPU{Period: ptrTo[uint64](100000)},
		}, Delegation{V1: true}, ""},
		{"v1 or hybrid", memPids, Delegation{V1: true, Reason: "a hybrid cgroup host"},
			"Resource limits are not supported and ignored on cgroups V1 rootless systems: --memory, --pids-limit"},
		{"no delegation", memPids, Delegation{Reason: "the caller's cgroup /x is not delegated to uid 1000: /sys/fs/cgroup/x is owned by uid 0"},
			"Resource limits are not supported and ignored without a delegated cgroup (the caller's cgroup /x is not delegated to uid 1000: /sys/fs/cgroup/x is owned by uid 0): --memory, --pids-limit"},
		{"all delegated", memPids, delegated, ""},
		// -m alone records twice its value as memory+swap (moby's default):
		// no --memory-swap was typed, so none is named.
		{"-m's own swap", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20), Swap: ptrTo[int64](128 << 20)}},
			Delegation{V1: true}, "Resource limits are not supported and ignored on cgroups V1 rootless systems: --memory"},
		{"controllers not delegated", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptrTo[int64](1 << 30), DisableOOMKiller: ptrTo(false)},
			CPU:     &specs.LinuxCPU{Shares: ptrTo[uint64](512), Quota: ptrTo[int64](50000), Period: ptrTo[uint64](100000), Cpus: "0", Mems: "0"},
			BlockIO: &specs.LinuxBlockIO{Weight: ptrTo[uint16](300), ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1 << 20}}},
		}, delegated,
			"Resource limits are not supported and ignored for cgroup controllers not delegated to this user (cpuset, io): --cpuset-cpus, --cpuset-mems, --blkio-weight, --device-read-bps"},
		{"every flag on v1", &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptrTo[int64](1), Swap: ptrTo[int64](3), Reservation: ptrTo[int64](1), Swappiness: ptrTo[uint64](10), DisableOOMKiller: ptrTo(true)},
			CPU:     &specs.LinuxCPU{Shares: ptrTo[uint64](2), Quota: ptrTo[int64](1000), Period: ptrTo[uint64](5000), RealtimePeriod: ptrTo[uint64](1), RealtimeRuntime: ptrTo[int64](1), Cpus: "0", Mems: "0"},
			BlockIO: &specs.LinuxBlockIO{Weight: ptrTo[uint16](10), WeightDevice: []specs.LinuxWeightDevice{{}}, ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{}}, ThrottleWriteBpsDevice: []specs.LinuxThrottleDevice{{}}, ThrottleReadIOPSDevice: []specs.LinuxThrottleDevice{{}}, ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{}}},
			Pids:    &specs.LinuxPids{Limit: ptrTo[int64](5)},
		}, Delegation{V1: true},
			"Resource limits are not supported and ignored on cgroups V1 rootless systems: --memory, --memory-swap, --memory-reservation, --memory-swappiness, --oom-kill-disable, --cpu-shares, --cpus/--cpu-quota, --cpu-period, --cpu-rt-period, --cpu-rt-runtime, --cpuset-cpus, --cpuset-mems, --blkio-weight, --blkio-weight-device, --device-read-bps, --device-write-bps, --device-read-iops, --device-write-iops, --pids-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IgnoredLimits(tt.r, tt.d); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// A rootless container's cgroup on a fake delegated tree: made at
// <subtree>/skiff/<id> with the subtree's controllers, a pid moved in,
// found again by Load, removed; nothing above the subtree written.
func TestRootlessCgroupLifecycle(t *testing.T) {
	needChown(t)
	tests := []struct {
		name           string
		serviceSubtree string // the subtree's subtree_control before New
		wantSubtree    string // and after
		wantSkiff      string // skiff/'s subtree_control after New
	}{
		// The usual case: the user's systemd enabled them already, so the
		// subtree is not written and skiff/ gets them all.
		{"enabled by systemd", "cpu memory pids", "cpu memory pids", "+cpu +memory +pids"},
		// Nothing enabled: New enables what the subtree may give (on a
		// fake tree the plain file then holds the write itself).
		{"enabled by skiff", "", "+cpu +memory +pids", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mount := t.TempDir()
			makeFakeCgroups(t, mount, systemdUserTree("cpu memory pids", tt.serviceSubtree, ""))
			above := map[string]string{}
			for _, p := range []string{".", "user.slice", "user.slice/user-4242.slice"} {
				above[p] = read(t, filepath.Join(mount, p, "cgroup.subtree_control"))
			}
			d := DelegatedAt([]Hierarchy{{Mount: mount, V2: true}}, "0::"+i20TermScope+"\n", i20TestUID)
			cg, err := d.New("c1")
			if err != nil {
				t.Fatal(err)
			}
			sub := filepath.Join(mount, i20Service)
			leaf := filepath.Join(sub, "skiff", "c1")
			if diff := cmp.Diff([]string{leaf}, cg.Paths()); diff != "" {
				t.Fatalf("paths (-want +got):\n%s", diff)
			}
			if got := read(t, filepath.Join(sub, "cgroup.subtree_control")); got != tt.wantSubtree {
				t.Errorf("subtree's subtree_control %q, want %q", got, tt.wantSubtree)
			}
			if tt.wantSkiff != "" {
				if got := read(t, filepath.Join(sub, "skiff", "cgroup.subtree_control")); got != tt.wantSkiff {
					t.Errorf("skiff's subtree_control %q, want %q", got, tt.wantSkiff)
				}
			}
			for p, was := range above {
				if got := read(t, filepath.Join(mount, p, "cgroup.subtree_control")); got != was {
					t.Errorf("%s's subtree_control changed from %q to %q: above the delegation", p, was, got)
				}
			}
			// Limits apply there, by root's code (the leaf's controllers as
			// the kernel would list them).
			write(t, filepath.Join(leaf, "cgroup.controllers"), "cpu memory pids")
			if err := cg.SetResources(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20)}}); err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(leaf, "memory.max")); got != "67108864" {
				t.Errorf("memory.max %q, want 67108864", got)
			}
			if err := cg.Add(4243); err != nil {
				t.Fatal(err)
			}
			if got := read(t, filepath.Join(leaf, "cgroup.procs")); got != "4243" {
				t.Errorf("cgroup.procs %q, want 4243", got)
			}
			// Found again from what a record keeps (the mount and the
			// subtree), as from another session than the creator's.
			loaded, err := Delegation{Mount: d.Mount, Subtree: d.Subtree}.Load("c1")
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{leaf}, loaded.Paths()); diff != "" {
				t.Errorf("loaded paths (-want +got):\n%s", diff)
			}
			files, _ := os.ReadDir(leaf)
			for _, f := range files { // kernfs files do not block rmdir
				os.Remove(filepath.Join(leaf, f.Name()))
			}
			if err := loaded.Delete(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(leaf); !os.IsNotExist(err) {
				t.Errorf("leaf still there: %v", err)
			}
		})
	}
}

// The container sees its delegated cgroup where it would see root's: at
// the unified hierarchy's place, /sys/fs/cgroup on a pure v2 host. Only
// computed: nothing is made.
func TestRootlessCgroupViews(t *testing.T) {
	sub := "/sys/fs/cgroup/" + i20Service
	d := Delegation{Mount: "/sys/fs/cgroup", Subtree: sub}
	h, err := d.hierarchy()
	if err != nil {
		t.Fatal(err)
	}
	cg := &Cgroup{ID: "c1", dirs: []dir{{path: filepath.Join(sub, "skiff", "c1"), h: h}}}
	want := []View{{Dir: filepath.Join(sub, "skiff", "c1"), Target: "/sys/fs/cgroup"}}
	if diff := cmp.Diff(want, cg.Views()); diff != "" {
		t.Errorf("views (-want +got):\n%s", diff)
	}
}

func TestRootlessCgroupRefused(t *testing.T) {
	mount := t.TempDir()
	tests := []struct {
		name string
		d    Delegation
		want string
	}{
		{"no delegation", Delegation{V1: true, Reason: "cgroups v1: no cgroup2 hierarchy is mounted"},
			"cgroup: no cgroup is delegated to this user: cgroups v1: no cgroup2 hierarchy is mounted"},
		{"the hierarchy's root", Delegation{Mount: mount, Subtree: mount},
			"is not below the hierarchy's root"},
		{"outside the hierarchy", Delegation{Mount: mount, Subtree: filepath.Dir(mount)},
			"is not below the hierarchy's root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cg, err := tt.d.New("c1")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New: %v, %v; want an error with %q", cg, err, tt.want)
			}
			if _, err := tt.d.Load("c1"); err == nil {
				t.Errorf("Load: no error")
			}
			if entries, _ := os.ReadDir(mount); len(entries) != 0 {
				t.Errorf("made %v in the hierarchy's root", entries)
			}
		})
	}
}

// The real host, read only: on a v1 or hybrid host (this machine) nothing
// is delegated and the warning says why; a pure v2 host's answer depends
// on how the test is run, so it is only logged.
func TestRootlessDelegationOnThisHost(t *testing.T) {
	hs, err := Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	d := Delegated()
	t.Logf("delegation on this host: %+v", d)
	v1 := false
	for _, h := range hs {
		v1 = v1 || !h.V2
	}
	if !v1 {
		t.Skip("a pure cgroup v2 host: the delegation depends on the caller's session")
	}
	if !d.V1 || d.Subtree != "" || !strings.Contains(d.Reason, "v1") {
		t.Fatalf("got %+v, want no delegation with the v1 reason", d)
	}
	r := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20)}}
	if got, want := IgnoredLimits(r, d), "Resource limits are not supported and ignored on cgroups V1 rootless systems: --memory"; got != want {
		t.Errorf("warning %q, want %q", got, want)
	}
	if _, err := d.New("i20-never"); err == nil {
		t.Errorf("New made a cgroup without a delegation")
	}
}
