package tapnet

import (
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/nested"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

const (
	pingTimeout  = 5 * time.Second
	pingInFlight = 64 // echo requests waiting for a reply; more are dropped
)

// echoLink passes the TAP's frames to the stack, except ICMP echo requests
// to addresses not the stack's own: gVisor's promiscuous NIC would answer
// those itself, and every address on the internet would seem to answer
// ping. They go to ping instead.
type echoLink struct {
	nested.Endpoint
	ping func(req []byte, mac tcpip.LinkAddress)
}

func newEchoLink(child stack.LinkEndpoint, ping func([]byte, tcpip.LinkAddress)) *echoLink {
	l := &echoLink{ping: ping}
	l.Endpoint.Init(child, l)
	return l
}

func (l *echoLink) DeliverNetworkPacket(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if proto == header.IPv4ProtocolNumber {
		if req, ok := echoRequest(pkt); ok {
			if req != nil {
				l.ping(req, header.Ethernet(pkt.LinkHeader().Slice()).SourceAddress())
			}
			return
		}
	}
	l.Endpoint.DeliverNetworkPacket(proto, pkt)
}

// echoRequest: ok if pkt is an echo request not for the stack's addresses,
// req its IPv4 packet (nil for a fragment or a malformed one: dropped).
func echoRequest(pkt *stack.PacketBuffer) (req []byte, ok bool) {
	h, got := pkt.Data().PullUp(header.IPv4MinimumSize)
	if !got {
		return nil, false
	}
	ip := header.IPv4(h)
	dst, _ := netip.AddrFromSlice(ip.DestinationAddressSlice())
	if ip.Protocol() != uint8(header.ICMPv4ProtocolNumber) || dst == gatewayAddr || dst == dnsAddr {
		return nil, false
	}
	b := pkt.Data().AsRange().ToSlice()
	ip = header.IPv4(b)
	if !ip.IsValid(len(b)) || ip.More() || ip.FragmentOffset() != 0 {
		return nil, true
	}
	icmp := header.ICMPv4(ip.Payload())
	if len(icmp) < header.ICMPv4MinimumSize || icmp.Type() != header.ICMPv4Echo {
		return nil, false // the stack's business (errors, replies)
	}
	return b[:ip.TotalLength()], true
}

// ping forwards one echo request through a ping socket of the caller's
// (net.ipv4.ping_group_range decides; without it the request is dropped, as
// a firewall would) and writes the reply to the TAP as from the address
// pinged.
func (s *Stack) ping(req []byte, mac tcpip.LinkAddress) {
	select {
	case s.pings <- struct{}{}:
	default:
		return
	}
	if !s.enter() {
		<-s.pings
		return
	}
	go func() {
		defer s.leave()
		defer func() { <-s.pings }()
		ip := header.IPv4(req)
		icmp := header.ICMPv4(ip.Payload())
		dst, _ := netip.AddrFromSlice(ip.DestinationAddressSlice())
		if _, ok := s.target(netip.AddrPortFrom(dst, 0)); !ok {
			return
		}
		payload, ok := s.echo(dst, icmp.Sequence(), icmp.Payload())
		if ok {
			s.writeEchoReply(ip, icmp, payload, mac)
		}
	}()
}

// echo sends one echo request to dst from a ping socket and waits for its
// reply's payload (the kernel picks the identifier and matches it).
func (s *Stack) echo(dst netip.Addr, seq uint16, payload []byte) ([]byte, bool) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, unix.IPPROTO_ICMP)
	if err != nil {
		return nil, false // EACCES: ping_group_range leaves the user out
	}
	f := os.NewFile(uintptr(fd), "ping")
	c, err := net.FilePacketConn(f)
	f.Close()
	if err != nil {
		return nil, false
	}
	if !s.hold(c) {
		c.Close()
		return nil, false
	}
	defer func() { c.Close(); s.release(c) }()
	msg := make([]byte, header.ICMPv4MinimumSize+len(payload))
	h := header.ICMPv4(msg)
	h.SetType(header.ICMPv4Echo)
	h.SetSequence(seq)
	copy(h.Payload(), payload)
	// The kernel fills in the identifier and the checksum of a ping socket's
	// message.
	if _, err := c.WriteTo(msg, &net.UDPAddr{IP: dst.AsSlice()}); err != nil {
		return nil, false
	}
	c.SetReadDeadline(time.Now().Add(pingTimeout))
	buf := make([]byte, MTU)
	for {
		n, _, err := c.ReadFrom(buf)
		if err != nil {
			return nil, false
		}
		r := header.ICMPv4(buf[:n])
		if n >= header.ICMPv4MinimumSize && r.Type() == header.ICMPv4EchoReply && r.Sequence() == seq {
			return r.Payload(), true
		}
	}
}

// writeEchoReply answers req on the TAP as its destination would have.
func (s *Stack) writeEchoReply(req header.IPv4, reqICMP header.ICMPv4, payload []byte, mac tcpip.LinkAddress) {
	icmpLen := header.ICMPv4MinimumSize + len(payload)
	frame := make([]byte, header.EthernetMinimumSize+header.IPv4MinimumSize+icmpLen)
	header.Ethernet(frame).Encode(&header.EthernetFields{SrcAddr: gatewayMAC, DstAddr: mac, Type: header.IPv4ProtocolNumber})
	ip := header.IPv4(frame[header.EthernetMinimumSize:])
	ip.Encode(&header.IPv4Fields{
		TotalLength: uint16(header.IPv4MinimumSize + icmpLen),
		TTL:         64,
		Protocol:    uint8(header.ICMPv4ProtocolNumber),
		SrcAddr:     req.DestinationAddress(),
		DstAddr:     req.SourceAddress(),
	})
	ip.SetChecksum(^ip.CalculateChecksum())
	icmp := header.ICMPv4(ip.Payload())
	icmp.SetType(header.ICMPv4EchoReply)
	icmp.SetIdent(reqICMP.Ident())
	icmp.SetSequence(reqICMP.Sequence())
	copy(icmp.Payload(), payload)
	icmp.SetChecksum(^checksum.Checksum(icmp, 0))
	unix.Write(s.tapFD, frame) // a full TAP queue drops it, as a lost reply
}
