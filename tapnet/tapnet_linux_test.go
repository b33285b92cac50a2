package tapnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// roundTrip writes msg on c and reads as many bytes back.
func roundTrip(c net.Conn, msg []byte) ([]byte, error) {
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return nil, err
	}
	got := make([]byte, len(msg))
	_, err := io.ReadFull(c, got)
	return got, err
}

func TestOutbound(t *testing.T) {
	e := newEnv(t, Config{})
	for _, tc := range []struct {
		network string
		server  func(*testing.T, netip.Addr) netip.AddrPort
		size    int
	}{
		{"tcp", echoTCP, 1 << 20}, // more than a window: the flow control works
		{"udp", echoUDP, 1200},
	} {
		t.Run(tc.network, func(t *testing.T) {
			srv := tc.server(t, upstream)
			c, err := e.dial(t, tc.network, srv.String())
			if err != nil {
				t.Fatalf("dialing %s from the container: %v", srv, err)
			}
			defer c.Close()
			msg := bytes.Repeat([]byte("tapnet"), tc.size/6)
			got, err := roundTrip(c, msg)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo through the stack: err %v, %d of %d bytes equal", err, len(got), len(msg))
			}
		})
	}
}

// TestRefused: what the container may not reach is refused at once (a RST),
// not left to time out.
func TestRefused(t *testing.T) {
	e := newEnv(t, Config{})
	closed := echoTCP(t, upstream)
	for _, dst := range []string{
		net.JoinHostPort(Gateway, "22"), // the host's loopback without HostLoopback
		net.JoinHostPort(DNS, "80"),     // 10.0.2.3 is DNS only
		"10.0.2.3:53",                   // no resolvers configured
		net.JoinHostPort(upstream.String(), fmt.Sprint(closed.Port()+1)), // the upstream's closed port
	} {
		t.Run(dst, func(t *testing.T) {
			start := time.Now()
			c, err := e.dial(t, "tcp", dst)
			if err == nil {
				c.Close()
				t.Fatalf("dialing %s from the container succeeded", dst)
			}
			if !errors.Is(err, syscall.ECONNREFUSED) || time.Since(start) > 2*time.Second {
				t.Fatalf("dialing %s: %v after %v, want a prompt connection refused", dst, err, time.Since(start))
			}
		})
	}
}

func TestDNS(t *testing.T) {
	needNS(t)
	dead := netip.AddrPortFrom(upstream, 1) // nobody listens: the next resolver answers
	e := newEnv(t, Config{Resolvers: []netip.AddrPort{dead, resolver(t, upstream)}})
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			c, err := e.dial(t, network, net.JoinHostPort(DNS, "53"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			q := query(t, 0x1234, "example.test.")
			var reply []byte
			if network == "udp" {
				c.Write(q)
				buf := make([]byte, 512)
				n, err := c.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				reply = buf[:n]
			} else {
				if err := writeTCPMsg(c, q); err != nil {
					t.Fatal(err)
				}
				if reply, err = readTCPMsg(c); err != nil {
					t.Fatal(err)
				}
			}
			var m dnsmessage.Message
			if err := m.Unpack(reply); err != nil {
				t.Fatal(err)
			}
			if m.ID != 0x1234 || len(m.Answers) != 1 || m.Answers[0].Body.(*dnsmessage.AResource).A != testAnswer {
				t.Fatalf("reply %+v, want id 0x1234 and A %v", m, testAnswer)
			}
		})
	}
}

func TestHostLoopback(t *testing.T) {
	needNS(t)
	srv := echoTCP(t, netip.MustParseAddr("127.0.0.1"))
	dst := net.JoinHostPort(Gateway, fmt.Sprint(srv.Port()))
	for _, tc := range []struct {
		allow bool
		want  error
	}{
		{false, syscall.ECONNREFUSED},
		{true, nil},
	} {
		t.Run(fmt.Sprint("HostLoopback=", tc.allow), func(t *testing.T) {
			e := newEnv(t, Config{HostLoopback: tc.allow})
			c, err := e.dial(t, "tcp", dst)
			if !errors.Is(err, tc.want) {
				t.Fatalf("dialing %s: %v, want %v", dst, err, tc.want)
			}
			if err == nil {
				defer c.Close()
				if got, err := roundTrip(c, []byte("hi")); err != nil || string(got) != "hi" {
					t.Fatalf("echo from the host's loopback: %q, %v", got, err)
				}
			}
		})
	}
}

func TestTunOpenError(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{unix.EACCES, []string{"/dev/net/tun", "Debian's udev default is 0666", "owner ", "uid ", "--network none"}},
		{unix.ENOENT, []string{"modprobe tun"}},
		{unix.EIO, []string{"opening /dev/net/tun: input/output error"}},
	} {
		got := tunOpenError(tc.err).Error()
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("tunOpenError(%v) = %q, want it to say %q", tc.err, got, w)
			}
		}
		if !errors.Is(tunOpenError(tc.err), tc.err) {
			t.Errorf("tunOpenError(%v) does not wrap it", tc.err)
		}
	}
}
