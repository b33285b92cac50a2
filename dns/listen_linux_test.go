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

// Listen in a network namespace of the test's own, as the monitor will in
// the container's: one port for UDP and TCP on 127.0.0.11, both answering.
func TestListenInOwnNamespace(t *testing.T) {
	errs := make(chan error, 1)
	skip := make(chan string, 1)
	go func() {
		// The thread is left in the namespace and dies with the goroutine
		// (no UnlockOSThread): no other goroutine ever runs on it.
		err := errors.New("a helper's t.Fatal ended the namespace's goroutine")
		defer func() { errs <- err }()
		runtime.LockOSThread()
		err = inNewNetns(t, skip)
	}()
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if len(skip) > 0 {
		t.Skip(<-skip)
	}
}

// inNewNetns runs on its own thread: t.Skip would end that goroutine, not
// the test, so a missing privilege goes back on skip.
func inNewNetns(t *testing.T, skip chan<- string) error {
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		skip <- fmt.Sprintf("no network namespace of our own: %v", err)
		return nil
	}
	if out, err := exec.Command("ip", "link", "set", "lo", "up").CombinedOutput(); err != nil {
		skip <- fmt.Sprintf("ip link set lo up: %v: %s", err, out)
		return nil
	}
	udp, tcp, port, err := Listen()
	if err != nil {
		return err
	}
	if got := tcp.Addr().(*net.TCPAddr).Port; got != int(port) || udp.LocalAddr().(*net.UDPAddr).Port != int(port) {
		return fmt.Errorf("ports udp %v tcp %v, want both %d", udp.LocalAddr(), tcp.Addr(), port)
	}
	s := &Server{Names: members}
	done := make(chan error, 1)
	go func() { done <- s.Serve(udp, tcp) }()
	defer func() { s.Close(); <-done }()
	addr := net.JoinHostPort(Address.String(), strconv.Itoa(int(port)))
	for _, network := range []string{"udp", "tcp"} {
		// exchangeRaw dials on this locked thread: inside the namespace.
		raw := exchangeRaw(t, network, addr, newQuery(t, 9, "web.", dnsmessage.TypeA), 2*time.Second)
		var m dnsmessage.Message
		if err := m.Unpack(raw); err != nil {
			return fmt.Errorf("%s reply from %s: %w", network, addr, err)
		}
		if got := answerAddrs(m); !slices.Equal(got, []string{"172.18.0.2"}) {
			return fmt.Errorf("%s answers %v", network, got)
		}
	}
	return nil
}
