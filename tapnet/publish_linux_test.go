package tapnet

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The remote client: a namespace joined to the test namespace by a veth,
// 192.0.2.2 there, 192.0.2.1 here.
var (
	clientOnce sync.Once
	clientNS   netns.NsHandle
	hostSide   = netip.MustParseAddr("192.0.2.1")
	clientAddr = netip.MustParseAddr("192.0.2.2")
)

func remoteClient(t *testing.T) netns.NsHandle {
	t.Helper()
	needNS(t)
	clientOnce.Do(func() {
		var err error
		clientNS = newNS(t, func() {})
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "pub0"}, PeerName: "pub1", PeerNamespace: netlink.NsFd(clientNS)}
		if err = netlink.LinkAdd(veth); err == nil {
			err = addrUp("pub0", hostSide)
		}
		if err == nil {
			inNS(t, clientNS, func() { err = addrUp("pub1", clientAddr) })
		}
		if err != nil {
			t.Fatalf("making the remote client's namespace: %v", err)
		}
	})
	return clientNS
}

func addrUp(name string, a netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(l, &netlink.Addr{IPNet: &net.IPNet{IP: a.AsSlice(), Mask: net.CIDRMask(24, 32)}}); err != nil {
		return err
	}
	return netlink.LinkSetUp(l)
}

// whoAmI serves, in the container, each client its own address as the
// container sees it, over TCP and UDP on port.
func whoAmI(t *testing.T, e *env, port int) {
	t.Helper()
	var ln net.Listener
	var pc net.PacketConn
	var err error
	inNS(t, e.ns, func() {
		if ln, err = net.Listen("tcp", fmt.Sprint(":", port)); err == nil {
			pc, err = net.ListenPacket("udp", fmt.Sprint(":", port))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close(); pc.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprint(c, c.RemoteAddr().(*net.TCPAddr).IP)
			c.Close()
		}
	}()
	go func() {
		buf := make([]byte, 100)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(from.(*net.UDPAddr).IP.String()), from)
		}
	}()
}

// ask dials addr from ns (0: the test's own) and reads what whoAmI says.
func askWho(t *testing.T, ns netns.NsHandle, network, addr string) string {
	t.Helper()
	var c net.Conn
	var err error
	dial := func() { c, err = net.Dial(network, addr) }
	if ns.IsOpen() {
		inNS(t, ns, dial)
	} else {
		dial()
	}
	if err != nil {
		t.Fatalf("dialing %s: %v", addr, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 100)
	if network == "udp" {
		c.Write([]byte("?"))
	}
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("reading from %s: %v", addr, err)
	}
	return string(buf[:n])
}

func TestPublish(t *testing.T) {
	client := remoteClient(t)
	e := newEnv(t, Config{})
	whoAmI(t, e, 8080)
	for _, network := range []string{"tcp", "udp"} {
		port, err := e.stack.Publish(network, netip.IPv4Unspecified(), 0, 8080)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name string
			ns   netns.NsHandle
			dst  netip.Addr
			want string
		}{
			{"remote client keeps its address", client, hostSide, clientAddr.String()},
			{"loopback client shows as the gateway", netns.None(), netip.MustParseAddr("127.0.0.1"), Gateway},
		} {
			t.Run(network+"/"+tc.name, func(t *testing.T) {
				got := askWho(t, tc.ns, network, netip.AddrPortFrom(tc.dst, port).String())
				if got != tc.want {
					t.Fatalf("the container saw %s, want %s", got, tc.want)
				}
			})
		}
	}
}

func TestPublishErrors(t *testing.T) {
	e := newEnv(t, Config{})
	// The sysctl is the test namespace's own.
	if err := os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte("2000"), 0); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		proto string
		port  uint16
		want  string // "" for no error
	}{
		{"tcp", 1999, "ports below 2000 (net.ipv4.ip_unprivileged_port_start)"},
		{"udp", 80, "ports below 2000"},
		{"tcp", 2000, ""},
		{"sctp", 3000, `protocol "sctp"`},
	} {
		_, err := e.stack.Publish(tc.proto, netip.MustParseAddr("127.0.0.1"), tc.port, 80)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("Publish(%s, %d): %v, want %q", tc.proto, tc.port, err, tc.want)
		}
	}
}

func TestPortAllowed(t *testing.T) {
	for _, tc := range []struct {
		port, start uint16
		priv, ok    bool
	}{
		{0, 1024, false, true}, // any free port
		{1023, 1024, false, false},
		{1024, 1024, false, true},
		{80, 1024, true, true},
		{80, 0, false, true},
	} {
		if err := portAllowed(tc.port, tc.start, tc.priv); (err == nil) != tc.ok {
			t.Errorf("portAllowed(%d, %d, %v) = %v, want ok %v", tc.port, tc.start, tc.priv, err, tc.ok)
		}
	}
}

func TestSourceFor(t *testing.T) {
	for _, tc := range []struct{ client, want string }{
		{"192.0.2.2:4000", "192.0.2.2:4000"},
		{"[::ffff:192.0.2.2]:4000", "192.0.2.2:4000"},
		{"127.0.0.1:4000", Gateway + ":0"},
		{"127.1.2.3:4000", Gateway + ":0"},
		{"[::1]:4000", Gateway + ":0"},
		{"[2001:db8::1]:4000", Gateway + ":0"},
		{"10.0.2.15:4000", Gateway + ":0"}, // the host's LAN is the container's subnet
	} {
		src := sourceFor(netip.MustParseAddrPort(tc.client))
		got := netip.AddrPortFrom(netip.AddrFrom4(src.Addr.As4()), src.Port).String()
		if got != tc.want || src.NIC != nicID {
			t.Errorf("sourceFor(%s) = %s on nic %d, want %s on nic %d", tc.client, got, src.NIC, tc.want, nicID)
		}
	}
}
