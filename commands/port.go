package commands

import (
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/state"
)

func init() { register(portCommand) }

// portCommand is docker's port: the published ports of a running
// container, "80/tcp -> 0.0.0.0:8080" a line, or the host addresses of
// one container port.
func portCommand() *cli.Command {
	return &cli.Command{
		Name:      "port",
		Usage:     "list port mappings or a specific mapping for the container",
		ArgsUsage: "CONTAINER [PRIVATE_PORT[/PROTO]]",
		Action: func(c *cli.Context) error {
			args := c.Args().Slice()
			if len(args) < 1 || len(args) > 2 {
				return &ExitError{Code: 1, Err: errors.New(`"port" requires at least 1 and at most 2 arguments: skiff port CONTAINER [PRIVATE_PORT[/PROTO]]`)}
			}
			var port, proto string
			if len(args) == 2 {
				var err error
				if port, proto, err = parsePrivatePort(args[1]); err != nil {
					return &ExitError{Code: 1, Err: err}
				}
			}
			g, err := globals(c)
			if err != nil {
				return err
			}
			ct, err := g.Containers().Lookup(args[0])
			if err != nil {
				return daemonError(err)
			}
			lines := portLines(containerPorts(ct), port, proto)
			if port != "" && len(lines) == 0 {
				printError(fmt.Errorf("No public port '%s/%s' published for %s", port, proto, args[0]))
				return &ExitError{Code: 1}
			}
			for _, l := range lines {
				fmt.Println(l)
			}
			return nil
		},
	}
}

// parsePrivatePort reads PORT[/PROTO] as docker's CLI does (tcp by default).
// A bad one is a usage error, printed with the "skiff:" prefix.
func parsePrivatePort(s string) (port, proto string, err error) {
	port, proto, _ = strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		return "", "", fmt.Errorf("invalid port (%s)", port)
	}
	switch strings.ToLower(proto) {
	case "tcp", "udp", "sctp":
		return port, strings.ToLower(proto), nil
	}
	return "", "", fmt.Errorf("invalid protocol (%s)", proto)
}

// portLines are port's output, in docker's order: every published port
// as "80/tcp -> 0.0.0.0:8080", or with port given only its host
// addresses ("0.0.0.0:8080").
func portLines(ports []containerPort, port, proto string) []string {
	var out []string
	for _, p := range ports {
		if p.Public == 0 {
			continue
		}
		host := net.JoinHostPort(p.IP, strconv.Itoa(int(p.Public)))
		switch {
		case port == "":
			out = append(out, p.key()+" -> "+host)
		case strconv.Itoa(int(p.Private)) == port && p.Proto == proto:
			out = append(out, host)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return naturalLess(out[i], out[j]) })
	return out
}

// naturalLess orders strings as docker's sortorder.NaturalLess: runs of
// digits by their value, so 8080/tcp comes before 10000/tcp.
func naturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// containerPort is one port of a running container as docker's API lists
// it: a container port published on host address IP:Public, or only
// exposed (Public 0, IP "").
type containerPort struct {
	IP      string
	Private uint16
	Public  uint16
	Proto   string
}

// key is docker's name of the container port: "80/tcp".
func (p containerPort) key() string { return strconv.Itoa(int(p.Private)) + "/" + p.Proto }

// containerPorts are the ports of a running container with a network of
// its own (ps's PORTS, port, inspect's NetworkSettings.Ports): what its
// monitor published at the last start, ranges one entry a port, then its
// exposed ports that are not published. A stopped container has none, as
// docker's.
func containerPorts(ct *state.Container) []containerPort {
	if ct.Network == nil || !ct.Status.Up() {
		return nil
	}
	var out []containerPort
	published := map[string]bool{}
	for _, b := range ct.Network.Ports {
		ip := b.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		for i := range max(1, int(b.Count)) {
			p := containerPort{IP: ip, Private: b.ContainerPort + uint16(i), Public: b.HostPort + uint16(i), Proto: b.Proto}
			published[p.key()] = true
			out = append(out, p)
		}
	}
	for k := range ct.Config.ExposedPorts {
		port, proto, _ := strings.Cut(k, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || published[k] {
			continue
		}
		out = append(out, containerPort{Private: uint16(n), Proto: proto})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

// less is docker's order of a container's ports: container port, host
// address, host port, protocol.
func (p containerPort) less(q containerPort) bool {
	switch {
	case p.Private != q.Private:
		return p.Private < q.Private
	case p.IP != q.IP:
		return p.IP < q.IP
	case p.Public != q.Public:
		return p.Public < q.Public
	}
	return p.Proto < q.Proto
}

// displayPorts is docker's PORTS column (its CLI's DisplayablePorts):
// ports published on the same number and address, and exposed ports,
// grouped into ranges ("0.0.0.0:8000-8010->8000-8010/tcp", "80/tcp"),
// then the other mappings one by one ("0.0.0.0:8080->80/tcp").
func displayPorts(ports []containerPort) string {
	type group struct{ first, last uint16 }
	groups := map[string]*group{}
	var keys, result, mappings []string
	for _, p := range ports {
		key := p.Proto
		if p.IP != "" {
			if p.Public != p.Private {
				mappings = append(mappings, fmt.Sprintf("%s->%d/%s", net.JoinHostPort(p.IP, strconv.Itoa(int(p.Public))), p.Private, p.Proto))
				continue
			}
			key = p.IP + "/" + p.Proto
		}
		g := groups[key]
		switch {
		case g == nil:
			groups[key] = &group{p.Private, p.Private}
			keys = append(keys, key)
		case p.Private == g.last+1:
			g.last = p.Private
		default:
			result = append(result, formPortGroup(key, g.first, g.last))
			groups[key] = &group{p.Private, p.Private}
		}
	}
	for _, k := range keys {
		result = append(result, formPortGroup(k, groups[k].first, groups[k].last))
	}
	return strings.Join(append(result, mappings...), ", ")
}

// formPortGroup renders one group of displayPorts: key is "proto" or
// "ip/proto".
func formPortGroup(key string, first, last uint16) string {
	ip, proto, hasIP := strings.Cut(key, "/")
	if !hasIP {
		ip, proto = "", key
	}
	r := strconv.Itoa(int(first))
	if first != last {
		r += "-" + strconv.Itoa(int(last))
	}
	if ip != "" {
		r = net.JoinHostPort(ip, r) + "->" + r
	}
	return r + "/" + proto
}
