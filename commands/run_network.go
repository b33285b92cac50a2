package commands

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/urfave/cli/v2"

	"github.com/skiff-dev/skiff/spec"
)

// The network flags of run and create, checked as docker checks them:
// the CLI's flag validators first (--dns, --dns-search, --add-host), then
// its parse (--mac-address, -p, --expose), then the daemon's network mode
// rules, with docker's sentences.

func networkFlags() []cli.Flag {
	var fs []cli.Flag
	fs = append(fs, listFlag("publish", []string{"p"}, "publish a container's port(s) to the host ([IP:][HOST_PORT:]CONTAINER_PORT[/PROTO], ranges allowed)")...)
	fs = append(fs, listFlag("expose", nil, "expose a port or a range of ports")...)
	fs = append(fs, listFlag("dns", nil, "set custom DNS servers")...)
	fs = append(fs, listFlag("dns-search", nil, "set custom DNS search domains")...)
	fs = append(fs, listFlag("dns-option", []string{"dns-opt"}, "set DNS options")...)
	fs = append(fs, listFlag("add-host", nil, "add a custom host-to-IP mapping (host:ip, ip may be host-gateway)")...)
	fs = append(fs, listFlag("network", []string{"net"}, "connect a container to a network: bridge (default), host, none, container:NAME|ID or a user network (repeatable)")...)
	fs = append(fs, listFlag("network-alias", []string{"net-alias"}, "add network-scoped alias for the container")...)
	fs = append(fs, listFlag("link", nil, "add link to another container (NAME[:ALIAS])")...)
	return append(fs,
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish all exposed ports to random ports"},
		&cli.StringFlag{Name: "mac-address", Usage: "container MAC address (e.g., 92:d0:c6:0a:29:33)"},
		&cli.StringFlag{Name: "ip", Usage: "IPv4 address (e.g., 172.30.100.104; user networks only)"},
		&cli.StringFlag{Name: "ip6", Usage: "IPv6 address (user defined networks only)"},
		&cli.StringFlag{Name: "domainname", Usage: "container NIS domain name"},
	)
}

// networkOptions reads the network flags into o.
func networkOptions(c *cli.Context, o *spec.Options) error {
	var err error
	if o.DNS, err = checkDNS(listOf(c, "dns")); err != nil {
		return err
	}
	if o.DNSSearch, err = checkDNSSearch(listOf(c, "dns-search")); err != nil {
		return err
	}
	if o.ExtraHosts, err = checkExtraHosts(listOf(c, "add-host")); err != nil {
		return err
	}
	o.DNSOptions = listOf(c, "dns-option")
	o.Domainname = c.String("domainname")
	if o.MacAddress = c.String("mac-address"); o.MacAddress != "" {
		if _, err := net.ParseMAC(strings.TrimSpace(o.MacAddress)); err != nil {
			return fmt.Errorf("%s is not a valid mac address", o.MacAddress)
		}
	}
	if err := portOptions(c, o); err != nil {
		return err
	}
	if err := userNetworkOptions(c, o); err != nil {
		return err
	}
	if rootless() {
		if err := rootlessNetwork(o, listOf(c, "network")); err != nil {
			return err
		}
	}
	if err := checkNetworkConflicts(o); err != nil {
		return err
	}
	if o.Network == spec.NetworkHost && (len(o.Publish) > 0 || o.PublishAll) {
		fmt.Fprintln(os.Stderr, "WARNING: Published ports are discarded when using host network mode")
	}
	return nil
}

// portOptions reads -p, --expose and -P. Published container ports are
// exposed too, as docker's CLI does.
func portOptions(c *cli.Context, o *spec.Options) error {
	for _, v := range listOf(c, "publish") {
		b, err := spec.ParsePublish(v)
		if err != nil {
			return err
		}
		o.Publish = append(o.Publish, b...)
		o.Expose = append(o.Expose, spec.PublishedPorts(b)...)
	}
	for _, v := range listOf(c, "expose") {
		ports, err := spec.ParseExpose(v)
		if err != nil {
			return err
		}
		o.Expose = append(o.Expose, ports...)
	}
	o.PublishAll = c.Bool("publish-all")
	return nil
}

// userNetworkOptions reads --network (repeated: docker 25's several
// networks), --network-alias, --ip, --ip6 and --link, refused as docker's
// CLI and daemon refuse them. Whether a user network exists is create's to
// say (docker's "network X not found").
func userNetworkOptions(c *cli.Context, o *spec.Options) error {
	nets, err := networkModes(listOf(c, "network"))
	if err != nil {
		return err
	}
	o.Network, o.ExtraNetworks = nets[0], nets[1:]
	o.NetworkAliases, o.Links = listOf(c, "network-alias"), listOf(c, "link")
	for _, l := range o.Links {
		if _, _, err := spec.ParseLink(l); err != nil {
			return fmt.Errorf(`invalid argument %q for "--link" flag: %w`, l, err)
		}
	}
	if o.IP, err = checkIPv4(c.String("ip")); err != nil {
		return err
	}
	user := spec.IsUserNetwork(o.Network)
	switch {
	case !user && (o.IP != "" || c.String("ip6") != ""):
		return errors.New("user specified IP address is supported on user defined networks only")
	case !user && len(o.NetworkAliases) > 0:
		// docker's CLI refuses it before its daemon would.
		return errors.New("network-scoped aliases are only supported for user-defined networks")
	case user && c.String("ip6") != "":
		return errors.New("user specified IPv6 address is not supported: skiff's networks are IPv4 only")
	case len(o.Links) > 0 && o.Network == spec.NetworkHost:
		return errors.New("conflicting options: host type networking can't be used with links. This would result in undefined behavior")
	case len(o.Links) > 0 && strings.HasPrefix(o.Network, spec.NetworkContainerPrefix):
		return errors.New("conflicting options: container type network can't be used with links. This would result in undefined behavior")
	}
	return nil
}

// networkModes are the --network values, each as networkMode reads it, the
// default bridge when none is given; docker's refusals of a network named
// twice and of a mode that cannot be combined with another network.
func networkModes(vals []string) ([]string, error) {
	if len(vals) == 0 {
		return []string{spec.NetworkBridge}, nil
	}
	out := make([]string, 0, len(vals))
	var user, builtin []string
	for _, v := range vals {
		m, err := networkMode(v)
		if err != nil {
			return nil, err
		}
		if slices.Contains(out, m) {
			return nil, fmt.Errorf("network %q is specified multiple times", v)
		}
		out = append(out, m)
		if spec.IsUserNetwork(m) {
			user = append(user, m)
		} else {
			builtin = append(builtin, m)
		}
	}
	switch {
	case len(user) > 0 && len(builtin) > 0:
		return nil, errors.New("conflicting options: cannot attach both user-defined and non-user-defined network-modes")
	case len(builtin) < 2:
		return out, nil
	case slices.Contains(builtin, spec.NetworkNone):
		return nil, errors.New("container cannot be connected to multiple networks with one of the networks in private (none) mode")
	}
	// Two of bridge, host and container:X: one at least shares a namespace.
	return nil, errors.New("container sharing network namespace with another container or host cannot be connected to any other network")
}

// checkIPv4 is --ip: docker's CLI parses an IP address (parseIPFlag),
// its daemon wants an IPv4 one.
func checkIPv4(v string) (string, error) {
	a, err := parseIPFlag("ip", v)
	if err != nil || !a.IsValid() {
		return "", err
	}
	if a = a.Unmap(); !a.Is4() || a.IsUnspecified() {
		return "", fmt.Errorf("invalid IPv4 address: %s", v)
	}
	return a.String(), nil
}

// parseIPFlag is an IP flag's value as pflag's IPVar reads it, with its
// words; "" is no address.
func parseIPFlag(flag, v string) (netip.Addr, error) {
	if v == "" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(strings.TrimSpace(v))
	if err != nil {
		return netip.Addr{}, fmt.Errorf(`invalid argument %q for "--%s" flag: failed to parse IP: %q`, v, flag, v)
	}
	return a, nil
}

// networkMode is one --network value as spec.Options.Network: "default"
// is the bridge; any other name is a user network, passed on as typed.
func networkMode(v string) (string, error) {
	switch v {
	case "", "default", spec.NetworkBridge:
		return spec.NetworkBridge, nil
	case spec.NetworkHost, spec.NetworkNone:
		return v, nil
	case "container":
		return "", errors.New("invalid network mode: invalid container format container:<name|id>")
	}
	if ref, ok := strings.CutPrefix(v, spec.NetworkContainerPrefix); ok {
		if ref == "" {
			return "", errors.New("invalid network mode: invalid container format container:<name|id>")
		}
		return v, nil
	}
	if strings.TrimSpace(v) == "" {
		return "", errors.New("no name set for network")
	}
	if spec.IsTapnet(v) {
		if _, err := spec.ParseTapnet(v); err != nil {
			return "", err
		}
	}
	if spec.HelperNetwork(v) != "" {
		// Whether the helper is installed is the start's to say: a
		// container made here may start where it is.
		if _, err := spec.ParseHelperNetwork(v); err != nil {
			return "", err
		}
	}
	return v, nil
}

// checkNetworkConflicts are docker's refusals of flags that the network
// mode makes meaningless: a container that joins another's namespace has
// that one's hostname, resolver, hosts and ports.
func checkNetworkConflicts(o *spec.Options) error {
	joined := strings.HasPrefix(o.Network, spec.NetworkContainerPrefix)
	switch {
	case joined && o.Hostname != "":
		return errors.New("conflicting options: hostname and the network mode")
	case joined && len(o.DNS) > 0:
		return errors.New("conflicting options: dns and the network mode")
	case joined && len(o.ExtraHosts) > 0:
		return errors.New("conflicting options: custom host-to-IP mapping and the network mode")
	case joined && (len(o.Publish) > 0 || o.PublishAll):
		return errors.New("conflicting options: port publishing and the container type network mode")
	case joined && len(o.Expose) > 0:
		return errors.New("conflicting options: port exposing and the container type network mode")
	case (joined || o.Network == spec.NetworkHost) && o.MacAddress != "":
		return errors.New("conflicting options: mac-address and the network mode")
	}
	return nil
}

// checkDNS is docker's --dns validator: each value an IP address.
func checkDNS(vals []string) ([]string, error) {
	for _, v := range vals {
		if _, err := netip.ParseAddr(strings.TrimSpace(v)); err != nil {
			return nil, fmt.Errorf(`invalid argument %q for "--dns" flag: IP address is not correctly formatted: %s`, v, v)
		}
	}
	return vals, nil
}

// domainRe is docker's check of a --dns-search domain: labels of letters,
// digits and inner hyphens, an optional final dot.
// Compiled on first use, not in every skiff process (the init too).
var domainRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9\-]*[a-zA-Z0-9]))*\.?$`)
})

// checkDNSSearch is docker's --dns-search validator: "." (no search
// list) or a domain with a letter in it, shorter than 255 bytes.
func checkDNSSearch(vals []string) ([]string, error) {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		d := strings.Trim(v, " ")
		if d != "." && (!strings.ContainsAny(strings.ToLower(d), "abcdefghijklmnopqrstuvwxyz") || len(d) >= 255 || !domainRe().MatchString(d)) {
			return nil, fmt.Errorf(`invalid argument %q for "--dns-search" flag: %s is not a valid domain`, v, v)
		}
		out = append(out, d)
	}
	return out, nil
}

// checkExtraHosts is docker's --add-host validator: NAME:IP or NAME=IP (the
// first separator splits, so an IPv6 address keeps its colons), IP maybe
// bracketed or host-gateway; kept as "NAME:IP".
func checkExtraHosts(vals []string) ([]string, error) {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		name, ip, ok := strings.Cut(v, "=")
		if !ok {
			name, ip, ok = strings.Cut(v, ":")
		}
		if !ok || name == "" || strings.Contains(name, ":") {
			return nil, fmt.Errorf(`invalid argument %q for "--add-host" flag: bad format for add-host: %q`, v, v)
		}
		if ip != spec.HostGateway {
			if len(ip) > 2 && ip[0] == '[' && ip[len(ip)-1] == ']' {
				ip = ip[1 : len(ip)-1]
			}
			if _, err := netip.ParseAddr(ip); err != nil {
				return nil, fmt.Errorf(`invalid argument %q for "--add-host" flag: invalid IP address in add-host: %q`, v, ip)
			}
		}
		out = append(out, name+":"+ip)
	}
	return out, nil
}
