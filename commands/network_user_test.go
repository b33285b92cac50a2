package commands

import (
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/state"
)

const netnsTestEnv = "SKIFF_COMMANDS_TEST_NETNS"

// inOwnNetns runs the test's body in a child of the test binary cloned
// into a network namespace of its own (rm and prune delete bridges and
// rules: never the host's); true in the child, false in the parent, which
// only reports the child's result.
func inOwnNetns(t *testing.T) bool {
	t.Helper()
	if os.Getenv(netnsTestEnv) == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: a network namespace of its own")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), netnsTestEnv+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its own netns: %v\n%s", t.Name(), err, out)
	}
	return false
}

// userNetFixture is a root with user network records made by package
// network (no device: the commands read records) and a running member.
type userNetFixture struct {
	root, runRoot string
	nets          *network.UserNetworks
	front, back   *network.UserNetwork
	member        network.Member
}

func newUserNetFixture(t *testing.T) *userNetFixture {
	t.Helper()
	f := &userNetFixture{root: t.TempDir(), runRoot: t.TempDir()}
	f.nets = network.NewUserNetworks(f.root, network.Config{RunDir: network.RunDir(f.runRoot)})
	var err error
	if f.front, err = f.nets.Create(network.CreateOptions{Name: "front", Subnet: "10.77.0.0/24", IPRange: "10.77.0.128/25",
		Labels: map[string]string{"env": "prod"}, Options: map[string]string{"mtu": "1400"}}); err != nil {
		t.Fatal(err)
	}
	if f.back, err = f.nets.Create(network.CreateOptions{Name: "back", Subnet: "10.78.0.0/16", Internal: true}); err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("ab", 32)
	lock, err := state.LockMonitor(f.runRoot, id) // its monitor is alive: the sweep keeps it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lock.Close() })
	if f.member, err = f.nets.Join(f.front.ID, network.Member{ContainerID: id, Name: "web", Aliases: []string{"www"}}); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *userNetFixture) main(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var code int
	stdout, stderr := captureOutput(t, func() {
		code = Main(append([]string{"skiff", "--root", f.root, "--runroot", f.runRoot, "--config", "/nonexistent"}, args...))
	})
	return code, stdout, stderr
}

// ls, inspect, rm and prune of user networks beside the predefined ones,
// in docker's output and words.
func TestNetworkUserCommands(t *testing.T) {
	if !inOwnNetns(t) {
		return
	}
	f := newUserNetFixture(t)
	short := func(id string) string { return id[:12] }
	tests := []struct {
		args        []string
		code        int
		stdout, msg string
	}{
		{[]string{"network", "ls"}, 0, "NETWORK ID     NAME      DRIVER    SCOPE\n" +
			short(f.back.ID) + "   back      bridge    local\n" +
			short(networkID("bridge")) + "   bridge    bridge    local\n" +
			short(f.front.ID) + "   front     bridge    local\n" +
			short(networkID("host")) + "   host      host      local\n" +
			short(networkID("none")) + "   none      null      local\n", ""},
		{[]string{"network", "ls", "-f", "type=custom", "--format", "{{.Name}} {{.Internal}} {{.IPv4}} {{.IPv6}} [{{.Labels}}] [{{.Label \"env\"}}]"}, 0,
			"back true true false [] []\nfront false true false [env=prod] [prod]\n", ""},
		{[]string{"network", "ls", "-f", "dangling=true", "-q", "--no-trunc"}, 0, f.back.ID + "\n", ""},
		{[]string{"network", "ls", "-f", "dangling=false", "--format", "{{.Name}}"}, 0, "bridge\nfront\nhost\nnone\n", ""},
		{[]string{"network", "ls", "-f", "label=env=prod", "-f", "driver=bridge", "--format", "{{.Name}}"}, 0, "front\n", ""},
		{[]string{"network", "ls", "-f", "type=builtin", "-f", "name=o", "--format", "{{.Name}}"}, 0, "host\nnone\n", ""},
		{[]string{"network", "ls", "-f", "id=" + f.front.ID[:5], "--format", "{{.Name}}"}, 0, "front\n", ""},
		{[]string{"network", "ls", "-f", "dangling=maybe"}, 1, "", "skiff: Error response from daemon: invalid value for filter 'dangling', must be \"true\" (or \"1\"), or \"false\" (or \"0\")\n"},
		{[]string{"network", "inspect", "-f", "{{.Name}} {{.Id}} {{.Driver}} {{.Scope}} {{.EnableIPv4}} {{.EnableIPv6}} {{.Internal}} {{json .IPAM}} {{json .Labels}} {{json .Options}} {{json .ConfigFrom}}", "front"}, 0,
			"front " + f.front.ID + ` bridge local true false false {"Driver":"default","Options":{},"Config":[{"Subnet":"10.77.0.0/24","IPRange":"10.77.0.128/25","Gateway":"10.77.0.1"}]} {"env":"prod"} {"mtu":"1400"} {"Network":""}` + "\n", ""},
		{[]string{"network", "inspect", "-f", "{{json .Containers}}", short(f.front.ID)}, 0,
			`{"` + f.member.ContainerID + `":{"Name":"web","EndpointID":"` + f.member.EndpointID + `","MacAddress":"` + f.member.MAC + `","IPv4Address":"` + f.member.Addr.String() + `/24","IPv6Address":""}}` + "\n", ""},
		{[]string{"network", "inspect", "-f", "{{.Name}} {{.Internal}} {{len .Containers}} {{json .Labels}}", "back", "nope"}, 1, "back true 0 {}\n", "skiff: Error response from daemon: network nope not found\n"},
		{[]string{"network", "rm", "front", "back", "bridge", "nope"}, 1, "back\n",
			"skiff: Error response from daemon: error while removing network: network front id " + f.front.ID + " has active endpoints\n" +
				"skiff: Error response from daemon: bridge is a pre-defined network and cannot be removed\n" +
				"skiff: Error response from daemon: network nope not found\n"},
		{[]string{"network", "rm", "-f", "nope"}, 0, "", ""},
		{[]string{"network", "ls", "-f", "type=custom", "--format", "{{.Name}}"}, 0, "front\n", ""},
		{[]string{"network", "prune", "-f"}, 0, "", ""},
	}
	for _, tt := range tests {
		code, stdout, stderr := f.main(t, tt.args...)
		stderr = dropBridgeWarnings(stderr)
		if code != tt.code || stdout != tt.stdout || stderr != tt.msg {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.msg)
		}
	}
	// Unused networks go with prune, the labelled one only if the filter
	// says so; one with a member stays.
	for _, o := range []network.CreateOptions{{Name: "tmp1", Subnet: "10.79.0.0/24"}, {Name: "tmp2", Subnet: "10.80.0.0/24", Labels: map[string]string{"keep": "1"}}} {
		if _, err := f.nets.Create(o); err != nil {
			t.Fatal(err)
		}
	}
	if code, stdout, stderr := f.main(t, "network", "prune", "-f", "--filter", "label!=keep"); code != 0 || stdout != "Deleted Networks:\ntmp1\n\n" || dropBridgeWarnings(stderr) != "" {
		t.Errorf("prune label!=keep: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	if code, stdout, _ := f.main(t, "network", "ls", "-f", "type=custom", "--format", "{{.Name}}"); code != 0 || stdout != "front\ntmp2\n" {
		t.Errorf("after prune: %q", stdout)
	}
	// system prune prunes networks after containers, as docker's.
	if code, stdout, stderr := f.main(t, "system", "prune", "-f"); code != 0 || !strings.Contains(stdout, "Deleted Networks:\ntmp2\n\n") || dropBridgeWarnings(stderr) != "" {
		t.Errorf("system prune: exit %d, stdout %q, stderr %q; want tmp2 deleted", code, stdout, stderr)
	}
	if code, stdout, _ := f.main(t, "network", "ls", "-f", "type=custom", "--format", "{{.Name}}"); code != 0 || stdout != "front\n" {
		t.Errorf("after system prune: %q", stdout)
	}
}

// dropBridgeWarnings removes the warning a RemoveBridge that is not wired
// yet prints after the record is gone (the bridge helper's stub).
func dropBridgeWarnings(stderr string) string {
	var keep []string
	for _, l := range strings.SplitAfter(stderr, "\n") {
		if !strings.HasPrefix(l, "skiff: warning: network ") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "")
}

// network create's refusals before anything is made, docker's words.
func TestNetworkCreateRefusals(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	tests := []struct {
		args []string
		msg  string
	}{
		{[]string{"network", "create"}, `skiff: "network create" requires exactly 1 argument: skiff network create [OPTIONS] NETWORK` + "\n"},
		{[]string{"network", "create", "bridge"}, "skiff: Error response from daemon: operation is not permitted on predefined bridge network\n"},
		{[]string{"network", "create", "-d", "overlay", "x"}, "skiff: Error response from daemon: plugin \"overlay\" not found\n"},
		{[]string{"network", "create", "--ipv6", "x"}, "skiff: Error response from daemon: IPv6 is not supported: skiff's networks are IPv4 only\n"},
		{[]string{"network", "create", "--subnet", "10.1.0.0/24", "--subnet", "10.2.0.0/24", "x"}, "skiff: Error response from daemon: one --subnet only: skiff's networks have one IPv4 subnet\n"},
		{[]string{"network", "create", "--subnet", "10.1.0.1/24", "x"}, "skiff: Error response from daemon: invalid subnet 10.1.0.1/24 : it should be 10.1.0.0/24\n"},
		{[]string{"network", "create", "--gateway", "10.1.0.1", "x"}, "skiff: Error response from daemon: every ip-range or gateway must have a corresponding subnet\n"},
		{[]string{"network", "connect", "x"}, `skiff: "network connect" requires exactly 2 arguments: skiff network connect [OPTIONS] NETWORK CONTAINER` + "\n"},
		{[]string{"network", "connect", "--ip", "fd00::1", "x", "y"}, "skiff: Error response from daemon: invalid IPv4 address: fd00::1\n"},
		{[]string{"network", "disconnect", "x"}, `skiff: "network disconnect" requires exactly 2 arguments: skiff network disconnect [OPTIONS] NETWORK CONTAINER` + "\n"},
		{[]string{"network", "prune", "x"}, `skiff: "network prune" accepts no arguments: skiff network prune [OPTIONS]` + "\n"},
		{[]string{"network", "prune", "--filter", "dangling=true"}, "skiff: Error response from daemon: invalid filter 'dangling'\n"},
		{[]string{"network", "rm"}, `skiff: "network rm" requires at least 1 argument: skiff network rm NETWORK [NETWORK...]` + "\n"},
	}
	for _, tt := range tests {
		var code int
		stdout, stderr := captureOutput(t, func() {
			code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, tt.args...))
		})
		if code != 1 || stdout != "" || stderr != tt.msg {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit 1, stderr %q", tt.args, code, stdout, stderr, tt.msg)
		}
	}
	// Flag values docker's CLI refuses: exit 125 and the pointer to help.
	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"network", "create", "--label", "=v", "x"}, `skiff: invalid argument "=v" for "--label" flag: invalid label '=v': empty name` + "\nSee 'skiff network create --help'.\n"},
		{[]string{"network", "connect", "--ip", "1.2.3", "x", "y"}, `skiff: invalid argument "1.2.3" for "--ip" flag: failed to parse IP: "1.2.3"` + "\nSee 'skiff network connect --help'.\n"},
	} {
		var code int
		stdout, stderr := captureOutput(t, func() {
			code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, tt.args...))
		})
		if code != 125 || stdout != "" || stderr != tt.msg {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit 125, stderr %q", tt.args, code, stdout, stderr, tt.msg)
		}
	}
	if entries, _ := os.ReadDir(root + "/networks"); len(entries) > 1 { // the lock at most
		t.Errorf("a refused create left %v", entries)
	}
}

// ps and container inspect of a container on user networks: its networks
// in join order, the filter by name and id, and each network's entry from
// the member record while it runs (empty addresses when stopped).
func TestContainerOnUserNetworks(t *testing.T) {
	f := newUserNetFixture(t)
	ct := &state.Container{ID: f.member.ContainerID, Name: "web", Status: state.Running, Pid: os.Getpid(),
		Host: state.Host{NetworkMode: "front", Networks: []string{"front", "back"}, MacAddress: "",
			Endpoints: []state.EndpointConfig{
				{NetworkID: f.front.ID, NetworkName: "front", Aliases: []string{"www"}, IPv4Address: f.member.Addr.String()},
				{NetworkID: f.back.ID, NetworkName: "back"}},
			Links: []state.Link{{ID: strings.Repeat("c", 64), Name: "db", Alias: "database"}}}}
	bridged := bridged(strings.Repeat("a", 64))
	bridged.Host.Endpoints = []state.EndpointConfig{{NetworkID: f.back.ID, NetworkName: "back"}} // connected later
	for filter, want := range map[string]string{
		"network=front": "web", "network=back": "web web", "network=" + f.back.ID[:8]: "web web",
		"network=bridge": "web", "network=" + networkID("bridge")[:8]: "web", "network=nope": "",
	} {
		pf, err := parsePsFilters([]string{filter})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, c := range []*state.Container{ct, bridged} {
			if pf.match(c) {
				got = append(got, c.Name)
			}
		}
		if strings.Join(got, " ") != want {
			t.Errorf("%s: %v; want %q", filter, got, want)
		}
	}
	var b strings.Builder
	if err := printPs(&b, "{{.Names}} {{.Networks}}", []*state.Container{ct, bridged}, ct.StartedAt, false, nil); err != nil {
		t.Fatal(err)
	}
	if want := "web front,back\nweb bridge,back\n"; b.String() != want {
		t.Errorf("ps .Networks: %q; want %q", b.String(), want)
	}

	withLayers(t, f.root, ct, "/l")
	g := &Globals{Paths: config.Paths{Root: f.root, RunRoot: f.runRoot}, Bridge: network.Config{RunDir: network.RunDir(f.runRoot)}}
	inspect := func(c *state.Container, format string) string {
		t.Helper()
		tmpl, err := goTemplate(format)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		if err := printDocs(&b, tmpl, []any{toContainerInspect(g, c)}); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	addr := f.member.Addr.String()
	tests := []struct{ format, want string }{
		{"{{.HostConfig.NetworkMode}} {{json .HostConfig.Links}} [{{.NetworkSettings.IPAddress}}] {{len .NetworkSettings.Networks}}",
			`front ["/db:/web/database"] [] 2`},
		{"{{with .NetworkSettings.Networks.front}}{{.IPAddress}}/{{.IPPrefixLen}} {{.Gateway}} {{.MacAddress}} {{.NetworkID}} {{.EndpointID}} {{json .Aliases}} {{json .DNSNames}} {{json .IPAMConfig}}{{end}}",
			addr + "/24 10.77.0.1 " + f.member.MAC + " " + f.front.ID + " " + f.member.EndpointID + ` ["www"] ["web","` + ct.ID[:12] + `","www"] {"IPv4Address":"` + addr + `","IPv6Address":""}`},
		{"{{with .NetworkSettings.Networks.back}}[{{.IPAddress}}] {{.NetworkID}} [{{.EndpointID}}] {{json .DNSNames}} {{json .IPAMConfig}}{{end}}",
			"[] " + f.back.ID + " [] null null"},
	}
	for _, tt := range tests {
		if got := inspect(ct, tt.format); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}
	ct.Status, ct.Pid = state.Exited, 0
	if got, want := inspect(ct, "{{with .NetworkSettings.Networks.front}}[{{.IPAddress}}] [{{.EndpointID}}] {{json .DNSNames}} {{json .IPAMConfig}}{{end}}"),
		`[] [] null {"IPv4Address":"`+addr+`","IPv6Address":""}`; got != want {
		t.Errorf("stopped: %q; want %q", got, want)
	}
	if got := netip.MustParseAddr(addr); !f.front.IPRange.Contains(got) {
		t.Errorf("member address %s outside the ip-range %s", got, f.front.IPRange)
	}
}

// Every command sweeps the member records of containers whose monitor is
// dead (a kill -9), so they never keep a network in use.
func TestNetworkSweepsDeadMembers(t *testing.T) {
	f := newUserNetFixture(t)
	dead := strings.Repeat("cd", 32) // no monitor holds its lock
	if _, err := f.nets.Join(f.back.ID, network.Member{ContainerID: dead, Name: "gone"}); err != nil {
		t.Fatal(err)
	}
	if members, _ := f.nets.Members(f.back.ID); len(members) != 1 {
		t.Fatalf("members before: %v", members)
	}
	code, stdout, stderr := f.main(t, "network", "ls", "-f", "dangling=true", "--format", "{{.Name}}")
	if code != 0 || stdout != "back\n" || stderr != "" {
		t.Errorf("ls dangling=true: exit %d, stdout %q, stderr %q; want back, its dead member swept", code, stdout, stderr)
	}
	if members, _ := f.nets.Members(f.front.ID); len(members) != 1 {
		t.Errorf("the live member was swept: %v", members)
	}
}
