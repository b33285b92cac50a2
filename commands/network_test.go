package commands

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/config"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// bridged is a running container's record as its monitor leaves it on
// the bridge: -p 8080:80, -p 127.0.0.1::53/udp (resolved to 40000),
// -p 8000-8002:8000-8002, and 9000 only exposed.
func bridged(id string) *state.Container {
	ports := []state.PortBinding{
		{Proto: "tcp", HostPort: 8080, ContainerPort: 80},
		{Proto: "udp", HostIP: "127.0.0.1", ContainerPort: 53},
		{Proto: "tcp", HostPort: 8000, ContainerPort: 8000, Count: 3},
	}
	resolved := append([]state.PortBinding{}, ports...)
	resolved[1].HostPort = 40000
	return &state.Container{
		ID: id, Name: "web", Status: state.Running, Pid: os.Getpid(), Created: time.Now(), StartedAt: time.Now(),
		Config: state.Config{ExposedPorts: map[string]struct{}{"80/tcp": {}, "53/udp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {}, "9000/tcp": {}}},
		Host: state.Host{NetworkMode: "bridge", Networks: []string{"bridge"}, Ports: ports, PublishAll: true,
			DNS: []string{"10.0.0.1"}, DNSSearch: []string{"example.com"}, ExtraHosts: []string{"db:10.0.0.5"}},
		Network: &state.NetworkStatus{Network: "bridge", Interface: "skiff0", HostVeth: "veth1", IPAddress: "172.17.0.2",
			IPPrefixLen: 16, Gateway: "172.17.0.1", MacAddress: "02:42:ac:11:00:02", Ports: resolved},
	}
}

func TestDisplayPorts(t *testing.T) {
	tests := []struct {
		name  string
		ports []containerPort
		want  string
	}{
		{"none", nil, ""},
		{"mapping", []containerPort{{IP: "0.0.0.0", Private: 80, Public: 8080, Proto: "tcp"}}, "0.0.0.0:8080->80/tcp"},
		{"exposed only", []containerPort{{Private: 80, Proto: "tcp"}}, "80/tcp"},
		{"range on the same numbers", []containerPort{
			{IP: "0.0.0.0", Private: 8000, Public: 8000, Proto: "tcp"}, {IP: "0.0.0.0", Private: 8001, Public: 8001, Proto: "tcp"},
			{IP: "0.0.0.0", Private: 8002, Public: 8002, Proto: "tcp"}}, "0.0.0.0:8000-8002->8000-8002/tcp"},
		{"exposed range and a gap", []containerPort{{Private: 80, Proto: "tcp"}, {Private: 81, Proto: "tcp"}, {Private: 90, Proto: "tcp"}}, "80-81/tcp, 90/tcp"},
		{"ipv6 host address", []containerPort{{IP: "::1", Private: 80, Public: 8080, Proto: "tcp"}}, "[::1]:8080->80/tcp"},
	}
	for _, tt := range tests {
		if got := displayPorts(tt.ports); got != tt.want {
			t.Errorf("%s: %q; want %q", tt.name, got, tt.want)
		}
	}
	ct := bridged(strings.Repeat("a", 64))
	want := "0.0.0.0:8000-8002->8000-8002/tcp, 9000/tcp, 127.0.0.1:40000->53/udp, 0.0.0.0:8080->80/tcp"
	if got := displayPorts(containerPorts(ct)); got != want {
		t.Errorf("bridged record: %q; want %q", got, want)
	}
	ct.Status, ct.Network = state.Exited, nil
	if got := displayPorts(containerPorts(ct)); got != "" {
		t.Errorf("stopped: %q; want nothing, as docker", got)
	}
}

func TestPsNetworkFilters(t *testing.T) {
	web := bridged(strings.Repeat("a", 64))
	host := &state.Container{ID: strings.Repeat("b", 64), Name: "h", Status: state.Running, Host: state.Host{NetworkMode: "host"}}
	old := &state.Container{ID: strings.Repeat("c", 64), Name: "old", Status: state.Exited}
	joined := &state.Container{ID: strings.Repeat("d", 64), Name: "j", Status: state.Running, Host: state.Host{NetworkMode: "container:" + web.ID}}
	tests := []struct {
		filter string
		want   string
	}{
		{"publish=8080", "web"}, {"publish=8080/tcp", "web"}, {"publish=8080/udp", ""}, {"publish=80", ""},
		{"publish=40000/udp", "web"}, {"publish=8001-8001", "web"}, {"publish=7000-7999", ""},
		{"expose=80", "web"}, {"expose=9000", "web"}, {"expose=53/udp", "web"}, {"expose=8080", ""},
		{"network=bridge", "web"}, {"network=host", "h"}, {"network=none", "old"},
		{"network=" + networkID("bridge")[:6], "web"}, {"network=mynet", ""},
	}
	for _, tt := range tests {
		f, err := parsePsFilters([]string{tt.filter})
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, ct := range []*state.Container{web, host, old, joined} {
			if f.match(ct) {
				got = append(got, ct.Name)
			}
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%s: %v; want %q", tt.filter, got, tt.want)
		}
	}
	var b bytes.Buffer
	if err := printPs(&b, "{{.Names}} {{.Networks}} [{{.Ports}}]", []*state.Container{web, host, joined}, time.Now(), false, nil); err != nil {
		t.Fatal(err)
	}
	want := "web bridge [0.0.0.0:8000-8002->8000-8002/tcp, 9000/tcp, 127.0.0.1:40000->53/udp, 0.0.0.0:8080->80/tcp]\nh host []\nj  []\n"
	if b.String() != want {
		t.Errorf("ps:\n%s\nwant:\n%s", b.String(), want)
	}
}

// inspect's network keys of a running bridged container, a stopped one
// and the other modes, in docker 28's shapes.
func TestInspectNetworkSettings(t *testing.T) {
	root := t.TempDir()
	ct := bridged(strings.Repeat("a", 64))
	withLayers(t, root, ct, "/l")
	g := &Globals{Paths: config.Paths{Root: root}}
	run := func(c *state.Container, format string) string {
		t.Helper()
		tmpl, err := goTemplate(format)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := printDocs(&b, tmpl, []any{toContainerInspect(g, c)}); err != nil {
			t.Fatal(err)
		}
		return strings.TrimSuffix(b.String(), "\n")
	}
	tests := []struct{ format, want string }{
		{"{{.NetworkSettings.IPAddress}}/{{.NetworkSettings.IPPrefixLen}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}} [{{.NetworkSettings.Bridge}}]",
			"172.17.0.2/16 172.17.0.1 02:42:ac:11:00:02 []"},
		{`{{json (index .NetworkSettings.Ports "80/tcp")}} {{json (index .NetworkSettings.Ports "9000/tcp")}} {{json (index .NetworkSettings.Ports "53/udp")}}`,
			`[{"HostIp":"0.0.0.0","HostPort":"8080"}] null [{"HostIp":"127.0.0.1","HostPort":"40000"}]`},
		{`{{json (index .NetworkSettings.Ports "8002/tcp")}}`, `[{"HostIp":"0.0.0.0","HostPort":"8002"}]`},
		{"{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{$v.IPAddress}} {{$v.Gateway}} {{$v.MacAddress}} {{json $v.IPAMConfig}} {{json $v.Aliases}} {{json $v.DNSNames}} [{{$v.IPv6Gateway}}]{{end}}",
			"bridge 172.17.0.2 172.17.0.1 02:42:ac:11:00:02 null null null []"},
		{"{{.NetworkSettings.Networks.bridge.NetworkID}}", networkID("bridge")},
		{"{{len .NetworkSettings.Networks.bridge.EndpointID}} {{len .NetworkSettings.SandboxID}} {{.NetworkSettings.SandboxKey}}",
			"64 64 /proc/" + itoa(os.Getpid()) + "/ns/net"},
		{"{{.HostConfig.NetworkMode}} {{.HostConfig.PublishAllPorts}} {{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}} {{json .HostConfig.ExtraHosts}}",
			`bridge true ["10.0.0.1"] ["example.com"] [] ["db:10.0.0.5"]`},
		{`{{json .HostConfig.PortBindings}}`,
			`{"53/udp":[{"HostIp":"127.0.0.1","HostPort":""}],"80/tcp":[{"HostIp":"","HostPort":"8080"}],"8000/tcp":[{"HostIp":"","HostPort":"8000"}],"8001/tcp":[{"HostIp":"","HostPort":"8001"}],"8002/tcp":[{"HostIp":"","HostPort":"8002"}]}`},
	}
	for _, tt := range tests {
		if got := run(ct, tt.format); got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.format, got, tt.want)
		}
	}

	stopped := bridged(ct.ID)
	stopped.Status, stopped.Network, stopped.Pid = state.Exited, nil, 0
	stopped.Host.MacAddress = "92:d0:c6:0a:29:33"
	if got, want := run(stopped, "[{{.NetworkSettings.IPAddress}}] {{json .NetworkSettings.Ports}} [{{.NetworkSettings.SandboxKey}}] {{range $k, $v := .NetworkSettings.Networks}}{{$k}}[{{$v.IPAddress}}][{{$v.EndpointID}}]{{$v.MacAddress}}{{end}}"),
		"[] {} [] bridge[][]92:d0:c6:0a:29:33"; got != want {
		t.Errorf("stopped: %q; want %q", got, want)
	}
	for mode, want := range map[string]string{"host": "host host", "none": "none none", "container:" + ct.ID: "container:" + ct.ID + " "} {
		c := &state.Container{ID: strings.Repeat("f", 64), Status: state.Exited, Host: state.Host{NetworkMode: mode}}
		withLayers(t, root, c, "/l")
		if got := run(c, "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}"); got != want {
			t.Errorf("%s: %q; want %q", mode, got, want)
		}
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// port on records: docker's lines, its order, its error.
func TestPortCommand(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	self, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ct := bridged(strings.Repeat("ab", 32))
	ct.PidStartTime = self
	saveRecord(t, root, ct, 0)
	if err := state.ReserveName(root, runRoot, ct.Name, ct.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args        []string
		code        int
		stdout, msg string
	}{
		{[]string{"port", "web"}, 0, "53/udp -> 127.0.0.1:40000\n80/tcp -> 0.0.0.0:8080\n8000/tcp -> 0.0.0.0:8000\n8001/tcp -> 0.0.0.0:8001\n8002/tcp -> 0.0.0.0:8002\n", ""},
		{[]string{"port", "web", "80"}, 0, "0.0.0.0:8080\n", ""},
		{[]string{"port", "web", "53/udp"}, 0, "127.0.0.1:40000\n", ""},
		{[]string{"port", "web", "9000"}, 1, "", "skiff: No public port '9000/tcp' published for web\n"},
		{[]string{"port", "web", "80/udp"}, 1, "", "skiff: No public port '80/udp' published for web\n"},
	}
	for _, tt := range tests {
		var code int
		stdout, stderr := captureOutput(t, func() {
			code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, tt.args...))
		})
		if code != tt.code || stdout != tt.stdout || stderr != tt.msg {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.msg)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	in := []string{"8080/tcp -> x", "10000/tcp -> x", "53/udp -> x", "8000/tcp -> x"}
	got := append([]string{}, in...)
	sortNatural(got)
	want := []string{"53/udp -> x", "8000/tcp -> x", "8080/tcp -> x", "10000/tcp -> x"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%v; want %v", got, want)
	}
}

func sortNatural(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if naturalLess(s[j], s[i]) {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestNetworkLs(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	main := func(args ...string) (int, string, string) {
		var code int
		stdout, stderr := captureOutput(t, func() {
			code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, args...))
		})
		return code, stdout, stderr
	}
	id := func(n string) string { return networkID(n)[:12] }
	tests := []struct {
		args        []string
		code        int
		stdout, msg string
	}{
		{[]string{"network", "ls"}, 0, "NETWORK ID     NAME      DRIVER    SCOPE\n" +
			id("bridge") + "   bridge    bridge    local\n" + id("host") + "   host      host      local\n" + id("none") + "   none      null      local\n", ""},
		{[]string{"network", "ls", "-q"}, 0, id("bridge") + "\n" + id("host") + "\n" + id("none") + "\n", ""},
		{[]string{"network", "ls", "--no-trunc", "--format", "{{.ID}} {{.Name}}", "--filter", "name=^b"}, 0, networkID("bridge") + " bridge\n", ""},
		{[]string{"network", "ls", "-f", "driver=null", "--format", "{{.Name}}"}, 0, "none\n", ""},
		{[]string{"network", "ls", "-f", "type=custom", "-q"}, 0, "", ""},
		{[]string{"network", "ls", "-f", "bogus=1"}, 1, "", "skiff: Error response from daemon: invalid filter 'bogus'\n"},
		{[]string{"network", "inspect", "-f", "{{.Name}} {{.Driver}} {{.Scope}} {{json .IPAM.Config}}", "host", "none"}, 0, "host host local []\nnone null local []\n", ""},
		{[]string{"network", "inspect", "-f", "{{.Id}}", id("bridge")}, 0, networkID("bridge") + "\n", ""},
		{[]string{"network", "inspect", "mynet"}, 1, "[]\n", "skiff: Error response from daemon: network mynet not found\n"},
		{[]string{"network", "rm", "mynet"}, 1, "", "skiff: Error response from daemon: network mynet not found\n"},
		{[]string{"network", "rm", "none"}, 1, "", "skiff: Error response from daemon: none is a pre-defined network and cannot be removed\n"},
	}
	for _, tt := range tests {
		code, stdout, stderr := main(tt.args...)
		if code != tt.code || stdout != tt.stdout || stderr != tt.msg {
			t.Errorf("%v: exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", tt.args, code, stdout, stderr, tt.code, tt.stdout, tt.msg)
		}
	}
}

// The config file's bridge keys reach the network package's Config.
func TestBridgeConfig(t *testing.T) {
	f := config.File{BIP: "172.30.0.1/16", DefaultAddressPools: []config.AddressPool{{Base: "10.10.0.0/16", Size: 24}}}
	got := bridgeConfig(f, "/run/x")
	want := network.Config{BIP: netip.MustParsePrefix("172.30.0.1/16"),
		Pools: []network.Pool{{Base: netip.MustParsePrefix("10.10.0.0/16"), Size: 24}}, RunDir: "/run/x/networks"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("bridgeConfig = %+v; want %+v", got, want)
	}
	if got := bridgeConfig(config.File{}, "/run/x"); got.BIP.IsValid() || got.Pools != nil {
		t.Errorf("empty config: %+v; want no bip, docker's pools (nil)", got)
	}
}
