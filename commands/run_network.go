package commands

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"regexp"
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
	return append(fs,
		&cli.BoolFlag{Name: "publish-all", Aliases: []string{"P"}, Usage: "publish all exposed ports to random ports"},
		&cli.StringFlag{Name: "network", Aliases: []string{"net"}, Value: spec.NetworkBridge, Usage: "connect a container to a network: bridge, host, none or container:NAME|ID"},
		&cli.StringFlag{Name: "mac-address", Usage: "container MAC address (e.g., 92:d0:c6:0a:29:33)"},
		&cli.StringFlag{Name: "ip", Usage: "IPv4 address (user defined networks only)"},
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
	if o.Network, err = networkMode(c.String("network")); err != nil {
		return err
	}
	if err := checkNetworkConflicts(o); err != nil {
		return err
	}
	if c.String("ip") != "" || c.String("ip6") != "" {
		// Every network skiff has is one of docker's predefined ones.
		return errors.New("user specified IP address is supported on user defined networks only")
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

// networkMode is --network's value as spec.Options.Network: docker's
// default is the bridge; a user network (a later issue) is docker's "not
// found".
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
	return "", fmt.Errorf("network %s not found", v)
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
