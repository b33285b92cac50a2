package spec

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-dev/skiff/state"
)

func TestTweakCaps(t *testing.T) {
	basics := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW"}
	all := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"}
	tests := []struct {
		name string
		sec  state.SecurityFlags
		want []string
	}{
		{"none", state.SecurityFlags{}, basics},
		{"add without prefix, lower case", state.SecurityFlags{CapAdd: []string{"sys_admin"}}, []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_ADMIN"}},
		{"drop with prefix", state.SecurityFlags{CapDrop: []string{"CAP_KILL"}}, []string{"CAP_CHOWN", "CAP_NET_RAW"}},
		{"drop all", state.SecurityFlags{CapDrop: []string{"ALL"}}, []string{}},
		{"drop all, add one", state.SecurityFlags{CapDrop: []string{"all"}, CapAdd: []string{"KILL"}}, []string{"CAP_KILL"}},
		{"add all but one", state.SecurityFlags{CapAdd: []string{"ALL"}, CapDrop: []string{"NET_RAW"}}, []string{"CAP_CHOWN", "CAP_KILL", "CAP_SYS_ADMIN"}},
		{"privileged", state.SecurityFlags{Privileged: true, CapDrop: []string{"ALL"}}, all},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tweakCaps(basics, tt.sec, all)); diff != "" {
				t.Errorf("(-want +got)\n%s", diff)
			}
		})
	}
}

func TestBuildPrivileged(t *testing.T) {
	in := testInput()
	in.Opts.Security.Seccomp = SeccompBuiltin
	in.Opts.Host.Security = state.SecurityFlags{Privileged: true}
	in.AllCaps = []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}
	sp, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	if sp.Linux.Seccomp != nil || sp.Linux.MaskedPaths != nil || sp.Linux.ReadonlyPaths != nil {
		t.Errorf("privileged: seccomp %v masked %v read-only %v, want none", sp.Linux.Seccomp != nil, sp.Linux.MaskedPaths, sp.Linux.ReadonlyPaths)
	}
	if !slices.Equal(sp.Process.Capabilities.Effective, in.AllCaps) {
		t.Errorf("caps %v, want %v", sp.Process.Capabilities.Effective, in.AllCaps)
	}
	for _, m := range sp.Mounts {
		if (m.Destination == "/sys" || m.Destination == "/sys/fs/cgroup") && slices.Contains(m.Options, "ro") {
			t.Errorf("%s still read-only: %v", m.Destination, m.Options)
		}
	}
}

func TestBuildNamespacesShmRlimits(t *testing.T) {
	in := testInput()
	in.Opts.Host.Security = state.SecurityFlags{
		PidMode: "host", UTSMode: "host", IpcMode: "container:" + strings.Repeat("b", 64), ShmSize: 1 << 20,
		Ulimits: []state.Ulimit{{Name: "nofile", Soft: 1024, Hard: 2048}, {Name: "core", Soft: -1, Hard: -1}},
	}
	in.Opts.Hostname = "ignored"
	sp, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	var types []specs.LinuxNamespaceType
	for _, n := range sp.Linux.Namespaces {
		types = append(types, n.Type)
		if n.Type == specs.IPCNamespace && n.Path != in.Opts.Host.Security.IpcMode {
			t.Errorf("ipc path %q", n.Path)
		}
	}
	if slices.Contains(types, specs.PIDNamespace) || slices.Contains(types, specs.UTSNamespace) || !slices.Contains(types, specs.IPCNamespace) {
		t.Errorf("namespaces %v", types)
	}
	if sp.Hostname != "" {
		t.Errorf("hostname %q with --uts host", sp.Hostname)
	}
	want := []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 2048}, {Type: "RLIMIT_CORE", Soft: ^uint64(0), Hard: ^uint64(0)}}
	if diff := cmp.Diff(want, sp.Process.Rlimits); diff != "" {
		t.Errorf("rlimits (-want +got)\n%s", diff)
	}
	hasShm := func(sp *specs.Spec) bool {
		return slices.ContainsFunc(sp.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev/shm" })
	}
	if hasShm(sp) {
		t.Error("--ipc container: kept its own /dev/shm (the donor's is attached at start)")
	}
	in.Opts.Host.Security = state.SecurityFlags{ShmSize: 1 << 20}
	sp, _ = Build(in)
	i := slices.IndexFunc(sp.Mounts, func(m specs.Mount) bool { return m.Destination == "/dev/shm" })
	if i < 0 || !slices.Contains(sp.Mounts[i].Options, "size=1048576") {
		t.Errorf("/dev/shm: %+v", sp.Mounts)
	}
	in.Opts.Host.Security = state.SecurityFlags{IpcMode: "none"}
	if sp, _ = Build(in); hasShm(sp) {
		t.Error("--ipc none kept /dev/shm")
	}
}

func TestSysctls(t *testing.T) {
	for _, kv := range []string{"kernel.shmmax=1", "kernel.msgmax=1", "fs.mqueue.queues_max=1", "net.ipv4.ip_forward=1"} {
		if err := CheckSysctlName(kv); err != nil {
			t.Errorf("%s: %v", kv, err)
		}
	}
	for _, kv := range []string{"kernel.domainname=x", "vm.swappiness=1", "net.ipv4.ip_forward", "=1"} {
		if err := CheckSysctlName(kv); err == nil || err.Error() != "sysctl '"+kv+"' is not allowed" {
			t.Errorf("%s: %v", kv, err)
		}
	}
	tests := []struct {
		net, ipc, key, err string
	}{
		{NetworkBridge, "", "net.ipv4.ip_forward", ""},
		{NetworkHost, "", "net.ipv4.ip_forward", `sysctl "net.ipv4.ip_forward" not allowed in host network namespace`},
		{NetworkBridge, "host", "kernel.shmmax", `sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace`},
		{NetworkBridge, "", "kernel.hostname", `sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field`},
		{NetworkBridge, "", "kernel.domainname", ""},
		{NetworkBridge, "", "vm.swappiness", `sysctl "vm.swappiness" is not in a separate kernel namespace`},
	}
	for _, tt := range tests {
		in := testInput()
		in.Opts.Network = tt.net
		in.Opts.Host.Security = state.SecurityFlags{IpcMode: tt.ipc, Sysctls: map[string]string{tt.key: "1"}}
		sp, err := Build(in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("%s on %s: %v", tt.key, tt.net, err)
		case tt.err == "" && sp.Linux.Sysctl[tt.key] != "1":
			t.Errorf("%s: not in the spec: %v", tt.key, sp.Linux.Sysctl)
		case tt.err != "" && (err == nil || err.Error() != tt.err):
			t.Errorf("%s on %s: %v, want %q", tt.key, tt.net, err, tt.err)
		}
	}
}
