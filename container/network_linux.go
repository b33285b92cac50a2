package container

// A container's network at each start, run by its monitor: the namespace
// its init is born in (a new one, the host's, or another container's) and,
// on the default bridge and user networks, its wiring (network.Attach,
// UserNetworks.Attach, the DNS responder) while the init builds its root,
// undone when the process exits.

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/timeline"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/ns"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// HostNetwork reports whether the container uses the host's network
// namespace (--network host, build's RUN --network host).
func (c *Container) HostNetwork() bool {
	return slices.Contains(c.State.Host.Networks, spec.NetworkHost)
}

// Bridged reports whether the container is on the default bridge.
func (c *Container) Bridged() bool { return c.State.Host.NetworkMode == spec.NetworkBridge }

// onUserNetworks reports whether the container is configured on a user
// network (run --network NAME, connect).
func (c *Container) onUserNetworks() bool { return len(c.State.Host.Endpoints) > 0 }

// OwnNetworkNamespace reports whether the container's init is born in a
// new network namespace: what a prestarted init has.
func (c *Container) OwnNetworkNamespace() bool {
	return !c.HostNetwork() && joinedContainer(c.State.Host.NetworkMode) == ""
}

// joinedContainer is the id of --network container:<id>, else "".
func joinedContainer(mode string) string {
	id, ok := strings.CutPrefix(mode, spec.NetworkContainerPrefix)
	if !ok {
		return ""
	}
	return id
}

// networkFor is what this start's init needs of its network: done is
// called once the start is over (it releases a joined container's pidfd).
func (c *Container) networkFor() (net run.Network, done func(), err error) {
	done = func() {}
	switch {
	case c.HostNetwork():
		net.Host = true
	case c.Bridged() || c.onUserNetworks():
		net.Setup = c.attach
	case c.Tapnet():
		net.Setup = c.attachTapnet
	case spec.HelperNetwork(c.State.Host.NetworkMode) != "":
		net.Setup = c.attachHelper
	default:
		if id := joinedContainer(c.State.Host.NetworkMode); id != "" {
			t, err := c.joinTarget(id)
			if err != nil {
				return net, done, err
			}
			net.Join, done = t, func() { t.Close() }
		}
	}
	return net, done, nil
}

// joinTarget pins the init of container id, whose network namespace
// --network container:<id> shares, and copies its /etc/hosts,
// /etc/resolv.conf and /etc/hostname as docker does.
func (c *Container) joinTarget(id string) (*ns.Target, error) {
	rec, err := state.Load(c.store.Root, id)
	if err != nil {
		return nil, fmt.Errorf("cannot join network of a non running container: %s", id)
	}
	t, ok := pinRunning(rec)
	if !ok {
		return nil, fmt.Errorf("cannot join network of a non running container: %s", id)
	}
	dir, err := state.Dir(c.store.Root, id)
	if err != nil {
		t.Close()
		return nil, err
	}
	for _, name := range []string{"hosts", "resolv.conf", "hostname"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			err = rewriteInPlace(filepath.Join(c.Dir, name), b)
		}
		if err != nil {
			t.Close()
			return nil, fmt.Errorf("share the network of container %s: %w", id, err)
		}
	}
	return t, nil
}

// attach wires the init (pid) into its networks: the default bridge
// (eth0) if it is on it, then each user network in the record's order
// (the next ethN), the published ports on the first, the default route
// through the first that is not --internal; then the DNS responder when it
// is on a user network, and /etc/hosts with its first address.
// network.Setup, run while the init builds its root; on failure nothing
// of it is left.
func (c *Container) attach(pid int) error {
	ports, err := c.portMaps()
	if err != nil {
		return err
	}
	if c.Bridged() {
		ep, err := network.Attach(c.store.bridge(), network.Request{
			ID: c.State.ID, Pid: pid, MAC: c.State.Host.MacAddress, Ports: ports,
		})
		if err != nil {
			return err
		}
		c.endpoints = append(c.endpoints, ep)
		timeline.Mark("net-attached")
	}
	if c.onUserNetworks() {
		// The responder needs only the namespace, not the veths: it
		// starts beside the attachments rather than after them.
		served := make(chan error, 1)
		go func() { served <- c.serveDNS(pid) }()
		err := c.attachUser(pid, ports)
		if dnsErr := <-served; err == nil && dnsErr != nil {
			err = fmt.Errorf("start the DNS responder: %w", dnsErr)
		}
		timeline.Mark("dns-serving")
		if err != nil {
			c.detach()
			return err
		}
	}
	if len(c.endpoints) == 0 {
		return nil
	}
	if err := rewriteInPlace(filepath.Join(c.Dir, "hosts"), []byte(c.hostsFile(c.endpoints[0]))); err != nil {
		c.detach()
		return fmt.Errorf("write /etc/hosts: %w", err)
	}
	return nil
}

// attachUser attaches the init to the record's user networks after the
// default bridge's eth0 (if any) and starts its DNS responder.
func (c *Container) attachUser(pid int, ports []network.PortMap) error {
	h := c.State.Host
	nets := c.store.UserNetworks()
	route, mac := !c.Bridged(), h.MacAddress
	if c.Bridged() {
		ports, mac = nil, ""
	}
	for _, e := range h.Endpoints {
		n, err := nets.Lookup(e.NetworkID)
		if err != nil {
			return fmt.Errorf("network %s not found", e.NetworkName)
		}
		req := network.UserRequest{
			Request: network.Request{ID: c.State.ID, Pid: pid, MAC: mac, Ports: ports},
			Name:    c.State.Name, Aliases: e.Aliases,
			Interface:    fmt.Sprintf("eth%d", len(c.endpoints)),
			DefaultRoute: route && !n.Internal,
		}
		if e.IPv4Address != "" {
			if req.IP, err = netip.ParseAddr(e.IPv4Address); err != nil {
				return fmt.Errorf("invalid IPv4 address: %s", e.IPv4Address)
			}
		}
		ep, err := nets.Attach(c.store.bridge(), n, req)
		if err != nil {
			return err
		}
		c.endpoints = append(c.endpoints, ep)
		route = route && !req.DefaultRoute
		ports, mac = nil, ""
	}
	timeline.Mark("usernet-attached")
	return nil
}

// portMaps are the record's published ports as network.PortMap.
func (c *Container) portMaps() ([]network.PortMap, error) {
	ports := make([]network.PortMap, 0, len(c.State.Host.Ports))
	for _, p := range c.State.Host.Ports {
		m := network.PortMap{Proto: p.Proto, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Count: p.Count}
		if p.HostIP != "" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return nil, fmt.Errorf("published port %d: bad host address %q", p.ContainerPort, p.HostIP)
			}
			m.HostIP = ip
		}
		ports = append(ports, m)
	}
	return ports, nil
}

// DetachNetwork removes what the last start attached (its veths, its
// addresses): the monitor calls it once the exit is recorded and told, as
// the veth's removal waits for a kernel grace period. A restart attaches
// again.
func (c *Container) DetachNetwork() { c.detach() }

// exited withdraws, as soon as the process has exited, what others see
// of it at once: its published ports (the next container may take them),
// its DNS responder, and its membership of user networks (its names stop
// answering in other containers), including those a live `network
// connect` added, which the monitor holds no endpoint of.
func (c *Container) exited() {
	timeline.Mark("process-exited")
	c.stopDNS()
	timeline.Mark("dns-stopped")
	for _, ep := range c.endpoints {
		if err := ep.Unpublish(); err != nil {
			fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(c.State.ID), err)
		}
	}
	c.detachTapnet()
	c.detachHelper()
	timeline.Mark("unpublished")
	c.leaveUserNetworks()
}

// leaveUserNetworks removes the container's member records of every user
// network (a stopped container is on none).
func (c *Container) leaveUserNetworks() {
	nets := c.store.UserNetworks()
	joined, err := nets.ContainerNetworks(c.State.ID)
	for id := range joined {
		err = errors.Join(err, nets.Leave(id, c.State.ID))
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(c.State.ID), err)
	}
}

// detach undoes attach (the process has exited, or never ran). The
// kernel removes the veths with the namespace (DetachAfterExit) unless a
// container started with --network container:<this> keeps the namespace:
// then skiff removes them, as docker takes such a container's network
// away.
func (c *Container) detach() {
	if len(c.endpoints) == 0 {
		return
	}
	c.stopDNS()
	joined := c.joinedByOthers()
	for _, ep := range c.endpoints {
		detach := ep.DetachAfterExit
		if joined {
			detach = ep.Detach
		}
		if err := detach(); err != nil {
			fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(c.State.ID), err)
		}
	}
	c.endpoints = nil
	// Also what a `network connect` racing the exit joined after exited
	// looked (it held the container's lock, which Cleanup waited for).
	c.leaveUserNetworks()
}

// networkStatus is what the record says of the running container's
// first attachment, the one its ports are published on: the default
// bridge, else its first user network (nil without either). inspect
// reads the others' from the user networks' member records.
func (c *Container) networkStatus() *state.NetworkStatus {
	if c.tapnet != nil {
		return c.tapnetStatus()
	}
	if c.helper != nil {
		return c.helperStatus()
	}
	if len(c.endpoints) == 0 {
		return nil
	}
	ep := c.endpoints[0]
	name := network.BridgeName
	if ep.NetworkID != "" {
		name = c.State.Host.Endpoints[0].NetworkName
	}
	st := &state.NetworkStatus{
		Network: name, Interface: ep.Interface, HostVeth: ep.HostVeth,
		IPAddress: ep.Addr.Addr().String(), IPPrefixLen: ep.Addr.Bits(),
		Gateway: ep.Gateway.String(), MacAddress: ep.MAC,
	}
	for _, p := range ep.Ports {
		b := state.PortBinding{Proto: p.Proto, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Count: p.Count}
		if p.HostIP.IsValid() {
			b.HostIP = p.HostIP.String()
		}
		st.Ports = append(st.Ports, b)
	}
	return st
}

// rewriteInPlace replaces a generated /etc file's content without a new
// inode: the init may have bind-mounted it already.
func rewriteInPlace(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0) // os.OpenFile adds O_CLOEXEC
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// hostsFile is the container's /etc/hosts on the bridge: docker's, with
// its address, --add-host's entries (host-gateway: the bridge's address)
// and its links' (linkHosts). A link that cannot be made has failed the
// start already, before its init ran (initConfig's linkEnv makes the same
// checks); one that fails between the two only loses its line here.
func (c *Container) hostsFile(ep *network.Endpoint) string {
	links, _ := c.linkHosts()
	return spec.Hosts(spec.HostsInput{
		Hostname: c.State.Config.Hostname, Domainname: c.State.Config.Domainname,
		IP: ep.Addr.Addr().String(), ExtraHosts: append(slices.Clip(c.State.Host.ExtraHosts), links...), Gateway: ep.Gateway.String(),
	})
}

// recordNetwork puts run's network flags into the record's Host:
// NetworkMode (container:NAME resolved to the id, which must exist, and
// whose host and domain name the container takes, as docker's; a user
// network's name), Networks, Endpoints (user networks resolved, the
// first one's --network-alias and --ip checked), Links, the published
// ports and the DNS and host entries.
func (s Store) recordNetwork(h *state.Host, img v1.Config, o *spec.Options) error {
	mode := o.Network
	if name, ok := strings.CutPrefix(mode, spec.NetworkContainerPrefix); ok {
		if name == "" {
			return fmt.Errorf("invalid container format container:<name|id>")
		}
		target, err := s.Lookup(name)
		if err != nil {
			return err
		}
		mode = spec.NetworkContainerPrefix + target.ID
		o.Hostname, o.Domainname = target.Config.Hostname, target.Config.Domainname
	}
	h.NetworkMode = mode
	if mode != "" {
		h.Networks = []string{mode}
	}
	if err := s.recordUserNetworks(h, o); err != nil {
		return err
	}
	if err := s.resolveLinks(h, o.Links); err != nil {
		return err
	}
	h.Ports, h.PublishAll = o.Publish, o.PublishAll
	if o.PublishAll { // -P: every exposed port -p left, to a random host port
		h.Ports = append(h.Ports, spec.PublishAll(spec.ExposedPorts(img.ExposedPorts, *o), o.Publish)...)
	}
	h.DNS, h.DNSSearch, h.DNSOptions = o.DNS, o.DNSSearch, o.DNSOptions
	h.ExtraHosts, h.MacAddress = o.ExtraHosts, o.MacAddress
	return nil
}

// recordUserNetworks resolves --network's user networks (the first value
// if it names one, then the repeated flag's others) into h.Endpoints, in
// order; the first names NetworkMode, as docker's.
func (s Store) recordUserNetworks(h *state.Host, o *spec.Options) error {
	refs := o.ExtraNetworks
	if spec.IsUserNetwork(o.Network) {
		refs = append([]string{o.Network}, refs...)
		h.Networks = nil
	}
	if len(refs) == 0 {
		return nil
	}
	nets := s.UserNetworks()
	for i, ref := range refs {
		n, err := nets.Lookup(ref)
		if err != nil {
			return err
		}
		if slices.ContainsFunc(h.Endpoints, func(e state.EndpointConfig) bool { return e.NetworkID == n.ID }) {
			continue // docker merges a network named twice
		}
		e := state.EndpointConfig{NetworkID: n.ID, NetworkName: n.Name}
		if i == 0 && spec.IsUserNetwork(o.Network) {
			if e.IPv4Address, err = checkRequestedIP(n, o.IP); err != nil {
				return err
			}
			e.Aliases = o.NetworkAliases
			h.NetworkMode = n.Name
		}
		h.Endpoints = append(h.Endpoints, e)
		h.Networks = append(h.Networks, n.Name)
	}
	return nil
}

// checkRequestedIP is --ip on network n, checked at create as docker's
// IPAM checks it at the start (so a bad one leaves no container).
func checkRequestedIP(n *network.UserNetwork, ip string) (string, error) {
	if ip == "" {
		return "", nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || !a.Is4() {
		return "", fmt.Errorf("invalid IPv4 address: %s", ip)
	}
	return a.String(), n.CheckAddr(a)
}

// joinedByOthers reports whether a running container shares this one's
// network namespace (--network container:<id>); an unreadable list says
// yes, the safe answer (skiff then removes the veth itself).
func (c *Container) joinedByOthers() bool {
	all, err := c.store.List()
	if err != nil {
		return true
	}
	mode := spec.NetworkContainerPrefix + c.State.ID
	for _, o := range all {
		if o.Host.NetworkMode == mode && o.Status.Up() {
			return true
		}
	}
	return false
}
