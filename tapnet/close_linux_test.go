package tapnet

import (
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCloseLeavesNothing: a Stack with an open outbound TCP connection, a
// UDP flow, a published port and a connection through it, once closed,
// leaves no goroutine, no fd and no listener.
func TestCloseLeavesNothing(t *testing.T) {
	needNS(t)
	tcpSrv, udpSrv := echoTCP(t, upstream), echoUDP(t, upstream)
	settle()
	goroutines, fds := runtime.NumGoroutine(), countFDs(t)
	before := fdLinks()

	e := newEnvNoCleanup(t, Config{})
	if len(e.stack.stops) == 0 {
		t.Error("found no fdbased stop eventfd: gVisor's layout moved (stopfd_linux.go)")
	}
	var conns []net.Conn
	for _, d := range []struct{ network, addr string }{{"tcp", tcpSrv.String()}, {"udp", udpSrv.String()}} {
		c, err := e.dial(t, d.network, d.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := roundTrip(c, []byte("x")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	port, err := e.stack.Publish("tcp", netip.MustParseAddr("127.0.0.1"), 0, 9)
	if err != nil {
		t.Fatal(err)
	}
	published := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), port).String()
	pc, err := net.Dial("tcp", published)
	if err != nil {
		t.Fatal(err)
	}
	conns = append(conns, pc)

	if err := e.stack.Close(); err != nil {
		t.Fatal(err)
	}
	e.ns.Close()
	for _, c := range conns {
		c.Close()
	}
	if c, err := net.Dial("tcp", published); err == nil {
		c.Close()
		t.Errorf("%s still accepts after Close", published)
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
		settle()
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after Close, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
	}
	if n := countFDs(t); n > fds {
		t.Errorf("%d fds after Close, %d before: %v, before %v", n, fds, fdLinks(), before)
	}
	if err := e.stack.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
}

func settle() {
	runtime.GC()
	time.Sleep(50 * time.Millisecond)
}

// countFDs counts the fds but pipes (Go's splice keeps a pool of them for
// the echo servers' io.Copy).
func countFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); !strings.HasPrefix(l, "anon_inode:[eventpoll]") && !strings.HasPrefix(l, "pipe:") {
			n++
		}
	}
	return n
}

func fdLinks() []string {
	ents, _ := os.ReadDir("/proc/self/fd")
	var l []string
	for _, e := range ents {
		t, _ := os.Readlink("/proc/self/fd/" + e.Name())
		l = append(l, e.Name()+"="+t)
	}
	return l
}
