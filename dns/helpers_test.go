package dns

import (
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// records is a Resolver over a map, as the monitor's membership records.
type records map[string][]netip.Addr

func (r records) Lookup(name string) (v4, v6 []netip.Addr, ok bool) {
	addrs, ok := r[name]
	for _, a := range addrs {
		if a.Is4() {
			v4 = append(v4, a)
		} else {
			v6 = append(v6, a)
		}
	}
	return v4, v6, ok
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

// endpoint is a server's UDP and TCP addresses on 127.0.0.1.
type endpoint struct{ udp, tcp string }

func (e endpoint) addr(network string) string {
	if network == "tcp" {
		return e.tcp
	}
	return e.udp
}

// listenLocal binds UDP and TCP on 127.0.0.1 at one random port, as an
// upstream's address serves both.
func listenLocal(t testing.TB) (net.PacketConn, net.Listener) {
	t.Helper()
	for range 16 {
		udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		tcp, err := net.Listen("tcp4", udp.LocalAddr().String())
		if err == nil {
			return udp, tcp
		}
		udp.Close()
	}
	t.Fatal("no port free for both UDP and TCP on 127.0.0.1")
	return nil, nil
}

// serve runs s on 127.0.0.1 until the test ends and checks Serve returns
// nil after Close.
func serve(t testing.TB, s *Server) endpoint {
	t.Helper()
	udp, tcp := listenLocal(t)
	done := make(chan error, 1)
	go func() { done <- s.Serve(udp, tcp) }()
	t.Cleanup(func() {
		s.Close()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve after Close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return within 5s of Close")
		}
	})
	return endpoint{udp.LocalAddr().String(), tcp.Addr().String()}
}

func newQuery(t testing.TB, id uint16, name string, typ dnsmessage.Type) []byte {
	t.Helper()
	m := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: id, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name), Type: typ, Class: dnsmessage.ClassINET}},
	}
	b, err := m.Pack()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// exchangeRaw sends msg to addr over network and returns the raw reply,
// or nil when none comes within wait.
func exchangeRaw(t testing.TB, network, addr string, msg []byte, wait time.Duration) []byte {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(wait))
	if network == "tcp" {
		if err := writeFramed(c, msg); err != nil {
			t.Fatal(err)
		}
		reply, err := readFramed(c)
		if err != nil {
			return nil
		}
		return reply
	}
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		return nil
	}
	return buf[:n]
}

// ask queries name over network and unpacks the reply.
func ask(t testing.TB, network, addr, name string, typ dnsmessage.Type) dnsmessage.Message {
	t.Helper()
	raw := exchangeRaw(t, network, addr, newQuery(t, 0x1234, name, typ), 5*time.Second)
	if raw == nil {
		t.Fatalf("no reply to %s %v over %s", name, typ, network)
	}
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		t.Fatalf("unpacking the reply: %v", err)
	}
	if m.ID != 0x1234 {
		t.Errorf("reply id %#x, want the client's 0x1234", m.ID)
	}
	return m
}

// answerAddrs are a reply's A and AAAA records, in order.
func answerAddrs(m dnsmessage.Message) []string {
	var out []string
	for _, r := range m.Answers {
		switch b := r.Body.(type) {
		case *dnsmessage.AResource:
			out = append(out, netip.AddrFrom4(b.A).String())
		case *dnsmessage.AAAAResource:
			out = append(out, netip.AddrFrom16(b.AAAA).String())
		}
	}
	return out
}

// upstream is a fake DNS server on 127.0.0.1: reply builds its answer to
// a query (nil: stay silent) over "udp" or "tcp".
type upstream struct {
	endpoint
	reply func(q dnsmessage.Message, network string) *dnsmessage.Message
	mu    sync.Mutex
	seen  []string // "network name" of every query
	ids   []uint16
	count atomic.Int32
}

func startUpstream(t testing.TB, reply func(q dnsmessage.Message, network string) *dnsmessage.Message) *upstream {
	t.Helper()
	udp, tcp := listenLocal(t)
	u := &upstream{endpoint: endpoint{udp.LocalAddr().String(), tcp.Addr().String()}, reply: reply}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	go func() {
		buf := make([]byte, 65535)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if out := u.answer(buf[:n], "udp"); out != nil {
				udp.WriteTo(out, from)
			}
		}
	}()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				msg, err := readFramed(c)
				if err != nil {
					return
				}
				if out := u.answer(msg, "tcp"); out != nil {
					writeFramed(c, out)
				}
			}()
		}
	}()
	return u
}

func (u *upstream) answer(raw []byte, network string) []byte {
	var q dnsmessage.Message
	if err := q.Unpack(raw); err != nil || len(q.Questions) != 1 {
		return nil
	}
	u.count.Add(1)
	u.mu.Lock()
	u.seen = append(u.seen, network+" "+q.Questions[0].Name.String())
	u.ids = append(u.ids, q.ID)
	u.mu.Unlock()
	m := u.reply(q, network)
	if m == nil {
		return nil
	}
	m.ID, m.Response, m.Questions = q.ID, true, q.Questions
	b, err := m.Pack()
	if err != nil {
		return nil
	}
	return b
}

func (u *upstream) addrPort() netip.AddrPort { return netip.MustParseAddrPort(u.udp) }

func (u *upstream) queries() string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return strings.Join(u.seen, ",")
}

// answerA is an upstream's reply with one A record per address.
func answerA(q dnsmessage.Message, ss ...string) *dnsmessage.Message {
	m := &dnsmessage.Message{Header: dnsmessage.Header{RecursionAvailable: true}}
	for _, s := range ss {
		m.Answers = append(m.Answers, dnsmessage.Resource{
			Header: dnsmessage.ResourceHeader{Name: q.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 30},
			Body:   &dnsmessage.AResource{A: netip.MustParseAddr(s).As4()},
		})
	}
	return m
}

func rcodeOnly(rc dnsmessage.RCode) *dnsmessage.Message {
	return &dnsmessage.Message{Header: dnsmessage.Header{RCode: rc}}
}

func dialT(t testing.TB, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
