package spec

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// A container's generated /etc/resolv.conf and /etc/hosts, by docker's
// rules (moby's libnetwork/internal/resolvconf and etchosts). Pure: the
// caller reads the host's files and writes the results.

// Where docker reads the host's resolver configuration.
const (
	ResolvConfPath = "/etc/resolv.conf"
	// ResolvConfResolvedPath is systemd-resolved's list of the real
	// upstream servers, read instead of ResolvConfPath when that names
	// only resolved's stub (127.0.0.53), which a container cannot reach.
	ResolvConfResolvedPath = "/run/systemd/resolve/resolv.conf"
	resolvedStub           = "127.0.0.53"
)

// DefaultDNS are docker's fallback name servers, used when a container
// with its own network namespace is left with none (the host's are all
// loopback addresses, which are the container's own loopback there).
var DefaultDNS = []string{"8.8.8.8", "8.8.4.4"}

// ResolvConfSource is the host file a container's resolv.conf is made
// from, given /etc/resolv.conf's content: systemd-resolved's upstream list
// when /etc/resolv.conf names only its stub (and not in host mode, where
// the stub is reachable), as docker does.
func ResolvConfSource(etc []byte, hostNetwork bool) string {
	if !hostNetwork {
		if ns := resolvLines(etc, "nameserver"); len(ns) == 1 && ns[0] == resolvedStub {
			return ResolvConfResolvedPath
		}
	}
	return ResolvConfPath
}

// ResolvConf is a container's /etc/resolv.conf made from the host's file
// host: --dns, --dns-search and --dns-option (o.DNS, o.DNSSearch,
// o.DNSOptions) replace the host's nameserver, search and options lines
// (--dns-search . means no search list). In its own network namespace
// (hostNetwork false) the host's loopback and IPv6 name servers are
// dropped, as they cannot be reached from the container's IPv4-only
// network, and DefaultDNS are used when none remains; --dns is kept as
// given. In host mode without any of the flags the host's file is kept
// as it is.
func ResolvConf(host []byte, o Options, hostNetwork bool) string {
	if hostNetwork && len(o.DNS)+len(o.DNSSearch)+len(o.DNSOptions) == 0 {
		return string(host)
	}
	servers := resolvLines(host, "nameserver")
	if len(o.DNS) > 0 {
		servers = o.DNS
	} else if !hostNetwork {
		servers = reachableServers(servers)
	}
	search := resolvLines(host, "search")
	if len(o.DNSSearch) > 0 {
		search = nil
		if !(len(o.DNSSearch) == 1 && o.DNSSearch[0] == ".") {
			search = o.DNSSearch
		}
	}
	options := resolvLines(host, "options")
	if len(o.DNSOptions) > 0 {
		options = o.DNSOptions
	}
	var b strings.Builder
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	if len(options) > 0 {
		b.WriteString("options " + strings.Join(options, " ") + "\n")
	}
	for _, l := range otherResolvLines(host, len(o.DNSSearch) > 0) {
		b.WriteString(l + "\n")
	}
	return b.String()
}

// InternalResolverAddress is where a container on a user network sends
// its queries: docker's embedded server's address, which the container's
// monitor answers (package dns).
const InternalResolverAddress = "127.0.0.11"

// UsesInternalResolver says a container of --network mode (Options.Network)
// is on a user network, so its resolv.conf names the internal resolver:
// any mode but docker's predefined ones and container:X.
func UsesInternalResolver(mode string) bool {
	switch mode {
	case "", "default", NetworkBridge, NetworkHost, NetworkNone:
		return false
	}
	if IsUserMode(mode) {
		return false
	}
	return !strings.HasPrefix(mode, NetworkContainerPrefix)
}

// ExtServer is a name server the internal resolver forwards to (moby's
// ExtDNSEntry).
type ExtServer struct {
	Addr netip.Addr
	// HostLoopback: read from the host's file and unreachable from the
	// container's IPv4 network (loopback, IPv6, scoped): asked from the
	// host's namespace. --dns servers are asked from the container's
	// (--dns 127.0.0.53 is the container's own loopback), as docker's.
	HostLoopback bool
}

// String is docker's spelling in resolv.conf's ExtServers comment.
func (e ExtServer) String() string {
	if e.HostLoopback {
		return "host(" + e.Addr.String() + ")"
	}
	return e.Addr.String()
}

// ParseExtServers reads back the ExtServers comment InternalResolvConf
// wrote in file; ok is false without one. The file is the container's
// (it may have rewritten it): a caller trusts a host(...) entry only if
// the host's own file lists it.
func ParseExtServers(file []byte) (servers []ExtServer, ok bool) {
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		list, found := strings.CutPrefix(sc.Text(), extServersComment)
		if !found {
			continue
		}
		list, _ = strings.CutPrefix(list, "[")
		list, _ = strings.CutSuffix(list, "]")
		for _, f := range strings.Fields(list) {
			inner, host := strings.CutPrefix(f, "host(")
			if host {
				var closed bool
				if inner, closed = strings.CutSuffix(inner, ")"); !closed {
					continue
				}
			}
			if a, err := netip.ParseAddr(inner); err == nil {
				servers = append(servers, ExtServer{Addr: a, HostLoopback: host})
			}
		}
		return servers, true
	}
	return nil, false
}

const extServersComment = "# ExtServers: "

// ExtServers are the servers a container on a user network forwards to:
// dns (--dns, or the config file's) if given, else the host file's
// nameservers, else DefaultDNS (usedDefault). invalid are the nameserver
// values that are no address (skipped, listed in the file's comment).
func ExtServers(host []byte, dns []string) (servers []ExtServer, usedDefault bool, invalid []string) {
	override := len(dns) > 0
	if !override {
		dns = resolvLines(host, "nameserver")
	}
	for _, s := range dns {
		a, err := netip.ParseAddr(s)
		if err != nil {
			invalid = append(invalid, s)
			continue
		}
		unreachable := a.IsLoopback() || (a.Is6() && !a.Is4In6()) || a.Zone() != ""
		servers = append(servers, ExtServer{Addr: a, HostLoopback: !override && unreachable})
	}
	if len(servers) == 0 {
		for _, s := range DefaultDNS {
			servers = append(servers, ExtServer{Addr: netip.MustParseAddr(s)})
		}
		usedDefault = true
	}
	return servers, usedDefault, invalid
}

// InternalResolvConf is the resolv.conf of a container on a user network,
// as docker writes it for its embedded server (moby's resolvconf
// TransformForIntNS and Generate): the one nameserver 127.0.0.11, the
// search list and options as ResolvConf takes them (host's file, source
// its path, or --dns-search, --dns-option), "ndots:0" added unless a valid
// ndots option is there, then docker's trailing comments: where the file
// came from, the servers the resolver forwards to (ExtServers), what the
// flags overrode, where ndots came from.
func InternalResolvConf(host []byte, source string, o Options) string {
	ext, usedDefault, invalid := ExtServers(host, o.DNS)
	search := resolvLines(host, "search")
	if len(o.DNSSearch) > 0 {
		search = slices.DeleteFunc(slices.Clone(o.DNSSearch), func(s string) bool { return s == "." })
	}
	options, ndotsFrom := resolvLines(host, "options"), ""
	if len(o.DNSOptions) > 0 {
		options = slices.Clone(o.DNSOptions)
	}
	if hasOption(options, "ndots") {
		ndotsFrom = "host"
		if len(o.DNSOptions) > 0 {
			ndotsFrom = "override"
		}
	}
	options = slices.DeleteFunc(options, invalidNDots)
	if !hasOption(options, "ndots") {
		options, ndotsFrom = append(options, "ndots:0"), "internal"
	}
	var overrides []string
	for _, o := range []struct {
		given bool
		name  string
	}{{len(o.DNS) > 0, "nameservers"}, {len(o.DNSSearch) > 0, "search"}, {len(o.DNSOptions) > 0, "options"}} {
		if o.given {
			overrides = append(overrides, o.name)
		}
	}

	var b strings.Builder
	b.WriteString("nameserver " + InternalResolverAddress + "\n")
	if len(search) > 0 {
		b.WriteString("search " + strings.Join(search, " ") + "\n")
	}
	b.WriteString("options " + strings.Join(options, " ") + "\n")
	for _, l := range otherResolvLines(host, len(o.DNSSearch) > 0) {
		b.WriteString(l + "\n")
	}
	fmt.Fprintf(&b, "\n# Based on host file: '%s' (internal resolver)\n", source)
	if usedDefault {
		b.WriteString("# Used default nameservers.\n")
	}
	fmt.Fprintf(&b, extServersComment+"%v\n", ext)
	if len(invalid) > 0 {
		fmt.Fprintf(&b, "# Invalid nameservers: %v\n", invalid)
	}
	fmt.Fprintf(&b, "# Overrides: %v\n", overrides)
	fmt.Fprintf(&b, "# Option ndots from: %s\n", ndotsFrom)
	return b.String()
}

// hasOption says options has option name ("name" or "name:value").
func hasOption(options []string, name string) bool {
	return slices.ContainsFunc(options, func(o string) bool {
		k, _, _ := strings.Cut(o, ":")
		return k == name
	})
}

// invalidNDots is an ndots option whose value is no count, which docker
// drops for its own.
func invalidNDots(o string) bool {
	k, v, _ := strings.Cut(o, ":")
	if k != "ndots" {
		return false
	}
	n, err := strconv.Atoi(v)
	return err != nil || n < 0
}

// reachableServers drops loopback and IPv6 name servers (docker's
// legacy-network transform with IPv6 off); none left: DefaultDNS.
func reachableServers(servers []string) []string {
	var out []string
	for _, s := range servers {
		a, err := netip.ParseAddr(s)
		if err != nil || a.IsLoopback() || (a.Is6() && !a.Is4In6()) {
			continue
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return append([]string{}, DefaultDNS...)
	}
	return out
}

// resolvLines are the values of every line of directive key: each
// nameserver's address; the words of search and options lines (later
// lines adding to earlier ones, as the resolver takes them).
func resolvLines(file []byte, key string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != key {
			continue
		}
		if key == "nameserver" {
			out = append(out, f[1])
			continue
		}
		if key == "search" {
			out = out[:0] // the resolver uses the last search line
		}
		out = append(out, f[1:]...)
	}
	return out
}

// otherResolvLines are the host's directives other than nameserver,
// search and options (sortlist, domain...), kept as they are; domain is
// dropped when --dns-search replaces the search list it would set.
func otherResolvLines(file []byte, searchReplaced bool) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(file))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		f := strings.Fields(line)
		if len(f) == 0 || line[0] == '#' || line[0] == ';' {
			continue
		}
		switch f[0] {
		case "nameserver", "search", "options":
			continue
		case "domain":
			if searchReplaced {
				continue
			}
		}
		out = append(out, line)
	}
	return out
}

// HostGateway is --add-host's name for the host's address as the
// container reaches it (docker's host-gateway).
const HostGateway = "host-gateway"

// HostsInput is what a container's /etc/hosts is made of.
type HostsInput struct {
	Hostname, Domainname string
	// IP is the container's address, mapped to its names; "" writes no
	// line for them, as docker's --network none.
	IP string
	// ExtraHosts are --add-host's "name:ip" entries.
	ExtraHosts []string
	// Gateway replaces host-gateway in ExtraHosts; "" drops such entries
	// (no bridge to reach the host through).
	Gateway string
}

// Hosts is a container's /etc/hosts as docker writes it: its fixed
// localhost entries, --add-host's entries, then the container's address
// with its fully qualified name and its short name.
func Hosts(in HostsInput) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n" +
		"::1\tlocalhost ip6-localhost ip6-loopback\n" +
		"fe00::\tip6-localnet\n" +
		"ff00::\tip6-mcastprefix\n" +
		"ff02::1\tip6-allnodes\n" +
		"ff02::2\tip6-allrouters\n")
	b.WriteString(ExtraHosts(in.ExtraHosts, in.Gateway))
	if in.IP != "" && in.Hostname != "" {
		b.WriteString(in.IP + "\t" + hostsNames(in.Hostname, in.Domainname) + "\n")
	}
	return b.String()
}

// ExtraHosts are --add-host's /etc/hosts lines ("name:ip" entries),
// host-gateway replaced by gateway (dropped when gateway is "").
func ExtraHosts(entries []string, gateway string) string {
	var b strings.Builder
	for _, h := range entries {
		name, ip, _ := strings.Cut(h, ":")
		if ip == HostGateway {
			if gateway == "" {
				continue
			}
			ip = gateway
		}
		b.WriteString(ip + "\t" + name + "\n")
	}
	return b.String()
}

// hostsNames is docker's "fqdn short" pair: hostname.domainname and the
// hostname's first label (just the name when there is no dot).
func hostsNames(hostname, domainname string) string {
	fqdn := hostname
	if domainname != "" {
		fqdn += "." + domainname
	}
	if short, _, ok := strings.Cut(fqdn, "."); ok {
		return fqdn + " " + short
	}
	return fqdn
}
