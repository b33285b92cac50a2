package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// inspect's network parts of a container, docker 28's shapes: the
// HostConfig's flags as typed, and NetworkSettings from what the
// container's monitor recorded at its last start (empty addresses when it
// is not running, as docker's for a stopped container).

// containerNetworkMode is HostConfig.NetworkMode: a record older than
// networking had its own namespace with loopback only, docker's "none".
func containerNetworkMode(h state.Host) string {
	if h.NetworkMode == "" {
		return spec.NetworkNone
	}
	return h.NetworkMode
}

// portBindings is HostConfig.PortBindings: -p and -P as asked, a range one
// key a port, HostIp "" for every address and HostPort "" for a random
// port, as docker keeps them.
func portBindings(ports []state.PortBinding) map[string][]portBinding {
	out := map[string][]portBinding{}
	for _, b := range ports {
		for i := range max(1, int(b.Count)) {
			hp := ""
			if b.HostPort != 0 {
				hp = strconv.Itoa(int(b.HostPort) + i)
			}
			k := spec.PortKey(int(b.ContainerPort)+i, b.Proto)
			out[k] = append(out[k], portBinding{HostIp: b.HostIP, HostPort: hp})
		}
	}
	return out
}

// orEmpty is vals, or [] where docker's CLI sends an empty list.
func orEmpty(vals []string) []string {
	if vals == nil {
		return []string{}
	}
	return vals
}

// toNetworkSettings is docker's NetworkSettings of ct: one entry for each
// network it is on (none for one in another container's namespace): the
// default bridge's address, gateway and MAC while it runs (also the
// deprecated top-level fields, which docker fills for the default bridge
// only), each user network's from its member record while it runs (nets),
// and Ports: what is published ("80/tcp": [{"HostIp": "0.0.0.0",
// "HostPort": "8080"}]) and what is only exposed ("80/tcp": null).
func toNetworkSettings(ct *state.Container, nets *network.UserNetworks) networkSettings {
	ns := networkSettings{Ports: map[string][]portBinding{}, Networks: map[string]*endpointSettings{}}
	for _, p := range containerPorts(ct) {
		k := p.key()
		if p.Public == 0 {
			if _, ok := ns.Ports[k]; !ok {
				ns.Ports[k] = nil
			}
			continue
		}
		ns.Ports[k] = append(ns.Ports[k], portBinding{HostIp: p.IP, HostPort: strconv.Itoa(int(p.Public))})
	}
	names := containerNetworks(ct)
	if len(names) == 0 {
		return ns
	}
	if ct.Status.Up() && ct.Pid > 0 {
		// The sandbox is the init's network namespace (nsenter --net=).
		ns.SandboxID = sandboxID(ct)
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", ct.Pid)
	}
	if name := names[0]; !spec.IsUserNetwork(name) {
		ep := &endpointSettings{NetworkID: networkID(name), MacAddress: ct.Host.MacAddress}
		if s := ct.Network; s != nil && ct.Status.Up() && s.Network == name {
			ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress =
				endpointID(ct), s.Gateway, s.IPAddress, s.IPPrefixLen, s.MacAddress
			ns.EndpointID, ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress =
				ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress
		}
		ns.Networks[name] = ep
	}
	for name, ep := range userEndpoints(ct, nets) {
		ns.Networks[name] = ep
	}
	return ns
}

// userEndpoints are ct's user networks' entries, by network name: the
// configuration (id, aliases, --ip as IPAMConfig), and while it runs its
// member record's address, MAC, endpoint and DNS names with the network's
// prefix length and gateway; empty addresses when stopped, as docker's.
func userEndpoints(ct *state.Container, nets *network.UserNetworks) map[string]*endpointSettings {
	if len(ct.Host.Endpoints) == 0 {
		return nil
	}
	var live map[string]network.Member
	records := map[string]*network.UserNetwork{}
	if ct.Status.Up() {
		live, _ = nets.ContainerNetworks(ct.ID) // unreadable: shown as stopped
		all, _ := nets.List()
		for _, n := range all {
			records[n.ID] = n
		}
	}
	out := make(map[string]*endpointSettings, len(ct.Host.Endpoints))
	for i, e := range ct.Host.Endpoints {
		ep := &endpointSettings{NetworkID: e.NetworkID, Aliases: e.Aliases}
		if i == 0 && spec.IsUserNetwork(ct.Host.NetworkMode) {
			ep.MacAddress = ct.Host.MacAddress // --mac-address applies to the first network
		}
		if e.IPv4Address != "" {
			ep.IPAMConfig = &struct{ IPv4Address, IPv6Address string }{IPv4Address: e.IPv4Address}
		}
		if m, ok := live[e.NetworkID]; ok {
			ep.EndpointID, ep.IPAddress, ep.MacAddress, ep.DNSNames = m.EndpointID, m.Addr.String(), m.MAC, m.DNSNames()
			if n := records[e.NetworkID]; n != nil {
				ep.IPPrefixLen, ep.Gateway = n.Subnet.Bits(), n.Gateway.String()
			}
		}
		out[e.NetworkName] = ep
	}
	return out
}

// hostLinks is HostConfig.Links: docker's "/NAME:/SELF/ALIAS" for each
// --link.
func hostLinks(ct *state.Container) []string {
	var out []string
	for _, l := range ct.Host.Links {
		out = append(out, "/"+l.Name+":"+spec.LinkName(ct.Name, l.Alias))
	}
	return out
}

// sandboxID names a running container's network namespace for this
// start, as docker's SandboxID (64 hex).
func sandboxID(ct *state.Container) string {
	sum := sha256.Sum256([]byte("skiff sandbox " + ct.ID + " " + ct.StartedAt.String()))
	return hex.EncodeToString(sum[:])
}
