package commands

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/internal/procstat"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// asRootless makes the commands decide as a rootless skiff with delegation
// d, for the test's duration.
func asRootless(t *testing.T, d cgroup.Delegation) {
	t.Helper()
	wasRootless, wasDelegated := rootless, delegated
	rootless, delegated = func() bool { return true }, func() cgroup.Delegation { return d }
	t.Cleanup(func() { rootless, delegated = wasRootless, wasDelegated })
}

// TestRootlessNetworkFlags: a rootless container is on tapnet by default
// (also when docker's default bridge is named), with -p and -P; what needs
// a user network or another container's namespace is refused in one line
// saying what to do.
func TestRootlessNetworkFlags(t *testing.T) {
	asRootless(t, cgroup.Delegation{V1: true, Reason: "v1"})
	tests := []struct {
		name    string
		args    []string
		network string // when accepted
		err     string
	}{
		{"no network flag: tapnet", nil, spec.NetworkTapnet, ""},
		{"expose alone is fine", []string{"--expose", "80"}, spec.NetworkTapnet, ""},
		{"none", []string{"--network", "none"}, spec.NetworkNone, ""},
		{"host", []string{"--network", "host"}, spec.NetworkHost, ""},
		{"none discards -p, as docker", []string{"--network", "none", "-p", "80:80"}, spec.NetworkNone, ""},
		{"host discards -p with docker's warning", []string{"--network", "host", "-p", "80:80"}, spec.NetworkHost, ""},
		{"container mode", []string{"--network", "container:web"}, "", "--network container:web: a rootless container cannot join another container's network namespace (each has a user namespace of its own): drop it, or run skiff as root"},
		{"publish", []string{"-p", "8080:80"}, spec.NetworkTapnet, ""},
		{"publish all", []string{"-P", "--expose", "80"}, spec.NetworkTapnet, ""},
		{"bridge asked for: tapnet", []string{"--network", "bridge"}, spec.NetworkTapnet, ""},
		{"default asked for: tapnet", []string{"--net", "default"}, spec.NetworkTapnet, ""},
		{"tapnet with its option", []string{"--network", "tapnet:allow_host_loopback=true"}, "tapnet:allow_host_loopback=true", ""},
		{"tapnet with a bad option", []string{"--network", "tapnet:mtu=1500"}, "", `--network tapnet:mtu=1500: unknown option "mtu=1500" (tapnet knows allow_host_loopback=true|false)`},
		{"pasta", []string{"--network", "pasta", "-p", "8080:80"}, spec.NetworkPasta, ""},
		{"pasta takes no options", []string{"--network", "pasta:-T,auto"}, "", "--network pasta:-T,auto: skiff passes pasta no options of yours"},
		{"slirp4netns", []string{"--network", "slirp4netns", "-p", "8080:80"}, spec.NetworkSlirp4netns, ""},
		{"slirp4netns with podman's option", []string{"--network", "slirp4netns:allow_host_loopback=true"}, "slirp4netns:allow_host_loopback=true", ""},
		{"slirp4netns with a bad option", []string{"--network", "slirp4netns:port_handler=rootlesskit"}, "", `--network slirp4netns:port_handler=rootlesskit: unknown option "port_handler=rootlesskit" (slirp4netns knows allow_host_loopback=true|false)`},
		{"a user network", []string{"--network", "mynet"}, "", "--network mynet: user-defined networks are not supported yet for rootless containers (use the default network, none or host, or run skiff as root)"},
		{"docker's refusals first", []string{"--network", "a", "--network", "a"}, "", `network "a" is specified multiple times`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := parseRun(t, append(tt.args, "busybox")...)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.Network != tt.network {
				t.Errorf("network %q, want %q", o.Network, tt.network)
			}
		})
	}
}

// Root's default is untouched: the bridge.
func TestRootNetworkDefault(t *testing.T) {
	was := rootless
	rootless = func() bool { return false }
	t.Cleanup(func() { rootless = was })
	o, err := parseRun(t, "-p", "8080:80", "busybox")
	if err != nil || o.Network != spec.NetworkBridge || len(o.Publish) != 1 {
		t.Fatalf("root: %+v, %v; want the bridge with one published port", o, err)
	}
}

// Root's containers may use the helpers too (a namespace of their own,
// the helper run by the monitor as root).
func TestRootHelperNetworks(t *testing.T) {
	was := rootless
	rootless = func() bool { return false }
	t.Cleanup(func() { rootless = was })
	for _, m := range []string{"slirp4netns", "slirp4netns:allow_host_loopback=false", "pasta"} {
		o, err := parseRun(t, "--network", m, "-p", "8080:80", "busybox")
		if err != nil || o.Network != m || len(o.Publish) != 1 {
			t.Errorf("--network %s: %q %v %v", m, o.Network, o.Publish, err)
		}
	}
}

// TestRootlessLimits: a rootless create records where its cgroup goes
// and says, once, which limits cannot hold.
func TestRootlessLimits(t *testing.T) {
	deleg := cgroup.Delegation{
		Mount: "/sys/fs/cgroup", Subtree: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service",
		Controllers: []string{"cpu", "memory", "pids"}, Enableable: []string{"memory", "pids"},
	}
	none := cgroup.Delegation{Mount: "/sys/fs/cgroup", Own: "/user.slice/user-1000.slice/session-2.scope",
		Reason: "the caller's cgroup /user.slice/user-1000.slice/session-2.scope is not delegated to uid 0"}
	v1 := cgroup.Delegation{V1: true, Reason: "a hybrid cgroup host"}
	tests := []struct {
		name        string
		d           cgroup.Delegation
		l           state.Limits
		wantMount   string
		wantSubtree string
		warning     string
		err         string
	}{
		{"delegated, nothing asked", deleg, state.Limits{}, deleg.Mount, deleg.Subtree, "", ""},
		{"delegated, held", deleg, state.Limits{Memory: 64 << 20, PidsLimit: 10}, deleg.Mount, deleg.Subtree, "", ""},
		{"delegated, cpu not enableable", deleg, state.Limits{Memory: 64 << 20, NanoCPUs: 5e8}, deleg.Mount, deleg.Subtree,
			"Resource limits are not supported and ignored for cgroup controllers not delegated to this user (cpu): --cpus/--cpu-quota", ""},
		{"no delegation, nothing asked", none, state.Limits{}, "", "", "", ""},
		{"no delegation", none, state.Limits{Memory: 64 << 20}, "", "", "Resource limits are not supported and ignored without a delegated cgroup (" + none.Reason + "): --memory", ""},
		{"v1", v1, state.Limits{PidsLimit: 5}, "", "", "Resource limits are not supported and ignored on cgroups V1 rootless systems: --pids-limit", ""},
		{"cgroup parent", deleg, state.Limits{CgroupParent: "mine"}, "", "", "", "--cgroup-parent is not supported for rootless containers: drop it, or run skiff as root"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := tt.l
			w, err := rootlessLimits(&l, tt.d)
			if fmt.Sprint(err) != fmt.Sprint(errOrNil(tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
			if w != tt.warning {
				t.Errorf("warning %q, want %q", w, tt.warning)
			}
			if err == nil && (l.CgroupMount != tt.wantMount || l.CgroupSubtree != tt.wantSubtree) {
				t.Errorf("recorded %q %q, want %q %q", l.CgroupMount, l.CgroupSubtree, tt.wantMount, tt.wantSubtree)
			}
		})
	}
}

func errOrNil(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// Through run's flags: the record-to-be keeps the delegation, and a
// lowered --oom-score-adj is refused before the monitor would fail on it
// (inside the user namespace the capability is the namespace's).
func TestRootlessRunLimits(t *testing.T) {
	d := cgroup.Delegation{Mount: "/sys/fs/cgroup", Subtree: "/sys/fs/cgroup/u", Enableable: []string{"memory"}}
	asRootless(t, d)
	o, err := parseRun(t, "-m", "64m", "busybox")
	if err != nil {
		t.Fatal(err)
	}
	if l := o.Host.Limits; l.CgroupMount != d.Mount || l.CgroupSubtree != d.Subtree || l.Memory != 64<<20 {
		t.Errorf("limits %+v, want the delegation recorded with the memory limit", l)
	}
	if _, err := parseRun(t, "--oom-score-adj", "-1000", "busybox"); err == nil || !strings.Contains(err.Error(), "CAP_SYS_RESOURCE") {
		t.Errorf("--oom-score-adj -1000 rootless: %v, want the CAP_SYS_RESOURCE refusal", err)
	}
	if _, err := parseRun(t, "--cgroup-parent", "x", "busybox"); err == nil || !strings.Contains(err.Error(), "--cgroup-parent is not supported for rootless") {
		t.Errorf("--cgroup-parent rootless: %v", err)
	}
}

func TestRootlessUpdateWarning(t *testing.T) {
	tests := []struct {
		name string
		now  cgroup.Delegation // what Delegated says at the update
		l    state.Limits
		want string
	}{
		{"no delegation then or now", cgroup.Delegation{V1: true}, state.Limits{Memory: 64 << 20},
			"Resource limits are not supported and ignored on cgroups V1 rootless systems: --memory"},
		{"delegated now, not at create", cgroup.Delegation{Mount: "/m", Subtree: "/m/u", Enableable: []string{"memory"}}, state.Limits{Memory: 64 << 20},
			"Resource limits are not supported and ignored without a delegated cgroup (the container was created without one): --memory"},
		{"recorded: held", cgroup.Delegation{V1: true}, state.Limits{PidsLimit: 3, CgroupMount: "/nonexistent", CgroupSubtree: "/nonexistent/u"},
			// Nothing readable there: no controller, so the limit is named.
			"Resource limits are not supported and ignored for cgroup controllers not delegated to this user (pids): --pids-limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asRootless(t, tt.now)
			if got := rootlessUpdateWarning(tt.l); got != tt.want {
				t.Errorf("warning %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFreezeError(t *testing.T) {
	noFreezer := fmt.Errorf("container abc: %w (is the freezer controller mounted and writable?)", cgroup.ErrNoFreezer)
	other := errors.New("container abc is not running")
	tests := []struct {
		name     string
		rootless bool
		err      error
		want     string
	}{
		{"rootless without a cgroup", true, noFreezer, "cannot pause container web: a rootless container has a cgroup to freeze only on a cgroup v2 host that delegates one to the user (a systemd user session), and this one has none"},
		{"rootless, another error", true, other, other.Error()},
		{"root keeps its error", false, noFreezer, noFreezer.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			was := rootless
			rootless = func() bool { return tt.rootless }
			t.Cleanup(func() { rootless = was })
			if got := freezeError("pause", "web", tt.err); got.Error() != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
	if freezeError("pause", "web", nil) != nil {
		t.Errorf("no error became one")
	}
}

// A container without a cgroup (rootless without delegation) shows what
// /proc says of its processes: their CPU time, resident memory and count.
func TestProcStats(t *testing.T) {
	child := exec.Command("sleep", "30")
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { child.Process.Kill(); child.Wait() })
	// Our own CPU time, counted in ticks, is 0 until we have used one.
	for {
		if st, err := procstat.Read(os.Getpid()); err != nil || st.UTime+st.STime > 0 {
			break
		}
	}
	s := procStats([]int{os.Getpid(), child.Process.Pid, 1 << 30}, nil) // the last: no such process
	if s.Pids != 2 || s.Memory == 0 || s.CPUNanos == 0 {
		t.Errorf("stats %+v: want 2 processes, their memory and CPU time", s)
	}
	if s := procStats(nil, errors.New("gone")); s != (cgroup.Stats{}) {
		t.Errorf("no processes: %+v", s)
	}
}

// --pid and --ipc modes a rootless container cannot have are refused at
// create in one line; --ipc host and --uts host are as for root.
func TestRootlessNamespaceFlags(t *testing.T) {
	asRootless(t, cgroup.Delegation{V1: true})
	tests := []struct {
		args []string
		err  string
	}{
		{[]string{"--ipc", "host", "--uts", "host"}, ""},
		{[]string{"--ipc", "private"}, ""},
		{[]string{"--pid", "host"}, "--pid host: a rootless container cannot mount a /proc of the host's PID namespace (it belongs to the host's user namespace): drop it, or run skiff as root"},
		{[]string{"--pid", "container:web"}, "--pid container:web: a rootless container cannot join another container's namespaces (each has a user namespace of its own): drop it, or run skiff as root"},
		{[]string{"--ipc", "container:web"}, "--ipc container:web: a rootless container cannot join another container's namespaces (each has a user namespace of its own): drop it, or run skiff as root"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, err := parseRun(t, append(tt.args, "busybox")...)
			if fmt.Sprint(err) != fmt.Sprint(errOrNil(tt.err)) {
				t.Fatalf("err %v, want %q", err, tt.err)
			}
		})
	}
}
