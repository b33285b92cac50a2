// Command i21netprog is the e2e suite's program for rootless networking
// (issue 21), built static: run by the harness as the fake upstream host,
// and put into a test image as the container's client and server.
//
//	i21netprog upstream NAME IP   the upstream: serve ADDR :7, plus a DNS
//	                              server on :53 (UDP and TCP) answering NAME
//	                              (A) with IP, anything else NXDOMAIN; print
//	                              "ready", then "dns PROTO PEER NAME" per query
//	i21netprog serve ADDR         TCP and UDP on ADDR: a TCP connection gets
//	                              "from PEER\n" and then its own bytes back; a
//	                              datagram gets "from PEER DATA"
//	i21netprog tcp ADDR MSG       send MSG, close the write side, print the reply
//	i21netprog udp ADDR MSG       send MSG, print the reply (a few tries)
//	i21netprog bulk ADDR N        send N bytes to serve's TCP, check they come
//	                              back whole after the from line; print "echoed N"
//	i21netprog lookup NAME PROTO  resolve NAME with resolv.conf's servers over
//	                              PROTO (udp or tcp only); print the addresses
package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

func main() {
	if len(os.Args) < 3 {
		fail(fmt.Errorf("usage: i21netprog upstream NAME IP | serve ADDR | tcp|udp ADDR MSG | lookup NAME PROTO"))
	}
	arg := func(i int) string {
		if len(os.Args) <= i {
			fail(fmt.Errorf("%s: missing argument %d", os.Args[1], i-1))
		}
		return os.Args[i]
	}
	switch os.Args[1] {
	case "upstream":
		ip, err := netip.ParseAddr(arg(3))
		if err != nil || !ip.Is4() {
			fail(fmt.Errorf("upstream: IP %q", arg(3)))
		}
		serve(":7")
		serveDNS(strings.ToLower(strings.TrimSuffix(arg(2), "."))+".", ip.As4())
		say("ready")
		select {}
	case "serve":
		serve(arg(2))
		say("ready")
		select {}
	case "tcp":
		fmt.Print(tcpSend(arg(2), arg(3)))
	case "udp":
		fmt.Print(udpSend(arg(2), arg(3)))
	case "bulk":
		n, err := strconv.Atoi(arg(3))
		if err != nil || n < 0 {
			fail(fmt.Errorf("bulk: N %q", arg(3)))
		}
		bulk(arg(2), n)
	case "lookup":
		lookup(arg(2), arg(3))
	default:
		fail(fmt.Errorf("unknown mode %q", os.Args[1]))
	}
}

var outMu sync.Mutex

// say prints one line whole: the harness reads them as they come.
func say(format string, a ...any) {
	outMu.Lock()
	defer outMu.Unlock()
	fmt.Printf(format+"\n", a...)
}

func serve(addr string) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fail(err)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		fail(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				fail(err)
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "from %s\n", c.RemoteAddr())
				io.Copy(c, c)
			}()
		}
	}()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				fail(err)
			}
			pc.WriteTo([]byte(fmt.Sprintf("from %s %s", peer, buf[:n])), peer)
		}
	}()
}

func tcpSend(addr, msg string) string {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, msg); err != nil {
		fail(err)
	}
	c.(*net.TCPConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		fail(fmt.Errorf("after %q: %w", b, err))
	}
	return string(b)
}

// bulk sends n bytes of a pattern while reading the echo, which must be
// the from line and the same bytes.
func bulk(addr string, n int) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	sent := make([]byte, n)
	for i := range sent {
		sent[i] = byte('a' + i%26)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(sent)
		c.(*net.TCPConn).CloseWrite()
		errc <- err
	}()
	got, err := io.ReadAll(c)
	if err != nil {
		fail(fmt.Errorf("after %d bytes back: %w", len(got), err))
	}
	if err := <-errc; err != nil {
		fail(err)
	}
	i := strings.IndexByte(string(got), '\n')
	if i < 0 || !strings.HasPrefix(string(got), "from ") || string(got[i+1:]) != string(sent) {
		fail(fmt.Errorf("sent %d bytes, got %d back (the from line included), not the same", n, len(got)))
	}
	fmt.Printf("echoed %d\n", n)
}

// udpSend tries a few times: the first datagram may meet a neighbour
// entry not there yet.
func udpSend(addr, msg string) string {
	c, err := net.Dial("udp", addr)
	if err != nil {
		fail(err)
	}
	defer c.Close()
	buf := make([]byte, 65536)
	for try := 0; try < 5; try++ {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(time.Second))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n])
		}
	}
	fail(fmt.Errorf("no UDP reply from %s", addr))
	return ""
}

// lookup resolves through Go's own resolver, every query on proto: the
// name server (resolv.conf's) is dialled as it says, the transport forced.
func lookup(name, proto string) {
	if proto != "udp" && proto != "tcp" {
		fail(fmt.Errorf("lookup: PROTO %q, want udp or tcp", proto))
	}
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, proto, addr)
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := r.LookupHost(ctx, name)
	if err != nil {
		fail(err)
	}
	fmt.Println(strings.Join(addrs, " "))
}

// serveDNS answers name's A query with ip, on UDP and TCP port 53.
func serveDNS(name string, ip [4]byte) {
	pc, err := net.ListenPacket("udp", ":53")
	if err != nil {
		fail(err)
	}
	l, err := net.Listen("tcp", ":53")
	if err != nil {
		fail(err)
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, peer, err := pc.ReadFrom(buf)
			if err != nil {
				fail(err)
			}
			if reply := answer(buf[:n], name, ip, "udp", peer); reply != nil {
				pc.WriteTo(reply, peer)
			}
		}
	}()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				fail(err)
			}
			go serveDNSConn(c, name, ip)
		}
	}()
}

// serveDNSConn answers the queries of one TCP connection, each framed by
// its two-byte length.
func serveDNSConn(c net.Conn, name string, ip [4]byte) {
	defer c.Close()
	for {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		var n uint16
		if binary.Read(c, binary.BigEndian, &n) != nil {
			return
		}
		msg := make([]byte, n)
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		reply := answer(msg, name, ip, "tcp", c.RemoteAddr())
		if reply == nil {
			return
		}
		if _, err := c.Write(append(binary.BigEndian.AppendUint16(nil, uint16(len(reply))), reply...)); err != nil {
			return
		}
	}
}

// answer is the reply to one query (nil for what is not one): name's A
// is ip; name has no other record; any other name is NXDOMAIN.
func answer(msg []byte, name string, ip [4]byte, proto string, peer net.Addr) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	say("dns %s %s %s %s", proto, peer, q.Type, q.Name)
	known := strings.ToLower(q.Name.String()) == name
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.StartQuestions()
	b.Question(q)
	if known && q.Type == dnsmessage.TypeA {
		b.StartAnswers()
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "i21netprog:", err)
	os.Exit(1)
}
