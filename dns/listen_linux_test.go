package dns

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"
)

// inOwnNetns runs fn on a thread in a network namespace of the test's own
// with lo up, as the monitor's thread in the container's. The thread is
// left in the namespace and dies with its goroutine (no UnlockOSThread):
// no other goroutine ever runs on it. fn runs off the test's goroutine:
// it reports failures by its error.
func inOwnNetns(t *testing.T, fn func() error) {
	t.Helper()
	errs := make(chan error, 1)
	skip := make(chan string, 1)
	go func() {
		err := errors.New("a helper's t.Fatal ended the namespace's goroutine")
		defer func() { errs <- err }()
		runtime.LockOSThread()
		if uerr := unix.Unshare(unix.CLONE_NEWNET); uerr != nil {
			skip <- fmt.Sprintf("no network namespace of our own: %v", uerr)
			err = nil
			return
		}
		if out, lerr := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); lerr != nil {
			skip <- fmt.Sprintf("ip link set lo up: %v: %s", lerr, out)
			err = nil
			return
		}
		err = fn()
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(skip) > 0 {
		t.Skip(<-skip)
	}
}

// Listen in a namespace of the test's own: one port for UDP and TCP on
// 127.0.0.11, both answering.
func TestListenInOwnNamespace(t *testing.T) {
	inOwnNetns(t, func() error {
		udp, tcp, port, err := Listen()
		if err != nil {
			return err
		}
		if got := tcp.Addr().(*net.TCPAddr).Port; got != int(port) || udp.LocalAddr().(*net.UDPAddr).Port != int(port) {
			return fmt.Errorf("ports udp %v tcp %v, want both %d", udp.LocalAddr(), tcp.Addr(), port)
		}
		stop := serveInNetns(udp, tcp)
		defer stop()
		addr := net.JoinHostPort(Address.String(), strconv.Itoa(int(port)))
		for _, network := range []string{"udp", "tcp"} {
			if err := expectWeb(t, network, addr); err != nil {
				return err
			}
		}
		return nil
	})
}

// serveInNetns serves members on udp and tcp; stop closes and waits.
func serveInNetns(udp net.PacketConn, tcp net.Listener) (stop func()) {
	s := &Server{Names: members}
	done := make(chan error, 1)
	go func() { done <- s.Serve(udp, tcp) }()
	return func() { s.Close(); <-done }
}

// expectWeb asks addr for web's A record over network, from the calling
// thread (inside the namespace).
func expectWeb(t *testing.T, network, addr string) error {
	raw := exchangeRaw(t, network, addr, newQuery(t, 9, "web.", dnsmessage.TypeA), 2*time.Second)
	var m dnsmessage.Message
	if err := m.Unpack(raw); err != nil {
		return fmt.Errorf("%s reply from %s: %w", network, addr, err)
	}
	if got := answerAddrs(m); !slices.Equal(got, []string{"172.18.0.2"}) {
		return fmt.Errorf("%s answers from %s: %v, want 172.18.0.2", network, addr, got)
	}
	return nil
}
