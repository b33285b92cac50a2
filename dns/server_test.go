package dns

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

var members = records{
	"web":       addrs("172.18.0.2", "fd00::2"),
	"web.front": addrs("172.18.0.2", "fd00::2"),
	"db":        addrs("172.18.0.3"),
	"api":       addrs("172.18.0.4", "172.18.0.5", "172.18.0.6"),
}

func TestKnownNames(t *testing.T) {
	ep := serve(t, &Server{Names: members})
	tests := []struct {
		name string
		typ  dnsmessage.Type
		want []string
	}{
		{"web.", dnsmessage.TypeA, []string{"172.18.0.2"}},
		{"WeB.", dnsmessage.TypeA, []string{"172.18.0.2"}},
		{"web.front.", dnsmessage.TypeA, []string{"172.18.0.2"}},
		{"web.", dnsmessage.TypeAAAA, []string{"fd00::2"}},
		{"db.", dnsmessage.TypeAAAA, nil}, // known, no IPv6: NOERROR, no record, not forwarded
		{"db.", dnsmessage.TypeMX, nil},
		{"db.", dnsmessage.TypeTXT, nil},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			t.Run(network+" "+tt.name+" "+tt.typ.String(), func(t *testing.T) {
				m := ask(t, network, ep.addr(network), tt.name, tt.typ)
				if m.RCode != dnsmessage.RCodeSuccess || !m.Response || !m.RecursionAvailable || m.Truncated {
					t.Errorf("header %+v, want NOERROR response, RA, not truncated", m.Header)
				}
				if got := answerAddrs(m); !slices.Equal(got, tt.want) {
					t.Errorf("answers %v, want %v", got, tt.want)
				}
				if len(m.Questions) != 1 || m.Questions[0].Name.String() != tt.name {
					t.Errorf("question %v, want %s echoed as asked", m.Questions, tt.name)
				}
				for _, r := range m.Answers {
					if r.Header.TTL != answerTTL {
						t.Errorf("TTL %d, want docker's %d", r.Header.TTL, answerTTL)
					}
				}
			})
		}
	}
}

func TestSharedAliasRotates(t *testing.T) {
	ep := serve(t, &Server{Names: members})
	want := []string{"172.18.0.4", "172.18.0.5", "172.18.0.6"}
	firsts := map[string]bool{}
	for range 3 {
		got := answerAddrs(ask(t, "udp", ep.udp, "api.", dnsmessage.TypeA))
		firsts[got[0]] = true
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !slices.Equal(sorted, want) {
			t.Fatalf("answers %v, want all of %v", got, want)
		}
	}
	if len(firsts) != 3 {
		t.Errorf("first addresses over 3 queries %v, want each address first once", firsts)
	}
}

// A shared alias with more members than fit 512 bytes: as many as fit, TC
// set, so the client asks again over TCP and gets them all.
func TestLargeAliasTruncatedOverUDP(t *testing.T) {
	many := records{"svc": nil}
	for i := range 100 {
		many["svc"] = append(many["svc"], netip.AddrFrom4([4]byte{10, 0, 1, byte(i)}))
	}
	ep := serve(t, &Server{Names: many})
	udp := ask(t, "udp", ep.udp, "svc.", dnsmessage.TypeA)
	if !udp.Truncated || len(udp.Answers) == 0 || len(udp.Answers) >= 100 {
		t.Errorf("over UDP: truncated %v with %d answers, want TC and some of 100", udp.Truncated, len(udp.Answers))
	}
	raw := exchangeRaw(t, "udp", ep.udp, newQuery(t, 1, "svc.", dnsmessage.TypeA), time.Second)
	if len(raw) > minUDPSize {
		t.Errorf("UDP reply of %d bytes, want at most %d", len(raw), minUDPSize)
	}
	tcp := ask(t, "tcp", ep.tcp, "svc.", dnsmessage.TypeA)
	if tcp.Truncated || len(tcp.Answers) != 100 {
		t.Errorf("over TCP: truncated %v with %d answers, want all 100", tcp.Truncated, len(tcp.Answers))
	}
}

func TestForwardUnknownName(t *testing.T) {
	up := startUpstream(t, func(q dnsmessage.Message, network string) *dnsmessage.Message {
		return answerA(q, "93.184.216.34")
	})
	ep := serve(t, &Server{Names: members, Upstreams: []netip.AddrPort{up.addrPort()}})
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			m := ask(t, network, ep.addr(network), "Example.COM.", dnsmessage.TypeA)
			if got := answerAddrs(m); !slices.Equal(got, []string{"93.184.216.34"}) {
				t.Errorf("answers %v, want the upstream's", got)
			}
		})
	}
	if got, want := up.queries(), "udp Example.COM.,tcp Example.COM."; got != want {
		t.Errorf("upstream saw %q, want %q (the client's transport, the name unchanged)", got, want)
	}
	// A known name's other types are answered here, never forwarded.
	ask(t, "udp", ep.udp, "db.", dnsmessage.TypeTXT)
	if n := up.count.Load(); n != 2 {
		t.Errorf("upstream got %d queries, want 2", n)
	}
}

func TestForwardFailover(t *testing.T) {
	silent := func(dnsmessage.Message, string) *dnsmessage.Message { return nil }
	servfail := func(dnsmessage.Message, string) *dnsmessage.Message { return rcodeOnly(dnsmessage.RCodeServerFailure) }
	nxdomain := func(dnsmessage.Message, string) *dnsmessage.Message { return rcodeOnly(dnsmessage.RCodeNameError) }
	good := func(q dnsmessage.Message, _ string) *dnsmessage.Message { return answerA(q, "192.0.2.7") }
	tests := []struct {
		name      string
		upstreams []func(dnsmessage.Message, string) *dnsmessage.Message
		rcode     dnsmessage.RCode
		answers   []string
		calls     []int32
	}{
		{"timeout then next", upstreamsOf(silent, good), dnsmessage.RCodeSuccess, []string{"192.0.2.7"}, []int32{1, 1}},
		{"SERVFAIL then next", upstreamsOf(servfail, good), dnsmessage.RCodeSuccess, []string{"192.0.2.7"}, []int32{1, 1}},
		{"NXDOMAIN relayed", upstreamsOf(nxdomain, good), dnsmessage.RCodeNameError, nil, []int32{1, 0}},
		{"all silent", upstreamsOf(silent, silent), dnsmessage.RCodeServerFailure, nil, []int32{1, 1}},
		{"all fail", upstreamsOf(servfail, servfail), dnsmessage.RCodeServerFailure, nil, []int32{1, 1}},
		{"none", nil, dnsmessage.RCodeServerFailure, nil, nil},
		{"only the first 3", upstreamsOf(silent, silent, silent, good), dnsmessage.RCodeServerFailure, nil, []int32{1, 1, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ups []*upstream
			var aps []netip.AddrPort
			for _, f := range tt.upstreams {
				u := startUpstream(t, f)
				ups = append(ups, u)
				aps = append(aps, u.addrPort())
			}
			ep := serve(t, &Server{Names: members, Upstreams: aps, TryTimeout: 200 * time.Millisecond})
			m := ask(t, "udp", ep.udp, "elsewhere.example.", dnsmessage.TypeA)
			if m.RCode != tt.rcode {
				t.Errorf("rcode %v, want %v", m.RCode, tt.rcode)
			}
			if got := answerAddrs(m); !slices.Equal(got, tt.answers) {
				t.Errorf("answers %v, want %v", got, tt.answers)
			}
			for i, u := range ups {
				if n := u.count.Load(); n != tt.calls[i] {
					t.Errorf("upstream %d asked %d times, want %d", i, n, tt.calls[i])
				}
			}
		})
	}
}

func upstreamsOf(fs ...func(dnsmessage.Message, string) *dnsmessage.Message) []func(dnsmessage.Message, string) *dnsmessage.Message {
	return fs
}

func TestTruncatedUDPRetriedOverTCP(t *testing.T) {
	tests := []struct {
		name      string
		overTCP   int // A records of the TCP answer
		truncated bool
		answers   int
	}{
		{"full answer fits the client", 3, false, 3},
		// 60 records do not fit the client's 512 bytes: it gets the
		// truncated answer and retries over TCP itself.
		{"full answer too large for the client", 60, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := startUpstream(t, func(q dnsmessage.Message, network string) *dnsmessage.Message {
				if network == "udp" {
					m := rcodeOnly(dnsmessage.RCodeSuccess)
					m.Truncated = true
					return m
				}
				var ss []string
				for i := range tt.overTCP {
					ss = append(ss, netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).String())
				}
				return answerA(q, ss...)
			})
			ep := serve(t, &Server{Upstreams: []netip.AddrPort{up.addrPort()}})
			m := ask(t, "udp", ep.udp, "big.example.", dnsmessage.TypeA)
			if m.Truncated != tt.truncated || len(m.Answers) != tt.answers {
				t.Errorf("truncated %v with %d answers, want %v with %d", m.Truncated, len(m.Answers), tt.truncated, tt.answers)
			}
			if got, want := up.queries(), "udp big.example.,tcp big.example."; got != want {
				t.Errorf("upstream saw %q, want %q", got, want)
			}
		})
	}
}

func TestTCPPipelinedQueries(t *testing.T) {
	ep := serve(t, &Server{Names: members})
	c := dialT(t, "tcp", ep.tcp)
	for i, name := range []string{"web.", "db.", "api."} {
		if err := writeFramed(c, newQuery(t, uint16(i), name, dnsmessage.TypeA)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		raw, err := readFramed(c)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		var m dnsmessage.Message
		if err := m.Unpack(raw); err != nil || m.ID != uint16(i) || len(m.Answers) == 0 {
			t.Errorf("reply %d: id %d, %d answers, %v", i, m.ID, len(m.Answers), err)
		}
	}
}

func TestMalformedInput(t *testing.T) {
	up := startUpstream(t, func(q dnsmessage.Message, _ string) *dnsmessage.Message { return answerA(q, "192.0.2.1") })
	ep := serve(t, &Server{Names: members, Upstreams: []netip.AddrPort{up.addrPort()}})
	valid := newQuery(t, 7, "web.", dnsmessage.TypeA)
	withHeader := func(qd uint16, flags uint16, rest []byte) []byte {
		b := []byte{0, 7, byte(flags >> 8), byte(flags), byte(qd >> 8), byte(qd), 0, 0, 0, 0, 0, 0}
		return append(b, rest...)
	}
	tests := []struct {
		name  string
		pkt   []byte
		rcode dnsmessage.RCode
		reply bool
	}{
		{"empty", nil, 0, false},
		{"shorter than a header", []byte{1, 2, 3, 4, 5}, 0, false},
		{"a response", withHeader(1, 0x8000, valid[12:]), 0, false},
		{"no question", withHeader(0, 0, nil), dnsmessage.RCodeFormatError, true},
		{"two questions", withHeader(2, 0, append(slices.Clone(valid[12:]), valid[12:]...)), dnsmessage.RCodeFormatError, true},
		{"question cut short", valid[:len(valid)-3], dnsmessage.RCodeFormatError, true},
		{"label past the end", withHeader(1, 0, []byte{63, 'a', 'b'}), dnsmessage.RCodeFormatError, true},
		{"compression loop", withHeader(1, 0, []byte{0xc0, 12, 0, 1, 0, 1}), dnsmessage.RCodeFormatError, true},
		{"opcode STATUS", withHeader(1, 2<<11, valid[12:]), dnsmessage.RCodeNotImplemented, true},
		{"additional count lies", append(slices.Clone(valid[:10]), 0, 5), dnsmessage.RCodeFormatError, true},
	}
	for _, network := range []string{"udp", "tcp"} {
		for _, tt := range tests {
			if network == "tcp" && len(tt.pkt) < headerLen {
				continue // TCP refuses those by their length: see below
			}
			t.Run(network+" "+tt.name, func(t *testing.T) {
				raw := exchangeRaw(t, network, ep.addr(network), tt.pkt, 300*time.Millisecond)
				if !tt.reply {
					if raw != nil {
						t.Errorf("got a reply %x, want none", raw)
					}
					return
				}
				var p dnsmessage.Parser
				h, err := p.Start(raw)
				if err != nil || h.RCode != tt.rcode || !h.Response || h.ID != 7 {
					t.Errorf("reply header %+v (%v), want %v to id 7", h, err, tt.rcode)
				}
			})
		}
	}
	t.Run("tcp length below a header", func(t *testing.T) {
		c := dialT(t, "tcp", ep.tcp)
		c.Write([]byte{0, 3, 1, 2, 3})
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if n, err := c.Read(make([]byte, 16)); err == nil {
			t.Errorf("read %d bytes, want the connection closed", n)
		}
	})
	if n := up.count.Load(); n != 0 {
		t.Errorf("upstream got %d malformed queries, want none forwarded", n)
	}
	// Still answering.
	if got := answerAddrs(ask(t, "udp", ep.udp, "web.", dnsmessage.TypeA)); !slices.Equal(got, []string{"172.18.0.2"}) {
		t.Errorf("after malformed input: %v", got)
	}
}

// FuzzAnswerLocally: whatever arrives, the server neither panics nor
// replies to something it could not read a header of.
func FuzzAnswerLocally(f *testing.F) {
	f.Add(newQuery(f, 1, "web.", dnsmessage.TypeA))
	f.Add([]byte{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0xc0, 12})
	s := &Server{Names: members}
	f.Fuzz(func(t *testing.T, pkt []byte) {
		for _, tcp := range []bool{false, true} {
			reply, _, _ := s.answerLocally(pkt, tcp, nil)
			if len(pkt) < headerLen && reply != nil {
				t.Errorf("reply to %d bytes", len(pkt))
			}
		}
	})
}

func TestCloseStopsForwarding(t *testing.T) {
	up := startUpstream(t, func(dnsmessage.Message, string) *dnsmessage.Message { return nil })
	s := &Server{Upstreams: []netip.AddrPort{up.addrPort()}, TryTimeout: time.Minute}
	udp, tcp := listenLocal(t)
	done := make(chan error, 1)
	go func() { done <- s.Serve(udp, tcp) }()
	c := dialT(t, "udp", udp.LocalAddr().String())
	c.Write(newQuery(t, 1, "slow.example.", dnsmessage.TypeA))
	for up.count.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	s.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Serve returned %v after Close, want at once", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Serve still running 5s after Close with a query in flight")
	}
	if err := s.Serve(udp, tcp); err != ErrServing {
		t.Errorf("second Serve: %v, want ErrServing", err)
	}
}

func TestRedirectRules(t *testing.T) {
	got := RedirectRules(40123)
	for _, want := range []string{
		"type nat hook output priority dstnat",
		"ip daddr 127.0.0.11 udp dport 53 dnat to 127.0.0.11:40123",
		"ip daddr 127.0.0.11 tcp dport 53 dnat to 127.0.0.11:40123",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("rules lack %q:\n%s", want, got)
		}
	}
}

// Forwarded queries leave through the caller's Dial when it sets one.
func TestForwardThroughDial(t *testing.T) {
	up := startUpstream(t, func(q dnsmessage.Message, _ string) *dnsmessage.Message { return answerA(q, "192.0.2.9") })
	var dials atomic.Int32
	dial := func(ctx context.Context, network, address string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, network, address)
	}
	ep := serve(t, &Server{Upstreams: []netip.AddrPort{up.addrPort()}, Dial: dial})
	if got := answerAddrs(ask(t, "udp", ep.udp, "out.example.", dnsmessage.TypeA)); !slices.Equal(got, []string{"192.0.2.9"}) {
		t.Errorf("answers %v", got)
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("Dial called %d times, want 1", n)
	}
}

// An upstream's UDP answer larger than the server reads (a client that
// advertised 65,000 bytes): retried over TCP; when TCP fails too, the
// client gets a clean truncated reply and asks over TCP itself.
func TestOversizedUDPAnswer(t *testing.T) {
	big := func(q dnsmessage.Message, network string) *dnsmessage.Message {
		if network == "tcp" {
			return nil // TCP silent: the fallback fails
		}
		var ss []string
		for i := range 300 { // about 300*16 bytes: more than maxUDPAnswer
			ss = append(ss, netip.AddrFrom4([4]byte{203, 0, byte(i >> 8), byte(i)}).String())
		}
		return answerA(q, ss...)
	}
	up := startUpstream(t, big)
	ep := serve(t, &Server{Upstreams: []netip.AddrPort{up.addrPort()}, TryTimeout: 300 * time.Millisecond})
	q := dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0x1234, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName("huge.example."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}
	var opt dnsmessage.ResourceHeader
	opt.SetEDNS0(65000, dnsmessage.RCodeSuccess, false)
	q.Additionals = []dnsmessage.Resource{{Header: opt, Body: &dnsmessage.OPTResource{}}}
	pkt, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	raw := exchangeRaw(t, "udp", ep.udp, pkt, 3*time.Second)
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		t.Fatalf("reply %d bytes: %v", len(raw), err)
	}
	if !m.Truncated || len(m.Answers) != 0 || m.ID != 0x1234 || len(m.Questions) != 1 {
		t.Errorf("reply %+v with %d answers, want an empty truncated answer to id 0x1234", m.Header, len(m.Answers))
	}
	if got, want := up.queries(), "udp huge.example.,tcp huge.example."; got != want {
		t.Errorf("upstream saw %q, want %q", got, want)
	}
}
