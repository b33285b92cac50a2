package tapnet

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
)

// pingFrom sends one echo request from the container to dst over a raw
// socket and says whether a reply came within a second.
func pingFrom(t *testing.T, e *env, dst string) bool {
	t.Helper()
	var c *icmp.PacketConn
	var err error
	inNS(t, e.ns, func() { c, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0") })
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	m := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: os.Getpid() & 0xffff, Seq: 1, Data: []byte("tapnet")}}
	b, _ := m.Marshal(nil)
	if _, err := c.WriteTo(b, &net.IPAddr{IP: net.ParseIP(dst)}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(buf)
		if err != nil {
			return false
		}
		r, err := icmp.ParseMessage(1, buf[:n])
		if err == nil && r.Type == ipv4.ICMPTypeEchoReply && from.String() == dst {
			return true
		}
	}
}

// TestPing: the stack answers for its own addresses; any other address
// answers only through a ping socket of the caller's, so only where
// net.ipv4.ping_group_range lets the caller have one and the address
// answers.
func TestPing(t *testing.T) {
	e := newEnv(t, Config{})
	const pingRange = "/proc/sys/net/ipv4/ping_group_range" // the test namespace's own
	for _, tc := range []struct {
		dst, groups string
		want        bool
	}{
		{Gateway, "1 0", true},
		{DNS, "1 0", true},
		{upstream.String(), "0 0", true},
		{upstream.String(), "1 0", false}, // no ping sockets: dropped
		{"203.0.113.9", "0 0", false},     // no route: no reply, none made up
	} {
		t.Run(tc.dst+"/"+tc.groups, func(t *testing.T) {
			if err := os.WriteFile(pingRange, []byte(tc.groups), 0); errors.Is(err, syscall.EINVAL) {
				// An unprivileged user's namespace maps gid 0 alone: 1 is
				// not a gid here, so no empty range can be written.
				t.Skipf("writing %q to %s: %v", tc.groups, pingRange, err)
			} else if err != nil {
				t.Fatal(err)
			}
			if got := pingFrom(t, e, tc.dst); got != tc.want {
				t.Fatalf("a reply from %s: %v, want %v", tc.dst, got, tc.want)
			}
		})
	}
}
