package tapnet

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/link/fdbased"
	"gvisor.dev/gvisor/pkg/tcpip/network/arp"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// Config is what the caller knows of the host that the stack needs.
type Config struct {
	Resolvers    []netip.AddrPort // the host's DNS servers for 10.0.2.3 (port 53 usually)
	HostLoopback bool             // connections to Gateway reach the host's 127.0.0.1 (opt-in)
}

// Stack is a running user-mode network for one TAP.
type Stack struct {
	cfg    Config
	tap    *os.File
	tapFD  int           // tap's fd, for the echo replies written to it
	pings  chan struct{} // echo requests in flight (icmp_linux.go)
	ns     *stack.Stack
	stops  []int           // fdbased's stop eventfds, which it leaves to us (stopfd_linux.go)
	ctx    context.Context // done at Close: ends dials and forwarders
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	open   map[io.Closer]struct{} // listeners and forwarded conns, closed by Close
	wg     sync.WaitGroup         // every goroutine the Stack started
}

const nicID = 1

// gatewayMAC is the stack's link address (slirp4netns' 52:55 and Gateway).
const gatewayMAC = tcpip.LinkAddress("\x52\x55\x0a\x00\x02\x02")

var (
	gatewayAddr   = netip.MustParseAddr(Gateway)
	dnsAddr       = netip.MustParseAddr(DNS)
	containerPfx  = netip.MustParsePrefix(ContainerCIDR)
	containerAddr = containerPfx.Addr()
)

// New serves the TAP's frames (tap: OpenTAP's fd, owned by the Stack from
// now) until Close: outbound TCP and UDP to any address through the
// caller's own sockets, DNS at 10.0.2.3 forwarded to cfg.Resolvers, ICMP
// echo through ping sockets where net.ipv4.ping_group_range allows them
// (else dropped); Gateway answers ARP and ping; connections to Gateway are
// refused unless cfg.HostLoopback (then they reach 127.0.0.1 at the same
// port); nothing else reaches the host's loopback.
func New(tap *os.File, cfg Config) (*Stack, error) {
	link, stops, err := newLink(int(tap.Fd()))
	if err != nil {
		tap.Close()
		return nil, err
	}
	ns := stack.New(stack.Options{
		NetworkProtocols:   []stack.NetworkProtocolFactory{ipv4.NewProtocol, arp.NewProtocol},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4},
	})
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stack{cfg: cfg, tap: tap, tapFD: int(tap.Fd()), ns: ns, stops: stops, ctx: ctx, cancel: cancel,
		open: map[io.Closer]struct{}{}, pings: make(chan struct{}, pingInFlight)}
	// The forwarders before the NIC: its reader delivers from the moment
	// it is attached. maxInFlight bounds the SYNs whose dial still runs;
	// gvisor-tap-vsock's 10 stalls a container opening many connections.
	ns.SetTransportProtocolHandler(tcp.ProtocolNumber, tcp.NewForwarder(ns, 0, 512, s.forwardTCP).HandlePacket)
	ns.SetTransportProtocolHandler(udp.ProtocolNumber, udp.NewForwarder(ns, s.forwardUDP).HandlePacket)
	if err := setupNIC(ns, newEchoLink(link, s.ping)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// newLink is the TAP's link endpoint, and fdbased's stop eventfds, which
// it leaves to us (stopfd_linux.go).
func newLink(fd int) (stack.LinkEndpoint, []int, error) {
	link, err := fdbased.New(&fdbased.Options{
		FDs:            []int{fd},
		MTU:            MTU,
		EthernetHeader: true,
		Address:        gatewayMAC,
		// The kernel checksums what the container sends through a TAP
		// without a vnet header: checking again only costs.
		RXChecksumOffload: true,
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tap link: %w", err)
	}
	stops := stopFDs(link)
	cloexec(stops)
	return link, stops, nil
}

// setupNIC puts the link in the stack: IPv4 with ARP, the gateway's and
// the DNS server's addresses (so both answer ARP and ping), promiscuous
// (every destination reaches the forwarders) and spoofing (a reply leaves
// from the address the container asked for, a published port's connection
// from its client's). The NIC is enabled last: a frame handled before all
// that would meet a half-made stack.
func setupNIC(ns *stack.Stack, link stack.LinkEndpoint) error {
	if err := ns.CreateNICWithOptions(nicID, link, stack.NICOptions{Disabled: true}); err != nil {
		return fmt.Errorf("tap nic: %s", err)
	}
	for _, a := range []netip.Addr{gatewayAddr, dnsAddr} {
		pa := tcpip.ProtocolAddress{Protocol: ipv4.ProtocolNumber, AddressWithPrefix: tcpip.AddrFrom4(a.As4()).WithPrefix()}
		if err := ns.AddProtocolAddress(nicID, pa, stack.AddressProperties{}); err != nil {
			return fmt.Errorf("adding %s: %s", a, err)
		}
	}
	if err := ns.SetPromiscuousMode(nicID, true); err != nil {
		return fmt.Errorf("promiscuous mode: %s", err)
	}
	if err := ns.SetSpoofing(nicID, true); err != nil {
		return fmt.Errorf("spoofing: %s", err)
	}
	subnet, err := tcpip.NewSubnet(tcpip.AddrFrom4(containerPfx.Masked().Addr().As4()), tcpip.MaskFromBytes(net4Mask(containerPfx.Bits())))
	if err != nil {
		return fmt.Errorf("container subnet: %w", err)
	}
	ns.SetRouteTable([]tcpip.Route{{Destination: subnet, NIC: nicID}})
	sack := tcpip.TCPSACKEnabled(true)
	if err := ns.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		return fmt.Errorf("tcp sack: %s", err)
	}
	// Windows for a 65520-byte MTU: gVisor's defaults (1 MB default, 4 MB
	// max) keep a bulk stream through a published port below what the
	// kernel's slirp4netns reaches; receive buffers grow with the stream.
	rcv := tcpip.TCPReceiveBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 4 << 20}
	snd := tcpip.TCPSendBufferSizeRangeOption{Min: 4 << 10, Default: 1 << 20, Max: 4 << 20}
	moderate := tcpip.TCPModerateReceiveBufferOption(true)
	for name, opt := range map[string]tcpip.SettableTransportProtocolOption{"receive buffer": &rcv, "send buffer": &snd, "moderate receive buffer": &moderate} {
		if err := ns.SetTransportProtocolOption(tcp.ProtocolNumber, opt); err != nil {
			return fmt.Errorf("tcp %s: %s", name, err)
		}
	}
	if err := ns.EnableNIC(nicID); err != nil {
		return fmt.Errorf("enabling the tap nic: %s", err)
	}
	return nil
}

func net4Mask(bits int) []byte {
	m := uint32(0xffffffff) << (32 - bits)
	return []byte{byte(m >> 24), byte(m >> 16), byte(m >> 8), byte(m)}
}

// enter counts a goroutine of the Stack, false once Close began; leave
// ends it. Close waits for every entered goroutine.
func (s *Stack) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.wg.Add(1)
	return true
}

func (s *Stack) leave() { s.wg.Done() }

// hold registers c for Close to close, which is what ends a goroutine
// blocked on it; false once Close began (the caller closes c). release
// forgets it.
func (s *Stack) hold(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.open[c] = struct{}{}
	return true
}

func (s *Stack) release(c io.Closer) {
	s.mu.Lock()
	delete(s.open, c)
	s.mu.Unlock()
}

// Close stops listeners, forwarders and the stack, and closes the TAP.
func (s *Stack) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	for c := range s.open {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	// Closing the stack removes the NIC, which stops and waits for the
	// fdbased reader; only then may the fd go.
	s.ns.Close()
	s.ns.Wait()
	closeAll(s.stops)
	// The TAP's fd is closed off the caller's path: the kernel removes the
	// device then, waiting for an RCU grace period (15-31 ms measured
	// here), which would delay the container's exit record. Nothing reads
	// or writes it any more.
	go s.tap.Close()
	return nil
}
