package tapnet

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

const (
	dialTimeout = 30 * time.Second
	// udpIdle ends a UDP flow nobody used for this long (conntrack's
	// nf_conntrack_udp_timeout_stream is 120s; a stream is the common case).
	udpIdle = 120 * time.Second
)

// target is where the container's connection to dst goes on the host: the
// address itself, the host's loopback for Gateway with HostLoopback, "dns"
// for 10.0.2.3:53; ok false refuses it. Nothing else reaches the host's
// loopback: a container must not reach the user's local services unasked.
func (s *Stack) target(dst netip.AddrPort) (addr string, ok bool) {
	a := dst.Addr()
	switch {
	case a == dnsAddr:
		return "dns", dst.Port() == 53 && len(s.cfg.Resolvers) > 0
	case a == gatewayAddr:
		if !s.cfg.HostLoopback {
			return "", false
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(dst.Port()))), true
	case a.IsLoopback(), a.IsUnspecified(), a.IsMulticast(), a == netip.AddrFrom4([4]byte{255, 255, 255, 255}),
		containerPfx.Masked().Contains(a):
		return "", false
	}
	return dst.String(), true
}

// dstOf is where the container's packet was going.
func dstOf(id stack.TransportEndpointID) netip.AddrPort {
	a, _ := netip.AddrFromSlice(id.LocalAddress.AsSlice())
	return netip.AddrPortFrom(a, id.LocalPort)
}

// forwardTCP carries one connection of the container: dial first, then
// accept the SYN, so a refused or unreachable destination is a RST for the
// container as it would be on a real network.
func (s *Stack) forwardTCP(r *tcp.ForwarderRequest) {
	if !s.enter() {
		r.Complete(true)
		return
	}
	defer s.leave()
	addr, ok := s.target(dstOf(r.ID()))
	if !ok {
		r.Complete(true)
		return
	}
	out, err := s.dialTCP(addr)
	if err != nil {
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	r.Complete(false)
	if terr != nil {
		out.Close()
		return
	}
	s.splice(gonet.NewTCPConn(&wq, ep), out)
}

// dialTCP dials addr, or for "dns" each resolver in turn until one answers.
func (s *Stack) dialTCP(addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout}
	if addr != "dns" {
		return d.DialContext(s.ctx, "tcp", addr)
	}
	var errs []error
	for _, r := range s.cfg.Resolvers {
		c, err := d.DialContext(s.ctx, "tcp", r.String())
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

// splice copies both ways until both sides finished, passing a half close
// on (a client's shutdown(SHUT_WR) is how many protocols say "done").
func (s *Stack) splice(a, b net.Conn) { s.pair(a, b, copyHalf) }

// pair runs copy both ways between a and b, held for Close, and closes
// both when both directions ended.
func (s *Stack) pair(a, b net.Conn, copy func(dst, src net.Conn)) {
	if !s.hold(a) || !s.hold(b) {
		a.Close()
		b.Close()
		return
	}
	defer func() {
		a.Close()
		b.Close()
		s.release(a)
		s.release(b)
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		copy(b, a)
	}()
	copy(a, b)
	wg.Wait()
}

type closeWriter interface{ CloseWrite() error }

// copyBufSize is one direction's copy buffer: 256 KiB moves a bulk stream
// in a few large writes (io.Copy's 32 KiB, through the net.Conn's
// ReaderFrom, costs a syscall and a stack round per 32 KiB).
const copyBufSize = 256 << 10

func copyHalf(dst, src net.Conn) {
	// The wrappers hide ReaderFrom and WriterTo, which would ignore buf.
	buf := make([]byte, copyBufSize)
	if _, err := io.CopyBuffer(struct{ io.Writer }{dst}, struct{ io.Reader }{src}, buf); err != nil {
		// An error (reset, Close) ends both directions.
		dst.Close()
		src.Close()
		return
	}
	if cw, ok := dst.(closeWriter); ok {
		cw.CloseWrite()
	}
}

// forwardUDP makes the endpoint of a new flow of the container's datagrams
// at once (it receives the first datagram) and carries the flow on a
// goroutine: to 10.0.2.3:53 answered per query, elsewhere through one
// connected socket of the caller's.
func (s *Stack) forwardUDP(r *udp.ForwarderRequest) {
	addr, ok := s.target(dstOf(r.ID()))
	if !ok || !s.enter() {
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		s.leave()
		return
	}
	in := gonet.NewUDPConn(&wq, ep)
	go func() {
		defer s.leave()
		if addr == "dns" {
			s.serveDNS(in)
			return
		}
		out, err := net.Dial("udp", addr)
		if err != nil {
			in.Close()
			return
		}
		s.pipeUDP(in, out)
	}()
}

// pipeUDP copies datagrams both ways until the flow is idle for udpIdle
// or Close.
func (s *Stack) pipeUDP(a, b net.Conn) {
	var last idleClock
	last.touch()
	s.pair(a, b, func(dst, src net.Conn) { copyDatagrams(dst, src, &last) })
}

// idleClock is a flow's last datagram in either direction, so a flow that
// only sends is not ended by its silent other half.
type idleClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *idleClock) touch() { c.mu.Lock(); c.t = time.Now(); c.mu.Unlock() }
func (c *idleClock) idle() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Since(c.t)
}

func copyDatagrams(dst, src net.Conn, last *idleClock) {
	defer func() { dst.Close(); src.Close() }()
	buf := make([]byte, MTU)
	for {
		src.SetReadDeadline(time.Now().Add(udpIdle))
		n, err := src.Read(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && last.idle() < udpIdle {
				continue
			}
			return
		}
		last.touch()
		if _, err := dst.Write(buf[:n]); err != nil && !isTransient(err) {
			return
		}
	}
}

// isTransient: an ICMP error (ECONNREFUSED from a closed port) on a
// connected UDP socket fails one write, not the flow.
func isTransient(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
