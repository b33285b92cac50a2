package container

// A tapnet container's network (issue 21): a TAP device in its own
// network namespace, made and addressed by its monitor, whose user-mode
// stack (package tapnet) carries its traffic through the monitor's own
// sockets: a rootless container's default network.

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/tapnet"
)

// Tapnet reports whether c is on tapnet.
func (c *Container) Tapnet() bool { return spec.IsTapnet(c.State.Host.NetworkMode) }

// attachTapnet makes the TAP in the network namespace of c's init (pid),
// starts the stack on it and publishes c's ports (-p, -P) on the host.
func (c *Container) attachTapnet(pid int) error {
	opts, err := spec.ParseTapnet(c.State.Host.NetworkMode)
	if err != nil {
		return err
	}
	ports, err := c.portMaps()
	if err != nil {
		return err
	}
	var tap *os.File
	err = inNetnsOf(pid, func() error {
		var err error
		if tap, err = tapnet.OpenTAP(tapnet.TapName); err != nil {
			return err
		}
		return tapnet.ConfigureTAP(tapnet.TapName)
	})
	if err != nil {
		if tap != nil {
			tap.Close()
		}
		return fmt.Errorf("tapnet: %w", err)
	}
	stack, err := tapnet.New(tap, tapnet.Config{Resolvers: hostResolvers(), HostLoopback: opts.AllowHostLoopback})
	if err != nil {
		return fmt.Errorf("tapnet: %w", err)
	}
	c.tapnet = stack
	if c.tapnetPorts, err = publishEach(ports, stack.Publish); err != nil {
		stack.Close()
		c.tapnet, c.tapnetPorts = nil, nil
		return err
	}
	return nil
}

// publishEach publishes each port of each map (a range is one port at a
// time) with publish, which returns the host port it took (hostPort 0: a
// free one), and returns them as the record's bindings: the port-map loop
// of tapnet and of the helpers' networks.
func publishEach(ports []network.PortMap, publish func(proto string, hostIP netip.Addr, hostPort, containerPort uint16) (uint16, error)) ([]state.PortBinding, error) {
	var out []state.PortBinding
	for _, p := range ports {
		for i := range max(p.Count, 1) {
			hostPort := p.HostPort
			if hostPort != 0 {
				hostPort += uint16(i)
			}
			ip := p.HostIP
			if !ip.IsValid() {
				ip = netip.IPv4Unspecified()
			}
			got, err := publish(p.Proto, ip, hostPort, p.ContainerPort+uint16(i))
			if err != nil {
				return nil, err // it names the port
			}
			b := state.PortBinding{Proto: p.Proto, HostPort: got, ContainerPort: p.ContainerPort + uint16(i), Count: 1}
			if p.HostIP.IsValid() {
				b.HostIP = p.HostIP.String()
			}
			out = append(out, b)
		}
	}
	return out, nil
}

// hostResolvers are the name servers the stack's forwarder asks: the
// host's (loopback ones too: the monitor asks from the host's namespace).
func hostResolvers() []netip.AddrPort {
	host, _ := hostResolvConf(false)
	servers, _, _ := spec.ExtServers(host, nil)
	out := make([]netip.AddrPort, 0, len(servers))
	for _, s := range servers {
		out = append(out, netip.AddrPortFrom(s.Addr, 53))
	}
	return out
}

// detachTapnet stops c's stack: its listeners and forwarded connections
// go, the TAP goes with the namespace.
func (c *Container) detachTapnet() {
	if c.tapnet != nil {
		c.tapnet.Close()
		c.tapnet, c.tapnetPorts = nil, nil
	}
}

// tapnetStatus is the record's NetworkStatus of a running tapnet container.
func (c *Container) tapnetStatus() *state.NetworkStatus {
	return &state.NetworkStatus{
		Network: spec.NetworkTapnet, Interface: tapnet.TapName,
		IPAddress: spec.TapnetIP, IPPrefixLen: 24, Gateway: spec.TapnetGateway, Ports: c.tapnetPorts,
	}
}
