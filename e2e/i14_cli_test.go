package e2e

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// Issue 14, the CLI side of networking: run and create read docker's
// network flags and refuse bad ones in docker's words before anything is
// made; inspect, ps and port show a container's network with docker's
// keys; `network ls` lists docker's predefined networks. Only --network
// none and host are run here (the bridge's own tests are elsewhere).

// TestI14CliFlagErrors: every bad network flag, and every flag the network
// mode makes meaningless, is one line with docker's sentence, exit 125,
// from run and from create, and nothing is created (no record, no name).
func TestI14CliFlagErrors(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", "-q", fx.busybox)
	const name = "i14-cli-refused"
	const mac = "92:d0:c6:0a:29:33"
	tests := []struct {
		flags []string
		msg   string
	}{
		{[]string{"-p", "80:http"}, "invalid containerPort: http"},
		{[]string{"-p", "70000:80"}, "invalid hostPort: 70000"},
		{[]string{"-p", "1.2.3:80:80"}, "invalid IP address: 1.2.3"},
		{[]string{"-p", "8000-8001:80-82"}, "invalid ranges specified for container and host Ports: 80-82 and 8000-8001"},
		{[]string{"-p", "80/icmp"}, "invalid proto: icmp"},
		{[]string{"-p", "8080:"}, "no port specified: 8080:<empty>"},
		{[]string{"--expose", "80:80"}, "invalid port format for --expose: 80:80"},
		{[]string{"--network", "mynet"}, "network mynet not found"},
		{[]string{"--net", "container:"}, "invalid network mode: invalid container format container:<name|id>"},
		{[]string{"--network", "container:web", "-h", "x"}, "conflicting options: hostname and the network mode"},
		{[]string{"--network", "container:web", "--dns", "10.0.0.1"}, "conflicting options: dns and the network mode"},
		{[]string{"--network", "container:web", "--add-host", "a:10.0.0.1"}, "conflicting options: custom host-to-IP mapping and the network mode"},
		{[]string{"--network", "container:web", "-p", "80"}, "conflicting options: port publishing and the container type network mode"},
		{[]string{"--network", "container:web", "-P"}, "conflicting options: port publishing and the container type network mode"},
		{[]string{"--network", "container:web", "--expose", "80"}, "conflicting options: port exposing and the container type network mode"},
		{[]string{"--network", "host", "--mac-address", mac}, "conflicting options: mac-address and the network mode"},
		{[]string{"--ip", "172.17.0.9"}, "user specified IP address is supported on user defined networks only"},
		{[]string{"--network", "none", "--ip6", "fd00::9"}, "user specified IP address is supported on user defined networks only"},
		{[]string{"--dns", "one.one"}, `invalid argument "one.one" for "--dns" flag: IP address is not correctly formatted: one.one`},
		{[]string{"--dns-search", "-x-"}, `invalid argument "-x-" for "--dns-search" flag: -x- is not a valid domain`},
		{[]string{"--add-host", "db"}, `invalid argument "db" for "--add-host" flag: bad format for add-host: "db"`},
		{[]string{"--add-host", "db:x.y"}, `invalid argument "db:x.y" for "--add-host" flag: invalid IP address in add-host: "x.y"`},
		{[]string{"--mac-address", "zz"}, "zz is not a valid mac address"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.flags, " "), func(t *testing.T) {
			for _, verb := range []string{"run", "create"} {
				args := append(append([]string{verb, "--name", name}, tt.flags...), fx.busybox, "true")
				r := s.skiff(nil, args...)
				if want := "skiff: " + verb + ": " + tt.msg + "\n"; r.code != 125 || r.stderr != want || r.stdout != "" {
					t.Errorf("%s: want exit 125 and stderr %q; got %v", verb, want, r)
				}
			}
		})
	}
	if r := s.skiff(nil, "ps", "-a", "-q"); r.code != 0 || r.stdout != "" {
		t.Errorf("ps -a -q: want no container; %v", r)
	}
	// The name was never reserved.
	id := s.create(t, "--name", name, "--network", "none", fx.busybox, "true")
	s.must(t, "rm", id)
}

// TestI14CliBadBridgeConfig: a bip or an address pool the bridge could not
// use fails every command in one line naming the file and the key.
func TestI14CliBadBridgeConfig(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	for _, tt := range []struct{ json, msg string }{
		{`{"bip": "172.30.0.0/16"}`, `"bip" "172.30.0.0/16": the bridge needs a host address, not the network's own (as "172.30.0.1/16")`},
		{`{"default-address-pools": [{"base": "10.10.0.0/16", "size": 8}]}`, `"default-address-pools": size 8 for base 10.10.0.0/16: want a prefix length from 16 to 30`},
	} {
		if err := os.WriteFile(s.config, []byte(tt.json), 0o644); err != nil {
			t.Fatal(err)
		}
		r := s.skiff(nil, "ps")
		if want := "skiff: config " + s.config + ": " + tt.msg + "\n"; r.code != 1 || r.stderr != want {
			t.Errorf("%s: want exit 1 and %q; got %v", tt.json, want, r)
		}
	}
	if err := os.WriteFile(s.config, []byte(`{"bip": "172.30.0.1/16", "default-address-pools": [{"base": "10.10.0.0/16", "size": 24}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s.must(t, "ps")
}

// TestI14CliNetworkLs: docker's three predefined networks, ids stable
// from one command to the next, and their inspect documents.
func TestI14CliNetworkLs(t *testing.T) {
	s := shared(t)
	r := s.must(t, "network", "ls")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	row := regexp.MustCompile(`^[0-9a-f]{12}   (\S+)\s+(\S+)\s+local$`)
	want := [][2]string{{"bridge", "bridge"}, {"host", "host"}, {"none", "null"}}
	if len(lines) != 4 || !regexp.MustCompile(`^NETWORK ID\s+NAME\s+DRIVER\s+SCOPE$`).MatchString(lines[0]) {
		t.Fatalf("network ls:\n%s", r.stdout)
	}
	for i, w := range want {
		m := row.FindStringSubmatch(lines[i+1])
		if m == nil || m[1] != w[0] || m[2] != w[1] {
			t.Errorf("row %d %q; want %s with driver %s", i+1, lines[i+1], w[0], w[1])
		}
	}
	ids := s.must(t, "network", "ls", "-q", "--no-trunc").stdout
	if again := s.must(t, "network", "ls", "-q", "--no-trunc").stdout; again != ids || len(strings.Fields(ids)) != 3 {
		t.Errorf("ids not stable: %q then %q", ids, again)
	}
	if got := s.must(t, "network", "ls", "--filter", "name=^ho", "--format", "{{.Name}} {{.Driver}}").stdout; got != "host host\n" {
		t.Errorf("ls --filter name=^ho: %q", got)
	}
	bridgeID := strings.Fields(ids)[0]
	if got := s.must(t, "network", "inspect", "-f", "{{.Name}} {{.Id}} {{.Driver}} {{.Scope}}", bridgeID[:8], "none").stdout; got != "bridge "+bridgeID+" bridge local\nnone "+strings.Fields(ids)[2]+" null local\n" {
		t.Errorf("network inspect: %q", got)
	}
	// User networks came with issue 19: a predefined name is refused.
	r = s.skiff(nil, "network", "create", "bridge")
	if r.code != 1 || r.stderr != "skiff: Error response from daemon: operation is not permitted on predefined bridge network\n" {
		t.Errorf("network create bridge: %v", r)
	}
}

// TestI14CliNoneAndHost: inspect, ps and port of containers in network
// modes none and host show what was asked, with docker's keys; host mode
// discards published ports with docker's warning.
func TestI14CliNoneAndHost(t *testing.T) {
	s := shared(t)
	none := uniqueName(t)
	noneID := s.runD(t, "--name", none, "--network", "none", "-p", "8080:80", "--dns", "10.0.0.1", "--dns-search", "example.com",
		"--dns-opt", "ndots:2", "--add-host", "db:10.0.0.5", "--domainname", "example.com", fx.busybox, "sleep", "60")
	host := uniqueName(t)
	hostID := s.runD(t, "--name", host, "--network", "host", fx.busybox, "sleep", "60")

	tests := []struct{ ref, format, want string }{
		{none, "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}[{{$v.IPAddress}}]{{end}} [{{.NetworkSettings.IPAddress}}] {{json .NetworkSettings.Ports}}", "none none[] [] {}"},
		{none, "{{json .HostConfig.PortBindings}}", `{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}`},
		{none, "{{json .HostConfig.Dns}} {{json .HostConfig.DnsSearch}} {{json .HostConfig.DnsOptions}} {{json .HostConfig.ExtraHosts}}",
			`["10.0.0.1"] ["example.com"] ["ndots:2"] ["db:10.0.0.5"]`},
		{none, "{{.NetworkSettings.SandboxKey}}", "/proc/" + s.i7inspectFormat(t, "{{.State.Pid}}", none) + "/ns/net"},
		{host, "{{.HostConfig.NetworkMode}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}} {{json .NetworkSettings.Ports}}", "host host {}"},
	}
	for _, tt := range tests {
		if got := s.i7inspectFormat(t, tt.format, tt.ref); got != tt.want {
			t.Errorf("inspect -f '%s' %s:\n got %q\nwant %q", tt.format, tt.ref, got, tt.want)
		}
	}
	// The network key's id is the one network ls shows.
	var nets map[string]struct{ NetworkID string }
	if err := json.Unmarshal([]byte(s.i7inspectFormat(t, "{{json .NetworkSettings.Networks}}", none)), &nets); err != nil {
		t.Fatal(err)
	}
	if ids := s.must(t, "network", "ls", "-q", "--no-trunc", "--filter", "name=none").stdout; nets["none"].NetworkID+"\n" != ids {
		t.Errorf("Networks.none.NetworkID %q; network ls says %q", nets["none"].NetworkID, ids)
	}
	// host mode is the host's namespace.
	self, _ := os.Readlink("/proc/self/ns/net")
	if got, _ := os.Readlink("/proc/" + s.i7inspectFormat(t, "{{.State.Pid}}", host) + "/ns/net"); got != self {
		t.Errorf("--network host: the container's namespace %q, ours %q", got, self)
	}

	for filter, want := range map[string]string{"network=none": noneID, "network=host": hostID} {
		out := s.must(t, "ps", "-q", "--no-trunc", "--filter", filter, "--filter", "name=^e2e-").stdout
		if !strings.Contains(out, want) || strings.Count(out, "\n") < 1 || strings.Contains(out, map[string]string{noneID: hostID, hostID: noneID}[want]) {
			t.Errorf("ps --filter %s: %q; want %s and not the other", filter, out, want[:12])
		}
	}
	if got := s.must(t, "ps", "--filter", "name=^"+none+"$", "--format", "{{.Networks}} [{{.Ports}}]").stdout; got != "none []\n" {
		t.Errorf("ps of the none container: %q", got)
	}
	// Nothing is published off the bridge: port lists nothing, and names
	// a port it is asked for as not published.
	if r := s.must(t, "port", none); r.stdout != "" {
		t.Errorf("port %s: %q; want nothing", none, r.stdout)
	}
	if r := s.skiff(nil, "port", none, "80"); r.code != 1 || r.stderr != "skiff: No public port '80/tcp' published for "+none+"\n" {
		t.Errorf("port %s 80: %v", none, r)
	}

	r := s.skiff(nil, "run", "--rm", "--network", "host", "-p", "80:80", fx.busybox, "true")
	if r.code != 0 || r.stderr != "WARNING: Published ports are discarded when using host network mode\n" {
		t.Errorf("run --network host -p: want docker's warning and exit 0; %v", r)
	}
}

// i14cliRequireOwnNetns skips a test that makes skiff's bridge unless the
// suite runs in the harness's own network namespace (TestMain's re-exec
// sets SKIFF_E2E_IN_NETNS there), never in the host's.
func i14cliRequireOwnNetns(t *testing.T) {
	t.Helper()
	if os.Getenv("SKIFF_E2E_IN_NETNS") == "" {
		t.Skip("the bridge is made only in the harness's own network namespace (SKIFF_E2E_IN_NETNS unset)")
	}
}

// TestI14CliBridgeShows: a running container on the bridge, as inspect,
// port, ps and network inspect show it, all from the record its monitor
// wrote; and nothing of it once stopped.
func TestI14CliBridgeShows(t *testing.T) {
	s := shared(t)
	i14cliRequireOwnNetns(t)
	name := uniqueName(t)
	id := s.runD(t, "--name", name, "--dns", "10.0.0.1", "-p", "80", "-p", "127.0.0.1::53/udp", fx.busybox, "sleep", "60")

	var doc []struct {
		HostConfig struct {
			PortBindings map[string][]struct{ HostIp, HostPort string }
		}
		NetworkSettings struct {
			IPAddress, Gateway, MacAddress string
			IPPrefixLen                    int
			Ports                          map[string][]struct{ HostIp, HostPort string }
			Networks                       map[string]struct{ IPAddress, Gateway, MacAddress, NetworkID string }
		}
	}
	if err := json.Unmarshal([]byte(s.must(t, "inspect", name).stdout), &doc); err != nil || len(doc) != 1 {
		t.Fatalf("inspect: %v", err)
	}
	ns := doc[0].NetworkSettings
	br := ns.Networks["bridge"]
	if ns.IPAddress == "" || ns.IPAddress != br.IPAddress || ns.Gateway == "" || ns.Gateway != br.Gateway ||
		!strings.HasPrefix(ns.MacAddress, "02:42:") || ns.IPPrefixLen == 0 || len(ns.Networks) != 1 {
		t.Errorf("NetworkSettings: %+v", ns)
	}
	web, dns := ns.Ports["80/tcp"], ns.Ports["53/udp"]
	if len(web) != 1 || web[0].HostIp != "0.0.0.0" || web[0].HostPort == "" || len(dns) != 1 || dns[0].HostIp != "127.0.0.1" || dns[0].HostPort == "" {
		t.Fatalf("NetworkSettings.Ports: %+v", ns.Ports)
	}
	pb := doc[0].HostConfig.PortBindings
	if len(pb) != 2 || pb["80/tcp"][0].HostPort != "" || pb["53/udp"][0].HostIp != "127.0.0.1" {
		t.Errorf("HostConfig.PortBindings (as asked: random ports): %+v", pb)
	}

	wantPort := "53/udp -> 127.0.0.1:" + dns[0].HostPort + "\n80/tcp -> 0.0.0.0:" + web[0].HostPort + "\n"
	if got := s.must(t, "port", name).stdout; got != wantPort {
		t.Errorf("port: %q; want %q", got, wantPort)
	}
	wantPs := "bridge 127.0.0.1:" + dns[0].HostPort + "->53/udp, 0.0.0.0:" + web[0].HostPort + "->80/tcp\n"
	if got := s.must(t, "ps", "--filter", "name=^"+name+"$", "--format", "{{.Networks}} {{.Ports}}").stdout; got != wantPs {
		t.Errorf("ps: %q; want %q", got, wantPs)
	}
	for _, f := range []string{"publish=" + web[0].HostPort, "publish=" + dns[0].HostPort + "/udp", "expose=80", "network=bridge"} {
		if got := s.must(t, "ps", "-q", "--no-trunc", "--filter", f).stdout; !strings.Contains(got, id) {
			t.Errorf("ps --filter %s: %q lacks the container", f, got)
		}
	}
	if got := s.must(t, "network", "inspect", "-f", `{{(index .Containers "`+id+`").IPv4Address}}`, "bridge").stdout; got != ns.IPAddress+"/"+strconv.Itoa(ns.IPPrefixLen)+"\n" {
		t.Errorf("network inspect bridge: %q; want %s/%d", got, ns.IPAddress, ns.IPPrefixLen)
	}

	s.must(t, "stop", "-t", "0", name)
	if got := s.i7inspectFormat(t, "[{{.NetworkSettings.IPAddress}}] {{json .NetworkSettings.Ports}} {{range $k, $v := .NetworkSettings.Networks}}{{$k}}[{{$v.IPAddress}}]{{end}}", name); got != "[] {} bridge[]" {
		t.Errorf("stopped: %q", got)
	}
	if got := s.must(t, "port", name).stdout; got != "" {
		t.Errorf("port of a stopped container: %q", got)
	}
}

// TestI14CliConfigDNS: the config file's "dns" is every container's name
// server unless --dns says otherwise (the suite's stores name the fake
// upstream, so no test container sees the host's resolvers).
func TestI14CliConfigDNS(t *testing.T) {
	s := shared(t)
	tests := []struct {
		flags []string
		want  string
	}{
		{nil, "nameserver " + i14e2eUpstreamDNS + "\n"},
		{[]string{"--dns", "10.200.0.9"}, "nameserver 10.200.0.9\n"},
	}
	for _, tt := range tests {
		args := append(append([]string{"run", "--rm", "--network", "none"}, tt.flags...), fx.busybox, "cat", "/etc/resolv.conf")
		r := s.must(t, args...)
		if !strings.Contains(r.stdout, tt.want) || strings.Count(r.stdout, "nameserver") != 1 {
			t.Errorf("%v: resolv.conf %q, want exactly %q", tt.flags, r.stdout, tt.want)
		}
	}
}
