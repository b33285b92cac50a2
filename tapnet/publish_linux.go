package tapnet

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
)

// Publish listens on hostIP:hostPort (proto "tcp" or "udp") as the caller
// and forwards each connection or datagram flow to the container's
// containerPort, from the client's own address (a loopback or IPv6 client
// shows as Gateway); it returns the listener's port (hostPort 0: a free one).
func (s *Stack) Publish(proto string, hostIP netip.Addr, hostPort, containerPort uint16) (uint16, error) {
	if err := checkPort(hostPort); err != nil {
		return 0, err
	}
	local := netip.AddrPortFrom(hostIP, hostPort)
	switch proto {
	case "tcp":
		ln, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(local))
		if err != nil {
			return 0, fmt.Errorf("publishing %s/tcp: %w", local, err)
		}
		return s.serve(ln, ln.Addr().(*net.TCPAddr).Port, func() { s.acceptTCP(ln, containerPort) })
	case "udp":
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(local))
		if err != nil {
			return 0, fmt.Errorf("publishing %s/udp: %w", local, err)
		}
		return s.serve(pc, pc.LocalAddr().(*net.UDPAddr).Port, func() { s.serveUDP(pc, containerPort) })
	}
	return 0, fmt.Errorf("publishing %s: protocol %q is neither tcp nor udp", local, proto)
}

// serve runs a published port's loop on l until Close.
func (s *Stack) serve(l io.Closer, port int, loop func()) (uint16, error) {
	if !s.hold(l) || !s.enter() {
		l.Close()
		return 0, fmt.Errorf("publishing port %d: the network is closed", port)
	}
	go loop()
	return uint16(port), nil
}

// sourceFor is the address a client shows as in the container: its own,
// except where the container could not answer it, which shows as Gateway:
// a loopback one (127/8 on tap0 is a martian the kernel drops), an IPv6
// one (the container has no IPv6), and one in the container's subnet (the
// container would ARP for it on tap0, and only Gateway and DNS answer).
func sourceFor(client netip.AddrPort) tcpip.FullAddress {
	a := client.Addr().Unmap()
	if !a.Is4() || a.IsLoopback() || a.IsUnspecified() || containerPfx.Masked().Contains(a) {
		return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(gatewayAddr.As4())}
	}
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(a.As4()), Port: client.Port()}
}

func containerAt(port uint16) tcpip.FullAddress {
	return tcpip.FullAddress{NIC: nicID, Addr: tcpip.AddrFrom4(containerAddr.As4()), Port: port}
}

func (s *Stack) acceptTCP(ln *net.TCPListener, port uint16) {
	defer s.leave()
	defer s.release(ln)
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return // Close
		}
		if !s.enter() {
			c.Close()
			return
		}
		go func() {
			defer s.leave()
			s.publishConn(c, port)
		}()
	}
}

// publishConn connects to the container from the client's address; if the
// stack already uses that address and port (a client's second source
// port clash), from the address and any port.
func (s *Stack) publishConn(c *net.TCPConn, port uint16) {
	src := sourceFor(c.RemoteAddr().(*net.TCPAddr).AddrPort())
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	defer cancel()
	in, err := gonet.DialTCPWithBind(ctx, s.ns, src, containerAt(port), ipv4.ProtocolNumber)
	if err != nil && src.Port != 0 {
		src.Port = 0
		in, err = gonet.DialTCPWithBind(ctx, s.ns, src, containerAt(port), ipv4.ProtocolNumber)
	}
	if err != nil {
		c.Close()
		return
	}
	s.splice(in, c)
}

// serveUDP carries each client's datagrams as one flow: an endpoint of the
// stack bound to the client's address, connected to the container, whose
// replies go back to the client from the published socket.
func (s *Stack) serveUDP(pc *net.UDPConn, port uint16) {
	defer s.leave()
	defer s.release(pc)
	var mu sync.Mutex
	flows := map[netip.AddrPort]*gonet.UDPConn{}
	defer func() {
		mu.Lock()
		for _, f := range flows {
			f.Close()
		}
		mu.Unlock()
	}()
	buf := make([]byte, MTU)
	for {
		n, client, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			return // Close
		}
		mu.Lock()
		f := flows[client]
		if f == nil {
			f = s.newUDPFlow(pc, client, port, func() { mu.Lock(); delete(flows, client); mu.Unlock() })
			if f != nil {
				flows[client] = f
			}
		}
		mu.Unlock()
		if f != nil {
			f.Write(buf[:n])
		}
	}
}

func (s *Stack) newUDPFlow(pc *net.UDPConn, client netip.AddrPort, port uint16, forget func()) *gonet.UDPConn {
	src, dst := sourceFor(client), containerAt(port)
	f, err := gonet.DialUDP(s.ns, &src, &dst, ipv4.ProtocolNumber)
	if err != nil && src.Port != 0 {
		src.Port = 0
		f, err = gonet.DialUDP(s.ns, &src, &dst, ipv4.ProtocolNumber)
	}
	if err != nil || !s.enter() {
		if f != nil {
			f.Close()
		}
		return nil
	}
	go func() {
		defer s.leave()
		defer forget()
		defer f.Close()
		buf := make([]byte, MTU)
		for {
			f.SetReadDeadline(time.Now().Add(udpIdle))
			n, err := f.Read(buf)
			if err != nil {
				return // idle, or the listener's end
			}
			pc.WriteToUDPAddrPort(buf[:n], client)
		}
	}()
	return f
}

// checkPort refuses, before any listen, a port the caller may not listen
// on: below net.ipv4.ip_unprivileged_port_start without the privilege. A
// rootless monitor has CAP_NET_BIND_SERVICE only in its own user namespace,
// which does not own the host's network namespace, so only the initial user
// namespace's capability counts.
func checkPort(port uint16) error {
	start := unprivilegedPortStart()
	return portAllowed(port, start, privileged())
}

func portAllowed(port, start uint16, privileged bool) error {
	if port == 0 || port >= start || privileged {
		return nil
	}
	return fmt.Errorf("publishing port %d: ports below %d (net.ipv4.ip_unprivileged_port_start) need privilege a rootless user does not have; "+
		"publish on a port >= %d, or have the administrator lower it (sysctl net.ipv4.ip_unprivileged_port_start=%d)", port, start, start, port)
}

func unprivilegedPortStart() uint16 {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024 // the kernel's default
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 16)
	if err != nil {
		return 1024
	}
	return uint16(n)
}

// privileged: CAP_NET_BIND_SERVICE in the initial user namespace.
func privileged() bool {
	m, err := os.ReadFile("/proc/self/uid_map")
	if err != nil || !bytes.Equal(bytes.Join(bytes.Fields(m), []byte(" ")), []byte("0 0 4294967295")) {
		return false
	}
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return false
	}
	for _, line := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
			caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			const capNetBindService = 10
			return err == nil && caps&(1<<capNetBindService) != 0
		}
	}
	return false
}
