package dns

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"time"
)

// maxUDPQuery is the read buffer of the UDP socket: any datagram fits.
const maxUDPQuery = 65535

// serveUDP reads queries until the socket closes. A known name is
// answered right here; a forwarded query takes an in-flight slot and a
// goroutine, or is dropped when there is none.
func (s *Server) serveUDP(conn net.PacketConn) error {
	buf := make([]byte, maxUDPQuery)
	read, write := packetIO(conn)
	for {
		n, from, err := read(buf)
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		reply, q, forward := s.answerLocally(buf[:n], false)
		if reply != nil {
			write(reply, from) // a lost reply is a lost datagram: the client retries
		}
		if !forward {
			continue
		}
		select {
		case s.inflight <- struct{}{}:
		default:
			s.dropped.Add(1)
			continue
		}
		pkt := append([]byte(nil), buf[:n]...)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.inflight }()
			if reply := s.forward(pkt, q, false); reply != nil {
				write(reply, from)
			}
		}()
	}
}

// packetIO reads and writes conn's datagrams, without allocating the
// peer's address per datagram when conn is a *net.UDPConn.
func packetIO(conn net.PacketConn) (read func([]byte) (int, net.Addr, error), write func([]byte, net.Addr)) {
	uc, ok := conn.(*net.UDPConn)
	if !ok {
		return conn.ReadFrom, func(b []byte, to net.Addr) { conn.WriteTo(b, to) }
	}
	read = func(b []byte) (int, net.Addr, error) {
		n, from, err := uc.ReadFromUDPAddrPort(b)
		return n, addrPort(from), err
	}
	write = func(b []byte, to net.Addr) { uc.WriteToUDPAddrPort(b, netip.AddrPort(to.(addrPort))) }
	return read, write
}

// addrPort is a netip.AddrPort as a net.Addr: a value, no allocation.
type addrPort netip.AddrPort

func (a addrPort) Network() string { return "udp" }
func (a addrPort) String() string  { return netip.AddrPort(a).String() }

// serveTCP accepts connections until the listener closes; each takes a
// connection slot, or is closed at once when there is none.
func (s *Server) serveTCP(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		select {
		case s.connSem <- struct{}{}:
		default:
			s.dropped.Add(1)
			c.Close()
			continue
		}
		if !s.track(c) {
			<-s.connSem
			c.Close()
			continue
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() { <-s.connSem }()
			defer s.untrack(c)
			s.serveConn(c)
		}()
	}
}

// serveConn answers a TCP client's length-prefixed queries one after the
// other, until it is idle for tcpIdleTimeout or sends something malformed.
func (s *Server) serveConn(c net.Conn) {
	for {
		c.SetReadDeadline(time.Now().Add(tcpIdleTimeout))
		pkt, err := readFramed(c)
		if err != nil {
			return
		}
		reply, q, forward := s.answerLocally(pkt, true)
		if forward {
			reply = s.forward(pkt, q, true)
		}
		if reply == nil {
			return // nothing to say to a response or a header-less packet: hang up
		}
		c.SetWriteDeadline(time.Now().Add(s.TryTimeout))
		if err := writeFramed(c, reply); err != nil {
			return
		}
	}
}

func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
	c.Close()
}

// readFramed reads one DNS message of TCP's framing: a two-byte length,
// then that many bytes (RFC 1035 4.2.2). A message shorter than a header
// is refused.
func readFramed(r io.Reader) ([]byte, error) {
	var l [2]byte
	if _, err := io.ReadFull(r, l[:]); err != nil {
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(l[:]))
	if n < headerLen {
		return nil, errShort
	}
	msg := make([]byte, n)
	if _, err := io.ReadFull(r, msg); err != nil {
		return nil, err
	}
	return msg, nil
}

// writeFramed writes msg with TCP's two-byte length, in one write.
func writeFramed(w io.Writer, msg []byte) error {
	if len(msg) > 0xffff {
		return errTooLong
	}
	buf := make([]byte, 2+len(msg))
	binary.BigEndian.PutUint16(buf, uint16(len(msg)))
	copy(buf[2:], msg)
	_, err := w.Write(buf)
	return err
}

var (
	errShort   = errors.New("dns message shorter than its header")
	errTooLong = errors.New("dns message longer than 65535 bytes")
)
