package cgroup

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// A record keeps only the delegation's mount and subtree: Recorded reads
// the controllers again, so New gives the container what it can have now.
func TestRecordedDelegation(t *testing.T) {
	needChown(t)
	tests := []struct {
		name      string
		subtree   string // the subtree's subtree_control
		procs     string // the subtree's own processes
		wantCtrls []string
		wantEnab  []string
	}{
		{"no process: every controller", "", "", []string{"cpu", "memory", "pids"}, []string{"cpu", "memory", "pids"}},
		{"processes: only what is enabled", "pids", "600\n", []string{"cpu", "memory", "pids"}, []string{"pids"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mount := t.TempDir()
			makeFakeCgroups(t, mount, systemdUserTree("cpu memory pids", tt.subtree, tt.procs))
			sub := filepath.Join(mount, i20Service)
			d := Recorded(mount, sub)
			if d == nil {
				t.Fatal("Recorded: nil")
			}
			want := Delegation{Mount: mount, Subtree: sub, Controllers: tt.wantCtrls, Enableable: tt.wantEnab}
			if diff := cmp.Diff(want, *d); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if d := Recorded("/sys/fs/cgroup", ""); d != nil {
		t.Errorf("Recorded without a subtree: %+v, want nil (root's, or no cgroup)", d)
	}
}

// Only a caller inside the delegated subtree may start a process in the
// container's cgroup below it (the kernel wants the common ancestor's
// procs file writable): outside, one line says what to do.
func TestDelegationAdmits(t *testing.T) {
	d := Delegation{Mount: "/sys/fs/cgroup", Subtree: "/sys/fs/cgroup/" + i20Service}
	tests := []struct {
		name, self string
		ok         bool
	}{
		{"a scope of the user's systemd", "0::" + i20TermScope + "\n", true},
		{"the subtree itself", "0::/" + i20Service + "\n", true},
		{"v1 lines before the unified one", "12:pids:/user.slice\n1:name=systemd:/x\n0::" + i20TermScope + "\n", true},
		{"a login session's scope", "0::/user.slice/user-4242.slice/session-3.scope\n", false},
		{"a sibling with the subtree's name as a prefix", "0::/" + i20Service + "x/app.slice\n", false},
		{"outside the cgroup namespace", "0::/../" + i20Service + "\n", false},
		{"no unified line", "1:name=systemd:/" + i20Service + "\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := d.Admits(tt.self)
			if tt.ok != (err == nil) {
				t.Fatalf("Admits: %v, want ok %v", err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "systemd-run --user --scope") {
				t.Errorf("the refusal %q does not say what to do", err)
			}
		})
	}
}

// A delegated cgroup gets only the limits its controllers hold: writing
// the others would fail the start the warning said goes on without them.
func TestDelegatedOnly(t *testing.T) {
	full := func() *specs.LinuxResources {
		return &specs.LinuxResources{
			Memory:  &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20)},
			CPU:     &specs.LinuxCPU{Quota: ptrTo[int64](50000), Shares: ptrTo[uint64](512), Cpus: "0", Mems: "0"},
			Pids:    &specs.LinuxPids{Limit: ptrTo[int64](10)},
			BlockIO: &specs.LinuxBlockIO{Weight: ptrTo[uint16](100)},
		}
	}
	tests := []struct {
		name  string
		ctrls []string
		want  func(r *specs.LinuxResources)
	}{
		{"everything delegated", []string{"cpu", "cpuset", "io", "memory", "pids"}, func(*specs.LinuxResources) {}},
		{"pids only", []string{"pids"}, func(r *specs.LinuxResources) {
			r.Memory, r.BlockIO = nil, nil
			r.CPU = &specs.LinuxCPU{}
		}},
		{"cpu without cpuset", []string{"cpu", "memory"}, func(r *specs.LinuxResources) {
			r.Pids, r.BlockIO = nil, nil
			r.CPU.Cpus, r.CPU.Mems = "", ""
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := full()
			want := full()
			tt.want(want)
			if diff := cmp.Diff(want, delegatedOnly(in, tt.ctrls)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(full(), in); diff != "" {
				t.Errorf("the caller's resources changed (-want +got):\n%s", diff)
			}
		})
	}
}

// SetResources on a delegated cgroup skips what it cannot hold; the same
// write on root's cgroup still fails, as before.
func TestDelegatedSetResources(t *testing.T) {
	needChown(t)
	mount := t.TempDir()
	makeFakeCgroups(t, mount, systemdUserTree("pids", "pids", ""))
	d := DelegatedAt([]Hierarchy{{Mount: mount, V2: true}}, "0::"+i20TermScope+"\n", i20TestUID)
	cg, err := d.New("c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(d.Subtree, "skiff", "c1")
	write(t, filepath.Join(leaf, "cgroup.controllers"), "pids")
	r := &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: ptrTo[int64](64 << 20)},
		Pids:   &specs.LinuxPids{Limit: ptrTo[int64](10)},
	}
	if err := cg.SetResources(r); err != nil {
		t.Fatal(err)
	}
	if got := read(t, filepath.Join(leaf, "pids.max")); got != "10" {
		t.Errorf("pids.max %q, want 10", got)
	}
	if _, err := os.Stat(filepath.Join(leaf, "memory.max")); !os.IsNotExist(err) {
		t.Errorf("memory.max written without the memory controller: %v", err)
	}
}
