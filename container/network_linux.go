package container

// A container's network at each start, run by its monitor: the namespace
// its init is born in (a new one, the host's, or another container's) and,
// on the default bridge, its wiring (network.Attach) while the init builds
// its root, undone when the process exits.

import (
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
	case c.Bridged():
		net.Setup = c.attach
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

// attach wires the init (pid) into the default bridge and writes the
// container's /etc/hosts with its address: network.Setup, run while the
// init builds its root.
func (c *Container) attach(pid int) error {
	h := c.State.Host
	ports := make([]network.PortMap, 0, len(h.Ports))
	for _, p := range h.Ports {
		m := network.PortMap{Proto: p.Proto, HostPort: p.HostPort, ContainerPort: p.ContainerPort, Count: p.Count}
		if p.HostIP != "" {
			ip, err := netip.ParseAddr(p.HostIP)
			if err != nil {
				return fmt.Errorf("published port %d: bad host address %q", p.ContainerPort, p.HostIP)
			}
			m.HostIP = ip
		}
		ports = append(ports, m)
	}
	ep, err := network.Attach(c.store.bridge(), network.Request{
		ID: c.State.ID, Pid: pid, MAC: h.MacAddress, Ports: ports,
	})
	if err != nil {
		return err
	}
	c.endpoint = ep
	timeline.Mark("net-attached")
	if err := rewriteInPlace(filepath.Join(c.Dir, "hosts"), []byte(c.hostsFile(ep))); err != nil {
		c.detach()
		return fmt.Errorf("write /etc/hosts: %w", err)
	}
	return nil
}

// DetachNetwork removes what the last start attached (its veth, its
// address): the monitor calls it once the exit is recorded and told, as
// the veth's removal waits for a kernel grace period. A restart attaches
// again.
func (c *Container) DetachNetwork() { c.detach() }

// detach undoes attach (the process has exited, or never ran). The
// kernel removes the veth with the namespace (DetachAfterExit) unless a
// container started with --network container:<this> keeps the namespace:
// then skiff removes it, as docker takes such a container's network away.
func (c *Container) detach() {
	if c.endpoint == nil {
		return
	}
	detach := c.endpoint.DetachAfterExit
	if c.joinedByOthers() {
		detach = c.endpoint.Detach
	}
	if err := detach(); err != nil {
		fmt.Fprintln(os.Stderr, "skiff: warning: container", shortid.Of(c.State.ID), err)
	}
	c.endpoint = nil
}

// networkStatus is what the record says of the running container's
// attachment (nil off the bridge).
func (c *Container) networkStatus() *state.NetworkStatus {
	ep := c.endpoint
	if ep == nil {
		return nil
	}
	st := &state.NetworkStatus{
		Network: network.BridgeName, Interface: ep.Interface, HostVeth: ep.HostVeth,
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
// whose host and domain name the container takes, as docker's),
// Networks, the published ports and the DNS and host entries.
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
	h.Ports, h.PublishAll = o.Publish, o.PublishAll
	if o.PublishAll { // -P: every exposed port -p left, to a random host port
		h.Ports = append(h.Ports, spec.PublishAll(spec.ExposedPorts(img.ExposedPorts, *o), o.Publish)...)
	}
	h.DNS, h.DNSSearch, h.DNSOptions = o.DNS, o.DNSSearch, o.DNSOptions
	h.ExtraHosts, h.MacAddress = o.ExtraHosts, o.MacAddress
	return nil
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
