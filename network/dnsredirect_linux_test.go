package network

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netns"
)

// A container's 127.0.0.11:53 reaches the responder on its own port over
// UDP and TCP, written again (a restart's new port) it has the new port
// only, and 127.0.0.1:53 stays the container's own.
func TestRedirectDNS(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	pid := fakeContainer(t)
	if err := inNetnsOf(pid, LoopbackUp); err != nil {
		t.Fatal(err)
	}
	first := echoServers(t, pid, "127.0.0.11:0", "first")
	second := echoServers(t, pid, "127.0.0.11:0", "second")
	echoServers(t, pid, "127.0.0.1:53", "own") // the container's own server on :53

	for _, tc := range []struct {
		to   netip.AddrPort
		want string
	}{{first, "first"}, {second, "second"}} {
		if err := RedirectDNS(pid, tc.to); err != nil {
			t.Fatal(err)
		}
		for _, network := range []string{"udp", "tcp"} {
			if got := askFrom(t, pid, network, "127.0.0.11:53"); got != tc.want {
				t.Errorf("%s to 127.0.0.11:53 after the redirect to %s: %q, want %q", network, tc.to, got, tc.want)
			}
			if got := askFrom(t, pid, network, "127.0.0.1:53"); got != "own" {
				t.Errorf("%s to 127.0.0.1:53: %q, want the container's own server", network, got)
			}
		}
	}
	if n := redirectRules(t, pid); n != 2 {
		t.Errorf("%d rules after two redirects, want 2 (one per protocol)", n)
	}
	// Nothing was written in the test's own namespace.
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	if tables, _ := c.ListTables(); len(tables) != 0 {
		t.Errorf("tables in the caller's namespace: %d, want none", len(tables))
	}
	if err := RedirectDNS(pid, netip.MustParseAddrPort("127.0.0.11:0")); err == nil {
		t.Error("a redirect to port 0 was written")
	}
}

// echoServers answers UDP and TCP on addr (port 0: one free for both) in
// pid's namespace with reply, until the test ends; it returns the address.
func echoServers(t *testing.T, pid int, addr, reply string) netip.AddrPort {
	t.Helper()
	var udp net.PacketConn
	var tcp net.Listener
	err := inNetnsOf(pid, func() (err error) {
		if udp, err = net.ListenPacket("udp4", addr); err != nil {
			return err
		}
		tcp, err = net.Listen("tcp4", udp.LocalAddr().String())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	go func() {
		buf := make([]byte, 512)
		for {
			_, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			udp.WriteTo([]byte(reply), from)
		}
	}()
	go func() {
		for {
			c, err := tcp.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(reply))
			c.Close()
		}
	}()
	return netip.MustParseAddrPort(udp.LocalAddr().String())
}

// askFrom sends a datagram (or connects) to addr from pid's namespace and
// returns what comes back.
func askFrom(t *testing.T, pid int, network, addr string) string {
	t.Helper()
	var c net.Conn
	if err := inNetnsOf(pid, func() (err error) {
		c, err = net.DialTimeout(network, addr, 2*time.Second)
		return err
	}); err != nil {
		return fmt.Sprint(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if network == "udp" {
		c.Write([]byte("?"))
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	if err != nil {
		return fmt.Sprint(err)
	}
	return string(buf[:n])
}

func redirectRules(t *testing.T, pid int) int {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	c, err := nftables.New(nftables.WithNetNSFd(int(ns)))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.GetRules(&nftables.Table{Name: dnsRedirectTable, Family: nftables.TableFamilyIPv4}, &nftables.Chain{Name: "output"})
	if err != nil {
		t.Fatal(err)
	}
	return len(rules)
}
