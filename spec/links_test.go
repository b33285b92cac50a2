package spec

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseLink(t *testing.T) {
	tests := []struct {
		in, name, alias, err string
	}{
		{in: "db:dbalias", name: "db", alias: "dbalias"},
		{in: "db", name: "db", alias: "db"},
		{in: "/db:/web/dbalias", name: "db", alias: "dbalias"}, // HostConfig.Links' form
		{in: "", err: "empty string specified for links"},
		{in: "link:alias:wrong", err: "bad format for links: link:alias:wrong"},
	}
	for _, tt := range tests {
		name, alias, err := ParseLink(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("ParseLink(%q) error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || name != tt.name || alias != tt.alias {
			t.Errorf("ParseLink(%q) = %q, %q, %v; want %q, %q", tt.in, name, alias, err, tt.name, tt.alias)
		}
	}
}

func TestLinkName(t *testing.T) {
	if got := LinkName("web", "dbalias"); got != "/web/dbalias" {
		t.Errorf("LinkName = %q, want /web/dbalias", got)
	}
}

// docker's hosts entry: alias, hostname, and the name unless it is the
// alias; written between --add-host's entries and the container's own.
func TestLinkHost(t *testing.T) {
	target := LinkTarget{Name: "db", Hostname: "4f2a9c1b7d3e", IP: "172.17.0.2"}
	tests := []struct {
		alias, want string
	}{
		{"dbalias", "dbalias 4f2a9c1b7d3e db:172.17.0.2"},
		{"db", "db 4f2a9c1b7d3e:172.17.0.2"},
	}
	for _, tt := range tests {
		if got := LinkHost(tt.alias, target); got != tt.want {
			t.Errorf("LinkHost(%q) = %q, want %q", tt.alias, got, tt.want)
		}
	}
	const fixed = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	got := Hosts(HostsInput{Hostname: "web1", IP: "172.17.0.3",
		ExtraHosts: []string{"extra:10.0.0.5", LinkHost("dbalias", target)}})
	want := fixed + "10.0.0.5\textra\n172.17.0.2\tdbalias 4f2a9c1b7d3e db\n172.17.0.3\tweb1\n"
	if got != want {
		t.Errorf("hosts with a link:\n%s\nwant:\n%s", got, want)
	}
}

// The cases are moby's daemon/links tests (links_test.go), whole lists
// instead of a few keys, so the order and every variable are checked.
func TestLinkEnv(t *testing.T) {
	ports := func(keys ...string) map[string]struct{} {
		m := map[string]struct{}{}
		for _, k := range keys {
			m[k] = struct{}{}
		}
		return m
	}
	tests := []struct {
		name   string
		link   string
		target LinkTarget
		want   []string
	}{
		{"naming: '-' becomes '_'", "/db/docker-1", LinkTarget{IP: "172.0.17.2", ExposedPorts: ports("6379/tcp")}, []string{
			"DOCKER_1_PORT=tcp://172.0.17.2:6379",
			"DOCKER_1_PORT_6379_TCP=tcp://172.0.17.2:6379",
			"DOCKER_1_PORT_6379_TCP_ADDR=172.0.17.2",
			"DOCKER_1_PORT_6379_TCP_PORT=6379",
			"DOCKER_1_PORT_6379_TCP_PROTO=tcp",
			"DOCKER_1_NAME=/db/docker-1",
		}},
		{"one port and the target's env", "/db/docker", LinkTarget{IP: "172.0.17.2", ExposedPorts: ports("6379/tcp"),
			Env: []string{"PATH=/usr/bin", "HOSTNAME=abc", "HOME=/root", "PASSWORD=gordon", "EQ=a=b", "BARE"}}, []string{
			"DOCKER_PORT=tcp://172.0.17.2:6379",
			"DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
			"DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
			"DOCKER_PORT_6379_TCP_PORT=6379",
			"DOCKER_PORT_6379_TCP_PROTO=tcp",
			"DOCKER_NAME=/db/docker",
			"DOCKER_ENV_PASSWORD=gordon",
			"DOCKER_ENV_EQ=a=b",
		}},
		{"a range of ports", "/db/docker", LinkTarget{IP: "172.0.17.2", ExposedPorts: ports("6381/tcp", "6379/tcp", "6380/tcp")}, []string{
			"DOCKER_PORT=tcp://172.0.17.2:6379",
			"DOCKER_PORT_6379_TCP=tcp://172.0.17.2:6379",
			"DOCKER_PORT_6379_TCP_ADDR=172.0.17.2",
			"DOCKER_PORT_6379_TCP_PORT=6379",
			"DOCKER_PORT_6379_TCP_PROTO=tcp",
			"DOCKER_PORT_6380_TCP=tcp://172.0.17.2:6380",
			"DOCKER_PORT_6380_TCP_ADDR=172.0.17.2",
			"DOCKER_PORT_6380_TCP_PORT=6380",
			"DOCKER_PORT_6380_TCP_PROTO=tcp",
			"DOCKER_PORT_6381_TCP=tcp://172.0.17.2:6381",
			"DOCKER_PORT_6381_TCP_ADDR=172.0.17.2",
			"DOCKER_PORT_6381_TCP_PORT=6381",
			"DOCKER_PORT_6381_TCP_PROTO=tcp",
			"DOCKER_PORT_6379_TCP_START=tcp://172.0.17.2:6379",
			"DOCKER_PORT_6379_TCP_PORT_START=6379",
			"DOCKER_PORT_6379_TCP_END=tcp://172.0.17.2:6381",
			"DOCKER_PORT_6379_TCP_PORT_END=6381",
			"DOCKER_NAME=/db/docker",
		}},
		// TCP first; a run ends at a gap or another protocol and is named
		// after the next port's variables; a port without a protocol is TCP.
		{"runs, protocols and order", "/web/my-db", LinkTarget{IP: "10.0.0.9", ExposedPorts: ports("53/udp", "54/udp", "8080", "81/tcp", "80/tcp")}, []string{
			"MY_DB_PORT=tcp://10.0.0.9:80",
			"MY_DB_PORT_80_TCP=tcp://10.0.0.9:80",
			"MY_DB_PORT_80_TCP_ADDR=10.0.0.9",
			"MY_DB_PORT_80_TCP_PORT=80",
			"MY_DB_PORT_80_TCP_PROTO=tcp",
			"MY_DB_PORT_81_TCP=tcp://10.0.0.9:81",
			"MY_DB_PORT_81_TCP_ADDR=10.0.0.9",
			"MY_DB_PORT_81_TCP_PORT=81",
			"MY_DB_PORT_81_TCP_PROTO=tcp",
			"MY_DB_PORT_8080_TCP=tcp://10.0.0.9:8080",
			"MY_DB_PORT_8080_TCP_ADDR=10.0.0.9",
			"MY_DB_PORT_8080_TCP_PORT=8080",
			"MY_DB_PORT_8080_TCP_PROTO=tcp",
			"MY_DB_PORT_80_TCP_START=tcp://10.0.0.9:80",
			"MY_DB_PORT_80_TCP_PORT_START=80",
			"MY_DB_PORT_80_TCP_END=tcp://10.0.0.9:81",
			"MY_DB_PORT_80_TCP_PORT_END=81",
			"MY_DB_PORT_53_UDP=udp://10.0.0.9:53",
			"MY_DB_PORT_53_UDP_ADDR=10.0.0.9",
			"MY_DB_PORT_53_UDP_PORT=53",
			"MY_DB_PORT_53_UDP_PROTO=udp",
			"MY_DB_PORT_54_UDP=udp://10.0.0.9:54",
			"MY_DB_PORT_54_UDP_ADDR=10.0.0.9",
			"MY_DB_PORT_54_UDP_PORT=54",
			"MY_DB_PORT_54_UDP_PROTO=udp",
			"MY_DB_PORT_53_UDP_START=udp://10.0.0.9:53",
			"MY_DB_PORT_53_UDP_PORT_START=53",
			"MY_DB_PORT_53_UDP_END=udp://10.0.0.9:54",
			"MY_DB_PORT_53_UDP_PORT_END=54",
			"MY_DB_NAME=/web/my-db",
		}},
		{"no ports", "/web/db", LinkTarget{IP: "10.0.0.9", ExposedPorts: ports("bad/tcp")}, []string{"DB_NAME=/web/db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, LinkEnv(tt.link, tt.target)); diff != "" {
				t.Errorf("LinkEnv (-want +got):\n%s", diff)
			}
		})
	}
}

// Link variables go after the runtime's PATH, HOSTNAME and TERM and give
// way to the container's own variables of the same name.
func TestWithLinkEnv(t *testing.T) {
	links := []string{"DB_PORT=tcp://10.0.0.9:80", "DB_NAME=/web/db"}
	tests := []struct {
		name string
		env  []string
		tty  bool
		want []string
	}{
		{"after PATH and HOSTNAME", []string{"PATH=/bin", "HOSTNAME=h", "A=1"}, false,
			[]string{"PATH=/bin", "HOSTNAME=h", "DB_PORT=tcp://10.0.0.9:80", "DB_NAME=/web/db", "A=1"}},
		{"after TERM with -t", []string{"PATH=/bin", "HOSTNAME=h", "TERM=xterm", "A=1"}, true,
			[]string{"PATH=/bin", "HOSTNAME=h", "TERM=xterm", "DB_PORT=tcp://10.0.0.9:80", "DB_NAME=/web/db", "A=1"}},
		{"TERM is the image's without -t", []string{"PATH=/bin", "HOSTNAME=h", "TERM=dumb"}, false,
			[]string{"PATH=/bin", "HOSTNAME=h", "DB_PORT=tcp://10.0.0.9:80", "DB_NAME=/web/db", "TERM=dumb"}},
		{"the container's own value wins", []string{"PATH=/bin", "HOSTNAME=h", "DB_NAME=mine"}, false,
			[]string{"PATH=/bin", "HOSTNAME=h", "DB_PORT=tcp://10.0.0.9:80", "DB_NAME=mine"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, WithLinkEnv(tt.env, tt.tty, links)); diff != "" {
				t.Errorf("WithLinkEnv (-want +got):\n%s", diff)
			}
		})
	}
	if got := WithLinkEnv([]string{"A=1"}, false, nil); len(got) != 1 {
		t.Errorf("no links changed the env: %v", got)
	}
}

func TestUpdateHostsEntry(t *testing.T) {
	const hosts = "127.0.0.1\tlocalhost\n172.17.0.2\tdbalias abc db\n172.17.0.2\tdbalias2 abc db\n10.0.0.5\textra dbalias\n172.17.0.4\tweb\n"
	tests := []struct {
		alias, ip, want string
	}{
		{"dbalias", "172.17.0.3", "127.0.0.1\tlocalhost\n172.17.0.3\tdbalias abc db\n172.17.0.2\tdbalias2 abc db\n10.0.0.5\textra dbalias\n172.17.0.4\tweb\n"},
		{"dbalias", "172.17.0.2", hosts}, // the same address: nothing to change
		{"nope", "172.17.0.3", hosts},
	}
	for _, tt := range tests {
		if got := UpdateHostsEntry(hosts, tt.alias, tt.ip); got != tt.want {
			t.Errorf("UpdateHostsEntry(%s, %s):\n%s\nwant:\n%s", tt.alias, tt.ip, got, tt.want)
		}
	}
	if got := UpdateHostsEntry("172.17.0.2\tdb", "db", "172.17.0.9"); got != "172.17.0.9\tdb" {
		t.Errorf("last line without a newline: %q", got)
	}
}
