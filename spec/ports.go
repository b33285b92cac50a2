package spec

import (
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/state"
)

// The port flags of run and create, read as docker reads them (its CLI's
// opts and go-connections/nat, whose sentences scripts match): -p/--publish,
// --expose, and -P's ports taken from what the container exposes.

// ParsePublish reads one -p value: [[IP:][HOST_PORT]:]CONTAINER_PORT[/PROTO],
// where IP may be bracketed ([::1]) and either port a range (8000-8010), or
// docker's long form (published=8080,target=80,protocol=udp). Equal ranges
// are one binding; a container range without host ports is one binding per
// port, each with a random host port (HostPort 0).
func ParsePublish(v string) ([]state.PortBinding, error) {
	if strings.Contains(v, "=") {
		var err error
		if v, err = publishLongForm(v); err != nil {
			return nil, err
		}
	}
	ip, hostPort, ctrPort := splitPublish(v)
	proto, ctrPort := splitProtoPort(ctrPort)
	if strings.HasPrefix(ip, "[") {
		inner, ok := strings.CutSuffix(ip[1:], "]")
		if !ok {
			return nil, errors.New("invalid IP address: " + ip)
		}
		ip = inner
	}
	if ip != "" {
		if _, err := netip.ParseAddr(ip); err != nil {
			return nil, errors.New("invalid IP address: " + ip)
		}
	}
	if ctrPort == "" {
		return nil, fmt.Errorf("no port specified: %s<empty>", v)
	}
	cLo, cHi, err := parsePortRange(ctrPort)
	if err != nil || cLo == 0 {
		return nil, errors.New("invalid containerPort: " + ctrPort)
	}
	var hLo, hHi uint16
	if hostPort != "" {
		if hLo, hHi, err = parsePortRange(hostPort); err != nil {
			return nil, errors.New("invalid hostPort: " + hostPort)
		}
		if hHi-hLo != cHi-cLo {
			if cLo != cHi {
				return nil, fmt.Errorf("invalid ranges specified for container and host Ports: %s and %s", ctrPort, hostPort)
			}
			// docker picks one free port of the host range for the one
			// container port; a binding here is a fixed or a random port.
			return nil, fmt.Errorf("a host port range for one container port (%s) is not supported yet: publish one host port, or none for a random one", v)
		}
	}
	if err := checkProto(proto); err != nil {
		return nil, err
	}
	if hostPort == "" || hLo == 0 {
		return randomHostPorts(proto, ip, cLo, cHi), nil
	}
	b := state.PortBinding{Proto: proto, HostIP: ip, HostPort: hLo, ContainerPort: cLo}
	if cHi > cLo {
		b.Count = cHi - cLo + 1
	}
	return []state.PortBinding{b}, nil
}

// randomHostPorts are bindings of container ports lo..hi each to a host
// port chosen at start (docker gives each its own ephemeral port).
func randomHostPorts(proto, ip string, lo, hi uint16) []state.PortBinding {
	out := make([]state.PortBinding, 0, int(hi-lo)+1)
	for p := int(lo); p <= int(hi); p++ {
		out = append(out, state.PortBinding{Proto: proto, HostIP: ip, ContainerPort: uint16(p)})
	}
	return out
}

// publishLongForm turns docker's long -p form into the short one, as
// docker's CLI does (protocol tcp unless given; mode is swarm's).
func publishLongForm(v string) (string, error) {
	params := map[string]string{"protocol": "tcp"}
	for _, kv := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return "", fmt.Errorf("invalid publish opts format (should be name=value but got '%s')", kv)
		}
		params[k] = val
	}
	return params["published"] + ":" + params["target"] + "/" + params["protocol"], nil
}

// splitPublish splits ip:host:container at its last two colons, so an
// unbracketed IPv6 address stays whole, as docker's splitParts.
func splitPublish(v string) (ip, host, ctr string) {
	parts := strings.Split(v, ":")
	n := len(parts)
	switch n {
	case 1:
		return "", "", parts[0]
	case 2:
		return "", parts[0], parts[1]
	}
	return strings.Join(parts[:n-2], ":"), parts[n-2], parts[n-1]
}

// splitProtoPort is docker's nat.SplitProtoPort: "80/udp" -> udp, 80;
// no protocol (or an empty one) is tcp; an empty port has none.
func splitProtoPort(v string) (proto, port string) {
	port, proto, _ = strings.Cut(v, "/")
	if port == "" {
		return "", ""
	}
	if proto == "" {
		proto = "tcp"
	}
	return strings.ToLower(proto), port
}

// checkProto accepts docker's protocols; sctp is docker's too, but skiff
// publishes tcp and udp only.
func checkProto(proto string) error {
	switch proto {
	case "tcp", "udp":
		return nil
	case "sctp":
		return errors.New("sctp ports are not supported yet")
	}
	return fmt.Errorf("invalid proto: %s", proto)
}

// parsePortRange reads "80" or "8000-8010" (docker's nat.ParsePortRange).
func parsePortRange(s string) (lo, hi uint16, err error) {
	if s == "" {
		return 0, 0, errors.New("empty string specified for ports")
	}
	start, end, isRange := strings.Cut(s, "-")
	a, err := strconv.ParseUint(start, 10, 16)
	if err != nil {
		return 0, 0, err
	}
	b := a
	if isRange {
		if b, err = strconv.ParseUint(end, 10, 16); err != nil {
			return 0, 0, err
		}
		if b < a {
			return 0, 0, errors.New("invalid range specified for port: " + s)
		}
	}
	return uint16(a), uint16(b), nil
}

// ParseExpose reads one --expose value: PORT[/PROTO] or START-END[/PROTO],
// as the "80/tcp" keys of Config.ExposedPorts, one a port.
func ParseExpose(v string) ([]string, error) {
	if strings.Contains(v, ":") {
		return nil, fmt.Errorf("invalid port format for --expose: %s", v)
	}
	proto, port := splitProtoPort(v)
	lo, hi, err := parsePortRange(port)
	if err != nil {
		return nil, fmt.Errorf("invalid range format for --expose: %s, error: %w", v, err)
	}
	switch proto {
	case "tcp", "udp", "sctp":
	default:
		return nil, fmt.Errorf("invalid proto: %s", proto)
	}
	out := make([]string, 0, int(hi-lo)+1)
	for p := int(lo); p <= int(hi); p++ {
		out = append(out, strconv.Itoa(p)+"/"+proto)
	}
	return out, nil
}

// PublishedPorts are the "80/tcp" keys of the container ports bindings
// publish: docker exposes every published port too.
func PublishedPorts(bindings []state.PortBinding) []string {
	var out []string
	for _, b := range bindings {
		for i := range max(1, int(b.Count)) {
			out = append(out, PortKey(int(b.ContainerPort)+i, b.Proto))
		}
	}
	return out
}

// PortKey is docker's name of a container port: "80/tcp".
func PortKey(port int, proto string) string { return strconv.Itoa(port) + "/" + proto }

// ExposedPorts is the record's Config.ExposedPorts: the image's EXPOSE
// and o.Expose (--expose and -p's container ports); nil when none.
func ExposedPorts(image map[string]struct{}, o Options) map[string]struct{} {
	if len(image)+len(o.Expose) == 0 {
		return nil
	}
	out := make(map[string]struct{}, len(image)+len(o.Expose))
	for k := range image {
		out[k] = struct{}{}
	}
	for _, k := range o.Expose {
		out[k] = struct{}{}
	}
	return out
}

// PublishAll is -P: every exposed tcp and udp port not already published
// by -p, to a random host port, in port order.
func PublishAll(exposed map[string]struct{}, published []state.PortBinding) []state.PortBinding {
	taken := map[string]bool{}
	for _, k := range PublishedPorts(published) {
		taken[k] = true
	}
	var out []state.PortBinding
	for k := range exposed {
		port, proto, _ := strings.Cut(k, "/")
		n, err := strconv.ParseUint(port, 10, 16)
		if err != nil || n == 0 || taken[k] || (proto != "tcp" && proto != "udp") {
			continue
		}
		out = append(out, state.PortBinding{Proto: proto, ContainerPort: uint16(n)})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ContainerPort != out[j].ContainerPort {
			return out[i].ContainerPort < out[j].ContainerPort
		}
		return out[i].Proto < out[j].Proto
	})
	return out
}
