package container

// A container's DNS responder on user networks (issue 19): served by its
// monitor in the container's network namespace, docker's 127.0.0.11.
//
// serveDNS, once the init's user networks are attached:
//  1. listen: on a locked thread moved into the container's namespace,
//     dns.Listen binds 127.0.0.11 at a random port (UDP and TCP); the
//     thread moves back (and dies with its goroutine if it cannot), the
//     sockets stay in the container's namespace;
//  2. redirect: network.RedirectDNS DNATs the container's 127.0.0.11:53
//     to that port;
//  3. upstreams: --dns from the record, else the servers the container's
//     resolv.conf names (written at create: the config file's dns, else
//     the host's), none when every network of the container is
//     --internal; a server of the host's own loopback is asked from the
//     monitor's namespace, every other from the container's (sockets made
//     by a thread that stays there, started at the first such query), as
//     docker;
//  4. serve: dns.Server over the networks' member records until stopDNS.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/dns"
	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
)

// dnsResponder is a container's running responder: what stopDNS ends.
type dnsResponder struct {
	server *dns.Server
	names  *network.Names // the server's Names: its descriptors closed at the end
	served chan error     // Serve's return
	pid    int            // the init, whose namespace the container-side upstreams are asked from
	// fromHost: the upstreams asked from the monitor's namespace.
	fromHost map[netip.Addr]bool

	mu      sync.Mutex
	sockets *netnsSocketMaker // made at the first query forwarded from the container's namespace
}

// serveDNS starts the container's responder for the init pid, whose
// network namespace the container's networks are already attached in:
// dns.Listen on a thread in that namespace, network.RedirectDNS there,
// then dns.Server{Names: its networks' names, Upstreams, Dial} serving
// until stopDNS. Called by the start (after the user networks' Attach)
// only when the container is on at least one user network.
func (c *Container) serveDNS(pid int) error {
	c.stopDNS() // a restart's: the old namespace is gone
	upstreams, err := c.dnsUpstreams()
	if err != nil {
		return fmt.Errorf("serve DNS: %w", err)
	}
	udp, tcp, port, err := listenInNetns(pid)
	if err != nil {
		return fmt.Errorf("serve DNS: %w", err)
	}
	if err := network.RedirectDNS(pid, netip.AddrPortFrom(dns.Address, port)); err != nil {
		udp.Close()
		tcp.Close()
		return fmt.Errorf("serve DNS: %w", err)
	}
	r := &dnsResponder{served: make(chan error, 1), pid: pid}
	r.names = c.store.UserNetworks().NamesFor(c.State.ID, c.nameLinks())
	r.server = &dns.Server{Names: r.names, Upstreams: make([]netip.AddrPort, 0, len(upstreams)), Dial: r.dial}
	r.fromHost = map[netip.Addr]bool{}
	for _, u := range upstreams {
		r.server.Upstreams = append(r.server.Upstreams, netip.AddrPortFrom(u.Addr, 53))
		r.fromHost[u.Addr] = u.HostLoopback
	}
	go func() { r.served <- r.server.Serve(udp, tcp) }()
	c.dns = r
	return nil
}

// stopDNS ends what serveDNS started (the process has exited, or the
// start failed); safe to call when nothing runs.
func (c *Container) stopDNS() {
	r := c.dns
	if r == nil {
		return
	}
	c.dns = nil
	r.server.Close()
	if err := <-r.served; err != nil {
		fmt.Fprintln(os.Stderr, "skiff: warning: DNS responder:", err)
	}
	r.names.Close()
	r.mu.Lock()
	if r.sockets != nil {
		r.sockets.close()
	}
	r.mu.Unlock()
}

// dial is the server's Dial: an upstream of the host's loopback from the
// monitor's namespace (its goroutines run there), every other from the
// container's.
func (r *dnsResponder) dial(ctx context.Context, network, address string) (net.Conn, error) {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil, err
	}
	if r.fromHost[ap.Addr()] {
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	sockets, err := r.containerSockets()
	if err != nil {
		return nil, err
	}
	return sockets.dial(ctx, network, ap)
}

// containerSockets is the socket maker in the container's namespace,
// started at the first query that needs it: a container that never asks
// for another name costs no thread.
func (r *dnsResponder) containerSockets() (*netnsSocketMaker, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.sockets == nil {
		m, err := newNetnsSocketMaker(r.pid)
		if err != nil {
			return nil, err
		}
		r.sockets = m
	}
	return r.sockets, nil
}

// listenInNetns is dns.Listen in pid's network namespace (sockets keep
// the namespace they were made in).
func listenInNetns(pid int) (udp net.PacketConn, tcp net.Listener, port uint16, err error) {
	err = inNetnsOf(pid, func() error {
		// lo may not be up yet (the attachments that set it up run
		// beside this): 127.0.0.11 is on it.
		if err := network.LoopbackUp(); err != nil {
			return err
		}
		var err error
		udp, tcp, port, err = dns.Listen()
		return err
	})
	return udp, tcp, port, err
}

// maxResolvConf bounds the read of the container's resolv.conf, which it
// may have rewritten to any size.
const maxResolvConf = 64 << 10

// dnsUpstreams are the servers other names go to: --dns as recorded,
// else those the container's resolv.conf names (what create wrote: the
// config file's dns or the host's servers; a host(...) entry only if the
// host's file lists it now), else the host's; none when every user
// network of the container is --internal.
func (c *Container) dnsUpstreams() ([]spec.ExtServer, error) {
	internal, err := c.allNetworksInternal()
	if err != nil || internal {
		return nil, err
	}
	hostFile, _ := hostResolvConf(false)
	if len(c.State.Host.DNS) > 0 {
		ext, _, _ := spec.ExtServers(hostFile, c.State.Host.DNS)
		return ext, nil
	}
	hostExt, _, _ := spec.ExtServers(hostFile, nil)
	own, ok := readExtServers(filepath.Join(c.Dir, "resolv.conf"))
	if !ok {
		return hostExt, nil
	}
	var out []spec.ExtServer
	for _, e := range own {
		if !e.HostLoopback || slices.Contains(hostExt, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

func readExtServers(path string) ([]spec.ExtServer, bool) {
	f, err := os.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxResolvConf))
	if err != nil {
		return nil, false
	}
	return spec.ParseExtServers(b)
}

// allNetworksInternal says every user network of the container is
// --internal: docker's resolver then forwards nothing.
func (c *Container) allNetworksInternal() (bool, error) {
	eps := c.State.Host.Endpoints
	if len(eps) == 0 || c.Bridged() {
		return false, nil
	}
	nets := c.store.UserNetworks()
	for _, ep := range eps {
		n, err := nets.Lookup(ep.NetworkID)
		if err != nil {
			return false, fmt.Errorf("network %s: %w", ep.NetworkName, err)
		}
		if !n.Internal {
			return false, nil
		}
	}
	return true, nil
}

// netnsSocketMaker makes sockets in a network namespace on a thread of its
// own that stays there: the upstreams docker dials from the container's
// namespace are dialed from it. Only the socket is made on that thread; the
// connect and the I/O happen on the caller's goroutine (a socket keeps the
// namespace it was made in), so a slow upstream holds up no other query.
type netnsSocketMaker struct {
	reqs chan socketRequest
}

type socketRequest struct {
	domain, typ int
	reply       chan socketReply
}

type socketReply struct {
	fd  int
	err error
}

func newNetnsSocketMaker(pid int) (*netnsSocketMaker, error) {
	m := &netnsSocketMaker{reqs: make(chan socketRequest)}
	ready := make(chan error, 1)
	go func() {
		// Never unlocked: the thread ends with this goroutine, in the
		// container's namespace, and runs nothing else meanwhile.
		runtime.LockOSThread()
		ns, err := netns.GetFromPid(pid)
		if err == nil {
			err = netns.Set(ns)
			ns.Close()
		}
		ready <- err
		if err != nil {
			return
		}
		for r := range m.reqs {
			fd, err := unix.Socket(r.domain, r.typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
			r.reply <- socketReply{fd, err}
		}
	}()
	if err := <-ready; err != nil {
		return nil, fmt.Errorf("a thread in the network namespace of %d: %w", pid, err)
	}
	return m, nil
}

func (m *netnsSocketMaker) close() { close(m.reqs) }

// dial connects to ap over network ("udp" or "tcp") from a socket made in
// the maker's namespace, within ctx.
func (m *netnsSocketMaker) dial(ctx context.Context, network string, ap netip.AddrPort) (net.Conn, error) {
	if m == nil {
		return nil, errors.New("no socket maker in the container's namespace")
	}
	typ := unix.SOCK_DGRAM
	if network == "tcp" {
		typ = unix.SOCK_STREAM
	}
	domain, sa := unix.AF_INET, unix.Sockaddr(&unix.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()})
	if ap.Addr().Is6() && !ap.Addr().Is4In6() {
		domain, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: int(ap.Port()), Addr: ap.Addr().As16()}
	}
	reply := make(chan socketReply, 1)
	select {
	case m.reqs <- socketRequest{domain, typ, reply}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-reply
	if r.err != nil {
		return nil, os.NewSyscallError("socket", r.err)
	}
	f := os.NewFile(uintptr(r.fd), "dns-upstream")
	defer f.Close() // FileConn works on a duplicate
	connectErr := unix.Connect(r.fd, sa)
	if connectErr != nil && connectErr != unix.EINPROGRESS {
		return nil, os.NewSyscallError("connect", connectErr)
	}
	c, err := net.FileConn(f)
	if err != nil {
		return nil, err
	}
	if connectErr == unix.EINPROGRESS {
		if err := waitConnected(ctx, c); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, nil
}

// waitConnected waits for a non-blocking connect of c to finish (c
// writable, then SO_ERROR), as net's own dial does.
func waitConnected(ctx context.Context, c net.Conn) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return errors.New("connect: no descriptor to wait on")
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetWriteDeadline(d)
	}
	stop := context.AfterFunc(ctx, func() { c.SetWriteDeadline(time.Now()) })
	defer stop()
	var soErr error
	err = raw.Write(func(fd uintptr) bool {
		// Writable yet? Asked of the socket itself: the poller's
		// readiness may have come and gone before this wait began.
		p := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(p, 0); err == nil && n == 0 {
			return false
		}
		n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err != nil {
			soErr = err
		} else if n != 0 {
			soErr = unix.Errno(n)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if soErr != nil {
		return os.NewSyscallError("connect", soErr)
	}
	c.SetWriteDeadline(time.Time{})
	return nil
}
