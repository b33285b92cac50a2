package tapnet

import (
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"testing"

	"golang.org/x/net/dns/dnsmessage"
)

// echoTCP serves TCP echo on addr:0 until the test ends.
func echoTCP(t *testing.T, addr netip.Addr) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	serveTCP(ln, func(c net.Conn) { io.Copy(c, c) })
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// serveTCP runs handle on each connection to ln, then closes it, until ln
// is closed.
func serveTCP(ln net.Listener, handle func(net.Conn)) {
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
}

// serveUDP answers each datagram to pc with reply's, until pc is closed.
func serveUDP(pc *net.UDPConn, reply func([]byte) []byte) {
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			pc.WriteToUDPAddrPort(reply(buf[:n]), from)
		}
	}()
}

// echoUDP serves UDP echo on addr:0 until the test ends.
func echoUDP(t *testing.T, addr netip.Addr) netip.AddrPort {
	t.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(addr, 0)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	serveUDP(pc, func(b []byte) []byte { return b })
	return pc.LocalAddr().(*net.UDPAddr).AddrPort()
}

// testAnswer is the one address the test resolver gives every A query.
var testAnswer = [4]byte{192, 0, 2, 99}

func answer(query []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true})
	b.StartQuestions()
	b.Question(q)
	b.StartAnswers()
	b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: testAnswer})
	out, _ := b.Finish()
	return out
}

// resolver serves answer over UDP and TCP on the same port of addr.
func resolver(t *testing.T, addr netip.Addr) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		t.Fatal(err)
	}
	ap := ln.Addr().(*net.TCPAddr).AddrPort()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	serveUDP(pc, answer)
	serveTCP(ln, func(c net.Conn) {
		for {
			q, err := readTCPMsg(c)
			if err != nil {
				return
			}
			writeTCPMsg(c, answer(q))
		}
	})
	return ap
}

func readTCPMsg(r io.Reader) ([]byte, error) {
	var n [2]byte
	if _, err := io.ReadFull(r, n[:]); err != nil {
		return nil, err
	}
	b := make([]byte, binary.BigEndian.Uint16(n[:]))
	_, err := io.ReadFull(r, b)
	return b, err
}

func writeTCPMsg(w io.Writer, m []byte) error {
	_, err := w.Write(binary.BigEndian.AppendUint16(nil, uint16(len(m))))
	if err == nil {
		_, err = w.Write(m)
	}
	return err
}

func query(t *testing.T, id uint16, name string) []byte {
	t.Helper()
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: id, RecursionDesired: true})
	b.StartQuestions()
	b.Question(dnsmessage.Question{Name: dnsmessage.MustNewName(name), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET})
	m, err := b.Finish()
	if err != nil {
		t.Fatal(err)
	}
	return m
}
