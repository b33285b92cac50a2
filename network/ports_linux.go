package network

// Published ports on the host side: a socket bound to each host port for
// as long as the container runs (conmon's way: no other process can take
// the port, and a second container asking for it fails as docker's does),
// and the ::1 forwarder. The traffic itself never reaches these sockets on
// IPv4: nftables DNATs it to the container first.
//
// Why a forwarder for ::1: the container has only an IPv4 address, and
// nftables cannot NAT an IPv6 connection to an IPv4 address, yet clients
// resolve `localhost` to ::1 first. So a goroutine of the Endpoint's
// accepts on [::1]:port (v6only) and splices to the container's address;
// only loopback clients are served this way, so no client outside the
// host loses its source address to it.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// reservePorts binds every host port of ports, resolving host port 0 to a
// port the kernel chooses; the closers release them. On an error nothing
// stays bound.
func reservePorts(ports []PortMap) ([]PortMap, []func() error, error) {
	resolved := make([]PortMap, 0, len(ports))
	var closers []func() error
	undo := func() {
		for _, c := range closers {
			c()
		}
	}
	for _, pm := range ports {
		if pm.Proto == "" {
			pm.Proto = "tcp" // docker's default
		}
		if err := checkRange(pm); err != nil {
			undo()
			return nil, nil, err
		}
		for i := range max(pm.Count, 1) {
			if pm.HostIP == netip.IPv6Loopback() && pm.HostPort != 0 {
				continue // the ::1 forwarder's own socket holds it
			}
			fd, port, err := reservePort(pm.Proto, pm.HostIP, pm.HostPort+i)
			if err != nil {
				undo()
				return nil, nil, err
			}
			if pm.HostPort == 0 {
				pm.HostPort = port
				if pm.HostIP == netip.IPv6Loopback() {
					unix.Close(fd) // only chose the port; the forwarder binds it next
					continue
				}
			}
			closers = append(closers, func() error { return unix.Close(fd) })
		}
		resolved = append(resolved, pm)
	}
	return resolved, closers, nil
}

// checkRange refuses what would wrap past port 65535 or pick a random
// port for a range.
func checkRange(pm PortMap) error {
	count := int(max(pm.Count, 1))
	if pm.HostPort == 0 && count > 1 {
		return fmt.Errorf("a range of %d ports needs its host ports", count)
	}
	if pm.Proto != "tcp" && pm.Proto != "udp" {
		return fmt.Errorf("invalid proto: %s", pm.Proto)
	}
	if int(pm.HostPort)+count-1 > 65535 || int(pm.ContainerPort)+count-1 > 65535 || pm.ContainerPort == 0 {
		return fmt.Errorf("invalid port range %d-%d:%d", pm.HostPort, int(pm.HostPort)+count-1, pm.ContainerPort)
	}
	return nil
}

// reservePort binds a socket of proto to ip:port (ip zero: 0.0.0.0; port
// 0: the kernel's choice, returned). No SO_REUSEADDR: two skiff
// reservations of one port must collide; nothing is ever accepted on it.
func reservePort(proto string, ip netip.Addr, port uint16) (fd int, bound uint16, err error) {
	if !ip.IsValid() {
		ip = netip.IPv4Unspecified()
	}
	family, typ := unix.AF_INET, unix.SOCK_STREAM
	if ip.Is6() {
		family = unix.AF_INET6
	}
	if proto == "udp" {
		typ = unix.SOCK_DGRAM
	}
	fd, err = unix.Socket(family, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, 0, fmt.Errorf("reserve host port %d/%s: %w", port, proto, err)
	}
	if err = bindTo(fd, ip, port); err == nil {
		bound, err = boundPort(fd)
	}
	if err != nil {
		unix.Close(fd)
		return -1, 0, bindError(proto, netip.AddrPortFrom(ip, port), err)
	}
	return fd, bound, nil
}

// bindError is docker's wording for a host port in use: "Bind for ...
// failed: port is already allocated" when one of its own containers
// publishes it (skiff: a rule of its table has the port), else the
// kernel's error as docker 28 prints it.
func bindError(proto string, hostPort netip.AddrPort, err error) error {
	if errors.Is(err, unix.EADDRINUSE) && skiffPublishes(proto, hostPort.Port()) {
		return portAllocatedError{hostPort}
	}
	return fmt.Errorf("failed to bind host port %s/%s: %w", hostPort, proto, err)
}

// portAllocatedError is a host port another skiff container publishes;
// it is EADDRINUSE for errors.Is.
type portAllocatedError struct{ hostPort netip.AddrPort }

func (e portAllocatedError) Error() string {
	return "Bind for " + e.hostPort.String() + " failed: port is already allocated"
}

func (e portAllocatedError) Unwrap() error { return unix.EADDRINUSE }

func bindTo(fd int, ip netip.Addr, port uint16) error {
	if ip.Is4() {
		return unix.Bind(fd, &unix.SockaddrInet4{Port: int(port), Addr: ip.As4()})
	}
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1); err != nil {
		return err
	}
	return unix.Bind(fd, &unix.SockaddrInet6{Port: int(port), Addr: ip.As16()})
}

func boundPort(fd int) (uint16, error) {
	sa, err := unix.Getsockname(fd)
	if err != nil {
		return 0, err
	}
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		return uint16(sa.Port), nil
	case *unix.SockaddrInet6:
		return uint16(sa.Port), nil
	}
	return 0, errors.New("unexpected socket address")
}

// startForwarders serves [::1]:hostPort for every port published on all
// addresses (or on ::1), to addr:containerPort, TCP and UDP. A host
// without IPv6 on lo gets none.
func startForwarders(addr netip.Addr, ports []PortMap) ([]func() error, error) {
	var closers []func() error
	for _, pm := range ports {
		if pm.HostIP.IsValid() && pm.HostIP != netip.IPv6Loopback() {
			continue
		}
		for i := range max(pm.Count, 1) {
			listen := netip.AddrPortFrom(netip.IPv6Loopback(), pm.HostPort+i).String()
			target := net.JoinHostPort(addr.String(), strconv.Itoa(int(pm.ContainerPort+i)))
			closer, err := startForwarder(pm.Proto, listen, target)
			if errors.Is(err, unix.EADDRNOTAVAIL) || errors.Is(err, unix.EAFNOSUPPORT) {
				return closers, nil // no ::1 here
			} else if err != nil {
				for _, c := range closers {
					c()
				}
				return nil, fmt.Errorf("failed to bind host port %s/%s: %w", listen, pm.Proto, unwrapErrno(err))
			}
			closers = append(closers, closer)
		}
	}
	return closers, nil
}

// startForwarder listens on listen ("tcp6"/"udp6": IPV6_V6ONLY) and
// forwards to target until the returned closer runs.
func startForwarder(proto, listen, target string) (func() error, error) {
	if proto == "udp" {
		pc, err := net.ListenPacket("udp6", listen)
		if err != nil {
			return nil, err
		}
		f := &udpForwarder{pc: pc.(*net.UDPConn), target: target, sessions: map[netip.AddrPort]*net.UDPConn{}}
		go f.serve()
		return f.close, nil
	}
	ln, err := net.Listen("tcp6", listen)
	if err != nil {
		return nil, err
	}
	f := &forwarder{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go f.serve()
	return f.close, nil
}

// unwrapErrno is err's errno if it has one, for docker's short wording.
func unwrapErrno(err error) error {
	var errno unix.Errno
	if errors.As(err, &errno) {
		return errno
	}
	return err
}

// forwarder splices each connection accepted on ln to target.
type forwarder struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if errors.Is(err, net.ErrClosed) {
			return
		} else if err != nil {
			time.Sleep(10 * time.Millisecond) // out of fds, say: the listener stays
			continue
		}
		if !f.track(c) {
			return
		}
		go f.splice(c)
	}
}

func (f *forwarder) splice(client net.Conn) {
	defer f.wg.Done()
	defer f.untrack(client)
	up, err := net.DialTimeout("tcp4", f.target, 5*time.Second)
	if err != nil {
		return
	}
	if !f.track(up) {
		return
	}
	defer f.wg.Done()
	defer f.untrack(up)
	done := make(chan struct{})
	go func() {
		copyHalf(up, client)
		close(done)
	}()
	copyHalf(client, up)
	<-done
}

// copyHalf copies until EOF, then closes dst's write side so the peer
// sees the EOF too (io.Copy splices between TCP sockets).
func copyHalf(dst, src net.Conn) {
	io.Copy(dst, src)
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// track records c to be closed by close; false (c closed) once closing.
func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		c.Close()
		return false
	}
	f.conns[c] = struct{}{}
	f.wg.Add(1)
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	c.Close()
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// close stops accepting, cuts every connection and waits for them.
func (f *forwarder) close() error {
	err := f.ln.Close()
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}

// udpForwarder relays datagrams between clients of [::1]:port and the
// container: one socket to the container per client, dropped after
// udpIdle without traffic (conntrack's UDP timeout is of that order).
type udpForwarder struct {
	pc     *net.UDPConn
	target string

	mu       sync.Mutex
	sessions map[netip.AddrPort]*net.UDPConn
	closed   bool
	wg       sync.WaitGroup
}

const udpIdle = 60 * time.Second

func (f *udpForwarder) serve() {
	b := make([]byte, 64<<10)
	for {
		n, client, err := f.pc.ReadFromUDPAddrPort(b)
		if errors.Is(err, net.ErrClosed) {
			return
		} else if err != nil {
			continue
		}
		up := f.session(client)
		if up != nil {
			up.Write(b[:n])
		}
	}
}

// session is client's socket to the container, dialled on its first
// datagram; nil once closing or if the dial fails.
func (f *udpForwarder) session(client netip.AddrPort) *net.UDPConn {
	f.mu.Lock()
	defer f.mu.Unlock()
	if up, ok := f.sessions[client]; ok || f.closed {
		return up
	}
	c, err := net.Dial("udp4", f.target)
	if err != nil {
		return nil
	}
	up := c.(*net.UDPConn)
	f.sessions[client] = up
	f.wg.Add(1)
	go f.replies(client, up)
	return up
}

// replies sends the container's datagrams back to client until the
// session idles out or the forwarder closes.
func (f *udpForwarder) replies(client netip.AddrPort, up *net.UDPConn) {
	defer f.wg.Done()
	b := make([]byte, 64<<10)
	for {
		up.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := up.Read(b)
		if err != nil {
			break
		}
		f.pc.WriteToUDPAddrPort(b[:n], client)
	}
	f.mu.Lock()
	delete(f.sessions, client)
	f.mu.Unlock()
	up.Close()
}

func (f *udpForwarder) close() error {
	err := f.pc.Close()
	f.mu.Lock()
	f.closed = true
	for _, up := range f.sessions {
		up.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
	return err
}
