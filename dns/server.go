package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Resolver is the caller's membership records: the addresses of name on
// the container's networks. name is lowercase without a trailing dot; ok
// says the name exists (then its missing family is answered empty, not
// forwarded). Lookup is called from several goroutines at once, and on
// the goroutine that reads the UDP socket: an in-memory read that never
// blocks.
type Resolver interface {
	Lookup(name string) (v4 []netip.Addr, v6 []netip.Addr, ok bool)
}

// Defaults of the Server's bounds.
const (
	DefaultMaxInFlight = 100
	DefaultMaxConns    = 16
	DefaultTryTimeout  = 2 * time.Second
	maxUpstreams       = 3               // resolv.conf's MAXNS, docker's maxExtDNS
	tcpIdleTimeout     = 8 * time.Second // a TCP client's time to send its next query
	answerTTL          = 600             // docker's respTTL
)

// Server is one container's DNS responder. Set its fields, then call
// Serve once; Close stops it.
type Server struct {
	Names     Resolver         // the names of the container's networks
	Upstreams []netip.AddrPort // where other names go, in order (the first 3)

	// Dial connects to an upstream ("udp" or "tcp"). nil is net.Dialer's,
	// in the network namespace of whichever thread runs the forwarding
	// goroutine: the caller sets Dial when its process spans namespaces
	// (a monitor in the host's with one thread in the container's) to
	// choose where forwarded queries leave from.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	MaxInFlight int           // forwarded queries at once (DefaultMaxInFlight)
	MaxConns    int           // TCP connections at once (DefaultMaxConns)
	TryTimeout  time.Duration // deadline of one upstream try (DefaultTryTimeout)

	rotation atomic.Uint32 // advances per answer: the round-robin of a shared alias
	dropped  atomic.Uint64 // queries dropped with every slot taken

	mu       sync.Mutex
	started  bool
	closed   bool
	udp      net.PacketConn
	tcp      net.Listener
	conns    map[net.Conn]struct{}
	inflight chan struct{}
	connSem  chan struct{}
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// ErrServing is returned by a second Serve on one Server.
var ErrServing = errors.New("dns server already serving")

// Serve answers queries on udp and tcp (either may be nil) until Close,
// then returns nil; it returns the first error that stops a listener
// otherwise. Serve owns both sockets and closes them.
func (s *Server) Serve(udp net.PacketConn, tcp net.Listener) error {
	if err := s.start(udp, tcp); err != nil {
		return err
	}
	errs := make(chan error, 2)
	n := 0
	if udp != nil {
		n++
		go func() { errs <- s.serveUDP(udp) }()
	}
	if tcp != nil {
		n++
		go func() { errs <- s.serveTCP(tcp) }()
	}
	var first error
	for range n {
		if err := <-errs; err != nil && first == nil {
			first = err
			s.Close() // one listener broke: stop the other too
		}
	}
	s.wg.Wait()
	return first
}

func (s *Server) start(udp net.PacketConn, tcp net.Listener) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrServing
	}
	s.started = true
	s.udp, s.tcp = udp, tcp
	s.conns = map[net.Conn]struct{}{}
	s.inflight = make(chan struct{}, orDefault(s.MaxInFlight, DefaultMaxInFlight))
	s.connSem = make(chan struct{}, orDefault(s.MaxConns, DefaultMaxConns))
	if s.TryTimeout <= 0 {
		s.TryTimeout = DefaultTryTimeout
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if s.closed { // Close came first
		s.cancel()
		closeAll(udp, tcp)
	}
	return nil
}

// Close stops the server: its sockets and TCP connections close, and
// queries being forwarded give up at once. Serve returns after them.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if !s.started {
		return
	}
	s.cancel()
	closeAll(s.udp, s.tcp)
	for c := range s.conns {
		c.Close()
	}
}

// Dropped is how many queries found every slot taken and got no answer.
func (s *Server) Dropped() uint64 { return s.dropped.Load() }

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func closeAll(udp net.PacketConn, tcp net.Listener) {
	if udp != nil {
		udp.Close()
	}
	if tcp != nil {
		tcp.Close()
	}
}

func orDefault(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// upstreams are the servers a forwarded query tries, at most maxUpstreams.
func (s *Server) upstreams() []netip.AddrPort {
	if len(s.Upstreams) > maxUpstreams {
		return s.Upstreams[:maxUpstreams]
	}
	return s.Upstreams
}
