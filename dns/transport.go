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
// answered right here, into a reply buffer reused per query; a forwarded
// query takes an in-flight slot and a goroutine, or is dropped when there
// is none.
func (s *Server) serveUDP(conn net.PacketConn) error {
	buf := make([]byte, maxUDPQuery)
	out := make([]byte, 0, minUDPSize)
	read, write := packetIO(conn)
	for {
		n, from, err := read(buf)
		if err != nil {
			if retry, ret := s.loopErr(err); !retry {
				return ret
			}
			continue
		}
		reply, q, forward := s.answerLocally(buf[:n], false, out)
		if reply != nil {
			write(reply, from) // a lost reply is a lost datagram: the client retries
		}
		if forward {
			s.forwardUDP(buf[:n], q, from, write)
		}
	}
}

// forwardUDP forwards a query on a goroutine of its own if an in-flight
// slot is free, and drops it otherwise. Only a query that goes out is
// copied to the heap (the goroutine's own q and pkt): a flood of dropped
// ones makes no garbage.
func (s *Server) forwardUDP(pkt []byte, q query, from netip.AddrPort, write func([]byte, netip.AddrPort)) {
	select {
	case s.inflight <- struct{}{}:
	default:
		s.dropped.Add(1)
		return
	}
	out := &forwarded{q: q, pkt: append([]byte(nil), pkt...)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.inflight }()
		if reply := s.forward(out.pkt, out.q, false); reply != nil {
			write(reply, from)
		}
	}()
}

// packetIO reads and writes conn's datagrams, the peer as a value: no
// address allocated per datagram when conn is a *net.UDPConn.
func packetIO(conn net.PacketConn) (read func([]byte) (int, netip.AddrPort, error), write func([]byte, netip.AddrPort)) {
	if uc, ok := conn.(*net.UDPConn); ok {
		return uc.ReadFromUDPAddrPort, func(b []byte, to netip.AddrPort) { uc.WriteToUDPAddrPort(b, to) }
	}
	read = func(b []byte) (int, netip.AddrPort, error) {
		n, from, err := conn.ReadFrom(b)
		if ua, ok := from.(*net.UDPAddr); ok {
			return n, ua.AddrPort(), err
		}
		return n, netip.AddrPort{}, err
	}
	write = func(b []byte, to netip.AddrPort) { conn.WriteTo(b, net.UDPAddrFromAddrPort(to)) }
	return read, write
}

// forwarded is a query handed to a forwarding goroutine.
type forwarded struct {
	q   query
	pkt []byte
}

// serveTCP accepts connections until the listener closes; each takes a
// connection slot, or is closed at once when there is none.
func (s *Server) serveTCP(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if retry, ret := s.loopErr(err); !retry {
				return ret
			}
			continue
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
		reply, q, forward := s.answerLocally(pkt, true, nil)
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

// loopErr is what a serve loop's read or accept error means: go on after
// a timeout; end, without an error once the server is closed.
func (s *Server) loopErr(err error) (retry bool, ret error) {
	if s.isClosed() {
		return false, nil
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true, nil
	}
	return false, err
}
