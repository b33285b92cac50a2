package commands

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"

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

// toNetworkSettings is docker's NetworkSettings of ct: one entry for the
// network it is in (none for one in another container's namespace), its
// address, gateway and MAC while it runs on the bridge, and Ports: what is
// published ("80/tcp": [{"HostIp": "0.0.0.0", "HostPort": "8080"}]) and
// what is only exposed ("80/tcp": null).
func toNetworkSettings(ct *state.Container) networkSettings {
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
	name := containerNetwork(ct)
	if name == "" {
		return ns
	}
	if ct.Status.Up() && ct.Pid > 0 {
		// The sandbox is the init's network namespace (nsenter --net=).
		ns.SandboxID = sandboxID(ct)
		ns.SandboxKey = fmt.Sprintf("/proc/%d/ns/net", ct.Pid)
	}
	ep := &endpointSettings{NetworkID: networkID(name), MacAddress: ct.Host.MacAddress}
	if s := ct.Network; s != nil && ct.Status.Up() {
		ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress =
			endpointID(ct), s.Gateway, s.IPAddress, s.IPPrefixLen, s.MacAddress
		ns.EndpointID, ns.Gateway, ns.IPAddress, ns.IPPrefixLen, ns.MacAddress =
			ep.EndpointID, ep.Gateway, ep.IPAddress, ep.IPPrefixLen, ep.MacAddress
	}
	ns.Networks[name] = ep
	return ns
}

// sandboxID names a running container's network namespace for this
// start, as docker's SandboxID (64 hex).
func sandboxID(ct *state.Container) string {
	sum := sha256.Sum256([]byte("skiff sandbox " + ct.ID + " " + ct.StartedAt.String()))
	return hex.EncodeToString(sum[:])
}
