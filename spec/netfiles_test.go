package spec

import (
	"net/netip"
	"slices"
	"testing"
)

func TestResolvConfSource(t *testing.T) {
	tests := []struct {
		etc  string
		host bool
		want string
	}{
		{"nameserver 127.0.0.53\noptions edns0 trust-ad\nsearch .\n", false, ResolvConfResolvedPath},
		{"nameserver 127.0.0.53\n", true, ResolvConfPath},
		{"nameserver 127.0.0.53\nnameserver 10.0.0.1\n", false, ResolvConfPath},
		{"nameserver 10.0.0.1\n", false, ResolvConfPath},
		{"", false, ResolvConfPath},
	}
	for _, tt := range tests {
		if got := ResolvConfSource([]byte(tt.etc), tt.host); got != tt.want {
			t.Errorf("ResolvConfSource(%q, host %v) = %s; want %s", tt.etc, tt.host, got, tt.want)
		}
	}
}

func TestResolvConf(t *testing.T) {
	const hostFile = "# made by hand\nnameserver 10.0.0.1\nnameserver 127.0.0.1\nnameserver fd00::1\nsearch a.example b.example\ndomain example\noptions ndots:2\nsortlist 10.0.0.0/255.0.0.0\n"
	tests := []struct {
		name    string
		host    string
		o       Options
		hostNet bool
		want    string
	}{
		{"bridge drops loopback and IPv6 servers", hostFile, Options{}, false,
			"nameserver 10.0.0.1\nsearch a.example b.example\noptions ndots:2\ndomain example\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"only loopback servers: docker's fallbacks", "nameserver 127.0.0.53\nnameserver ::1\noptions edns0\n", Options{}, false,
			"nameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"},
		{"no host file", "", Options{}, false, "nameserver 8.8.8.8\nnameserver 8.8.4.4\n"},
		{"host mode keeps the host's file", hostFile, Options{}, true, hostFile},
		{"--dns replaces servers, loopback kept", hostFile, Options{DNS: []string{"127.0.0.11", "10.9.9.9"}}, false,
			"nameserver 127.0.0.11\nnameserver 10.9.9.9\nsearch a.example b.example\noptions ndots:2\ndomain example\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"--dns-search replaces search and domain", hostFile, Options{DNSSearch: []string{"c.example"}}, false,
			"nameserver 10.0.0.1\nsearch c.example\noptions ndots:2\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"--dns-search . clears it", hostFile, Options{DNSSearch: []string{"."}}, false,
			"nameserver 10.0.0.1\noptions ndots:2\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"--dns-option replaces options", hostFile, Options{DNSOptions: []string{"ndots:5", "timeout:1"}}, false,
			"nameserver 10.0.0.1\nsearch a.example b.example\noptions ndots:5 timeout:1\ndomain example\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"host mode with --dns keeps loopback", hostFile, Options{DNS: []string{"10.1.1.1"}}, true,
			"nameserver 10.1.1.1\nsearch a.example b.example\noptions ndots:2\ndomain example\nsortlist 10.0.0.0/255.0.0.0\n"},
		{"last search line wins", "nameserver 10.0.0.1\nsearch x\nsearch y z\n", Options{}, false,
			"nameserver 10.0.0.1\nsearch y z\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ResolvConf([]byte(tt.host), tt.o, tt.hostNet); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestHosts(t *testing.T) {
	const fixed = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	tests := []struct {
		name string
		in   HostsInput
		want string
	}{
		{"bridge", HostsInput{Hostname: "abc123", IP: "172.17.0.2"}, fixed + "172.17.0.2\tabc123\n"},
		{"domainname", HostsInput{Hostname: "web", Domainname: "example.com", IP: "172.17.0.2"}, fixed + "172.17.0.2\tweb.example.com web\n"},
		{"dotted hostname", HostsInput{Hostname: "web.example.com", IP: "172.17.0.2"}, fixed + "172.17.0.2\tweb.example.com web\n"},
		{"none: no line for the container", HostsInput{Hostname: "abc123"}, fixed},
		{"extra hosts before the container", HostsInput{Hostname: "h", IP: "172.17.0.3", Gateway: "172.17.0.1",
			ExtraHosts: []string{"db:10.0.0.5", "v6:fd00::5", "host.docker.internal:host-gateway"}},
			fixed + "10.0.0.5\tdb\nfd00::5\tv6\n172.17.0.1\thost.docker.internal\n172.17.0.3\th\n"},
		{"host-gateway without a gateway", HostsInput{Hostname: "h", ExtraHosts: []string{"gw:host-gateway"}}, fixed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Hosts(tt.in); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
	if got := HostsFile("box"); got != fixed+"127.0.0.1\tbox\n" {
		t.Errorf("HostsFile(box) =\n%s", got)
	}
}

func TestUsesInternalResolver(t *testing.T) {
	for mode, want := range map[string]bool{
		"": false, "default": false, "bridge": false, "host": false, "none": false,
		"container:abc": false, "mynet": true, "Front-1": true, "host2": true,
	} {
		if got := UsesInternalResolver(mode); got != want {
			t.Errorf("UsesInternalResolver(%q) = %v, want %v", mode, got, want)
		}
	}
}

// A user network's resolv.conf, as docker 25+ writes it (moby's
// resolvconf Generate after TransformForIntNS, IPv6 off).
func TestInternalResolvConf(t *testing.T) {
	const hostFile = "# made by hand\nnameserver 10.0.0.1\nnameserver 127.0.0.53\nnameserver fd00::1\nnameserver bogus\nsearch a.example b.example\noptions edns0 trust-ad\nsortlist 10.0.0.0/255.0.0.0\n"
	tests := []struct {
		name   string
		host   string
		source string
		o      Options
		want   string
	}{
		{"the host's servers, loopback and IPv6 asked from the host", hostFile, ResolvConfPath, Options{},
			"nameserver 127.0.0.11\nsearch a.example b.example\noptions edns0 trust-ad ndots:0\nsortlist 10.0.0.0/255.0.0.0\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [10.0.0.1 host(127.0.0.53) host(fd00::1)]\n" +
				"# Invalid nameservers: [bogus]\n" +
				"# Overrides: []\n" +
				"# Option ndots from: internal\n"},
		{"systemd-resolved's list", "nameserver 192.168.1.1\nsearch lan\n", ResolvConfResolvedPath, Options{},
			"nameserver 127.0.0.11\nsearch lan\noptions ndots:0\n\n" +
				"# Based on host file: '/run/systemd/resolve/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [192.168.1.1]\n# Overrides: []\n# Option ndots from: internal\n"},
		{"no servers: docker's defaults", "", ResolvConfPath, Options{},
			"nameserver 127.0.0.11\noptions ndots:0\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# Used default nameservers.\n" +
				"# ExtServers: [8.8.8.8 8.8.4.4]\n# Overrides: []\n# Option ndots from: internal\n"},
		{"--dns, even loopback, asked from the container", hostFile, ResolvConfPath,
			Options{DNS: []string{"127.0.0.1", "10.9.9.9"}, DNSSearch: []string{"c.example"}},
			"nameserver 127.0.0.11\nsearch c.example\noptions edns0 trust-ad ndots:0\nsortlist 10.0.0.0/255.0.0.0\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [127.0.0.1 10.9.9.9]\n# Overrides: [nameservers search]\n# Option ndots from: internal\n"},
		{"--dns-option's ndots kept", "nameserver 10.0.0.1\n", ResolvConfPath, Options{DNSOptions: []string{"ndots:3", "timeout:1"}},
			"nameserver 127.0.0.11\noptions ndots:3 timeout:1\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [10.0.0.1]\n# Overrides: [options]\n# Option ndots from: override\n"},
		{"the host's ndots kept", "nameserver 10.0.0.1\noptions ndots:2\n", ResolvConfPath, Options{},
			"nameserver 127.0.0.11\noptions ndots:2\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [10.0.0.1]\n# Overrides: []\n# Option ndots from: host\n"},
		{"an invalid ndots replaced", "nameserver 10.0.0.1\noptions ndots:x rotate\n", ResolvConfPath, Options{},
			"nameserver 127.0.0.11\noptions rotate ndots:0\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [10.0.0.1]\n# Overrides: []\n# Option ndots from: internal\n"},
		{"--dns-search . clears the list", "nameserver 10.0.0.1\nsearch x\n", ResolvConfPath, Options{DNSSearch: []string{"."}},
			"nameserver 127.0.0.11\noptions ndots:0\n\n" +
				"# Based on host file: '/etc/resolv.conf' (internal resolver)\n" +
				"# ExtServers: [10.0.0.1]\n# Overrides: [search]\n# Option ndots from: internal\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := InternalResolvConf([]byte(tt.host), tt.source, tt.o); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestParseExtServers(t *testing.T) {
	file := InternalResolvConf([]byte("nameserver 10.0.0.1\nnameserver 127.0.0.53\nnameserver fd00::1\n"), ResolvConfPath, Options{})
	got, ok := ParseExtServers([]byte(file))
	want := []ExtServer{{netip.MustParseAddr("10.0.0.1"), false}, {netip.MustParseAddr("127.0.0.53"), true}, {netip.MustParseAddr("fd00::1"), true}}
	if !ok || !slices.Equal(got, want) {
		t.Errorf("ParseExtServers(InternalResolvConf(...)) = %v %v, want %v", got, ok, want)
	}
	for _, tc := range []struct {
		file string
		want []ExtServer
		ok   bool
	}{
		{"nameserver 10.0.0.1\n", nil, false},
		{"# ExtServers: []\n", nil, true},
		{"# ExtServers: [bogus host(x) host(127.0.0.1 1.2.3.4]\n", []ExtServer{{netip.MustParseAddr("1.2.3.4"), false}}, true},
	} {
		if got, ok := ParseExtServers([]byte(tc.file)); ok != tc.ok || !slices.Equal(got, tc.want) {
			t.Errorf("ParseExtServers(%q) = %v %v, want %v %v", tc.file, got, ok, tc.want, tc.ok)
		}
	}
}
