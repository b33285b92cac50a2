package commands

import (
	"reflect"
	"testing"

	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// TestRunNetworkFlags: the network flags of run and create, read and
// refused as docker's CLI and daemon do, in their words.
func TestRunNetworkFlags(t *testing.T) {
	type pb = state.PortBinding
	tests := []struct {
		name string
		args []string
		want func(o spec.Options) bool
		err  string
	}{
		{"bridge is the default", nil, func(o spec.Options) bool { return o.Network == spec.NetworkBridge }, ""},
		{"default is the bridge", []string{"--network", "default"}, func(o spec.Options) bool { return o.Network == spec.NetworkBridge }, ""},
		{"container mode", []string{"--net", "container:web"}, func(o spec.Options) bool { return o.Network == "container:web" }, ""},
		// A user network is passed on as typed: create finds it, or says
		// docker's "network mynet not found".
		{"user network", []string{"--network", "mynet"}, func(o spec.Options) bool { return o.Network == "mynet" && len(o.ExtraNetworks) == 0 }, ""},
		{"several user networks", []string{"--network", "a", "--net", "b", "--network", "c", "--network-alias", "web", "--net-alias", "www", "--ip", "10.1.0.9"},
			func(o spec.Options) bool {
				return o.Network == "a" && reflect.DeepEqual(o.ExtraNetworks, []string{"b", "c"}) &&
					reflect.DeepEqual(o.NetworkAliases, []string{"web", "www"}) && o.IP == "10.1.0.9"
			}, ""},
		{"links on the bridge", []string{"--link", "db", "--link", "cache:c"}, func(o spec.Options) bool {
			return o.Network == spec.NetworkBridge && reflect.DeepEqual(o.Links, []string{"db", "cache:c"})
		}, ""},
		{"links on a user network", []string{"--network", "mynet", "--link", "db:d"}, func(o spec.Options) bool { return reflect.DeepEqual(o.Links, []string{"db:d"}) }, ""},
		{"a network twice", []string{"--network", "a", "--network", "a"}, nil, `network "a" is specified multiple times`},
		{"default and bridge are one", []string{"--network", "bridge", "--network", "default"}, nil, `network "default" is specified multiple times`},
		{"user and host", []string{"--network", "a", "--network", "host"}, nil, "conflicting options: cannot attach both user-defined and non-user-defined network-modes"},
		{"bridge and user", []string{"--network", "bridge", "--network", "a"}, nil, "conflicting options: cannot attach both user-defined and non-user-defined network-modes"},
		{"none and bridge", []string{"--network", "none", "--network", "bridge"}, nil, "container cannot be connected to multiple networks with one of the networks in private (none) mode"},
		{"host and bridge", []string{"--network", "host", "--network", "bridge"}, nil, "container sharing network namespace with another container or host cannot be connected to any other network"},
		{"alias on the bridge", []string{"--network-alias", "web"}, nil, "network-scoped aliases are only supported for user-defined networks"},
		{"alias on host", []string{"--network", "host", "--net-alias", "web"}, nil, "network-scoped aliases are only supported for user-defined networks"},
		{"ip on host", []string{"--network", "host", "--ip", "10.0.0.2"}, nil, "user specified IP address is supported on user defined networks only"},
		{"ip not an address", []string{"--network", "mynet", "--ip", "10.0.0"}, nil, `invalid argument "10.0.0" for "--ip" flag: failed to parse IP: "10.0.0"`},
		{"ip not IPv4", []string{"--network", "mynet", "--ip", "fd00::2"}, nil, "invalid IPv4 address: fd00::2"},
		{"link with host", []string{"--network", "host", "--link", "db"}, nil, "conflicting options: host type networking can't be used with links. This would result in undefined behavior"},
		{"link with container mode", []string{"--network", "container:web", "--link", "db"}, nil, "conflicting options: container type network can't be used with links. This would result in undefined behavior"},
		{"bad link", []string{"--link", "a:b:c"}, nil, `invalid argument "a:b:c" for "--link" flag: bad format for links: a:b:c`},
		{"container without a name", []string{"--network", "container:"}, nil, "invalid network mode: invalid container format container:<name|id>"},
		{"publish and expose", []string{"-p", "8080:80", "-p", "127.0.0.1::53/udp", "--expose", "9000-9001", "-P"},
			func(o spec.Options) bool {
				return reflect.DeepEqual(o.Publish, []pb{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}, {Proto: "udp", HostIP: "127.0.0.1", ContainerPort: 53}}) &&
					reflect.DeepEqual(o.Expose, []string{"80/tcp", "53/udp", "9000/tcp", "9001/tcp"}) && o.PublishAll
			}, ""},
		{"publish in a cluster", []string{"-dp", "80", "-P"}, func(o spec.Options) bool { return o.Detach && len(o.Publish) == 1 && o.PublishAll }, ""},
		{"bad publish", []string{"-p", "80:http"}, nil, "invalid containerPort: http"},
		{"bad expose", []string{"--expose", "1:2"}, nil, "invalid port format for --expose: 1:2"},
		{"dns flags", []string{"--dns", "10.0.0.1", "--dns", "fd00::1", "--dns-search", "example.com", "--dns-opt", "ndots:2", "--dns-option", "edns0"},
			func(o spec.Options) bool {
				return reflect.DeepEqual(o.DNS, []string{"10.0.0.1", "fd00::1"}) && reflect.DeepEqual(o.DNSSearch, []string{"example.com"}) &&
					reflect.DeepEqual(o.DNSOptions, []string{"ndots:2", "edns0"})
			}, ""},
		{"dns search dot", []string{"--dns-search", "."}, func(o spec.Options) bool { return reflect.DeepEqual(o.DNSSearch, []string{"."}) }, ""},
		{"bad dns", []string{"--dns", "one.one"}, nil, `invalid argument "one.one" for "--dns" flag: IP address is not correctly formatted: one.one`},
		{"bad dns search", []string{"--dns-search", "-bad-"}, nil, `invalid argument "-bad-" for "--dns-search" flag: -bad- is not a valid domain`},
		{"numeric dns search", []string{"--dns-search", "123"}, nil, `invalid argument "123" for "--dns-search" flag: 123 is not a valid domain`},
		{"add-host forms", []string{"--add-host", "db:10.0.0.5", "--add-host", "v6:fd00::5", "--add-host", "b=[::1]", "--add-host", "gw:host-gateway"},
			func(o spec.Options) bool {
				return reflect.DeepEqual(o.ExtraHosts, []string{"db:10.0.0.5", "v6:fd00::5", "b:::1", "gw:host-gateway"})
			}, ""},
		{"add-host without an address", []string{"--add-host", "db"}, nil, `invalid argument "db" for "--add-host" flag: bad format for add-host: "db"`},
		{"add-host with a bad address", []string{"--add-host", "db:x.y"}, nil, `invalid argument "db:x.y" for "--add-host" flag: invalid IP address in add-host: "x.y"`},
		{"mac address", []string{"--mac-address", "92:d0:c6:0a:29:33", "--domainname", "example.com"},
			func(o spec.Options) bool { return o.MacAddress == "92:d0:c6:0a:29:33" && o.Domainname == "example.com" }, ""},
		{"bad mac address", []string{"--mac-address", "92:d0"}, nil, "92:d0 is not a valid mac address"},
		{"ip on the default bridge", []string{"--ip", "172.17.0.9"}, nil, "user specified IP address is supported on user defined networks only"},
		{"ip6 on none", []string{"--network", "none", "--ip6", "fd00::9"}, nil, "user specified IP address is supported on user defined networks only"},
		{"container mode and hostname", []string{"--network", "container:web", "-h", "x"}, nil, "conflicting options: hostname and the network mode"},
		{"container mode and dns", []string{"--network", "container:web", "--dns", "10.0.0.1"}, nil, "conflicting options: dns and the network mode"},
		{"container mode and add-host", []string{"--network", "container:web", "--add-host", "a:10.0.0.1"}, nil, "conflicting options: custom host-to-IP mapping and the network mode"},
		{"container mode and publish", []string{"--network", "container:web", "-p", "80"}, nil, "conflicting options: port publishing and the container type network mode"},
		{"container mode and publish all", []string{"--network", "container:web", "-P"}, nil, "conflicting options: port publishing and the container type network mode"},
		{"container mode and expose", []string{"--network", "container:web", "--expose", "80"}, nil, "conflicting options: port exposing and the container type network mode"},
		{"container mode and mac", []string{"--network", "container:web", "--mac-address", "92:d0:c6:0a:29:33"}, nil, "conflicting options: mac-address and the network mode"},
		{"host mode and mac", []string{"--network", "host", "--mac-address", "92:d0:c6:0a:29:33"}, nil, "conflicting options: mac-address and the network mode"},
		{"host mode keeps hostname and dns", []string{"--network", "host", "-h", "x", "--dns", "10.0.0.1", "--add-host", "a:10.0.0.2"},
			func(o spec.Options) bool { return o.Network == spec.NetworkHost && o.Hostname == "x" }, ""},
		{"host mode with ports: a warning", []string{"--network", "host", "-p", "80:80"},
			func(o spec.Options) bool { return o.Network == spec.NetworkHost && len(o.Publish) == 1 }, ""},
		{"none with ports", []string{"--network", "none", "-p", "80:80"}, func(o spec.Options) bool { return o.Network == spec.NetworkNone }, ""},
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
			if !tt.want(o) {
				t.Fatalf("options %+v", o)
			}
		})
	}
}
