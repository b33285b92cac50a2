package network

// Test helpers: every test that touches links or nftables runs in a child
// of the test binary cloned into a network namespace of its own, so the
// whole process (every thread, every socket the package opens) is there
// and never in the host's; the parent only reports the child's result.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
)

const netnsEnv = "SKIFF_NETWORK_TEST_NETNS"

// inFreshNetns is true in the child, where the test's body runs with lo
// up; in the parent it runs the child and is false (the test is done).
func inFreshNetns(tb testing.TB) bool {
	tb.Helper()
	if os.Getenv(netnsEnv) == tb.Name() {
		if err := LoopbackUp(); err != nil {
			tb.Fatal(err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		tb.Skip("needs root: a network namespace of its own")
	}
	args := []string{"-test.run=^" + tb.Name() + "$", "-test.count=1", "-test.v"}
	if _, ok := tb.(*testing.B); ok {
		args = []string{"-test.run=^$", "-test.bench=^" + tb.Name() + "$", "-test.count=1", "-test.benchmem"}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), netnsEnv+"="+tb.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("%s in its own netns: %v\n%s", tb.Name(), err, out)
	}
	if testing.Verbose() {
		tb.Logf("%s", out)
	}
	return false
}

// fakeContainer is a `sleep` in a network namespace of its own: what
// Attach wires, killed (by its pid) at the test's end.
func fakeContainer(t testing.TB) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	// No Pdeathsig: it fires when the forking thread exits, and
	// inNetnsOf's locked threads do exit.
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd.Process.Pid
}

// inNetnsOf runs fn on a thread in pid's network namespace: sockets fn
// opens stay there after the thread leaves.
func inNetnsOf(pid int, fn func() error) error {
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // not unlocked: Go drops the thread, whatever its namespace
		ns, err := netns.GetFromPid(pid)
		if err != nil {
			errs <- err
			return
		}
		defer ns.Close()
		if err := netns.Set(ns); err != nil {
			errs <- err
			return
		}
		errs <- fn()
	}()
	return <-errs
}

// serveGreeting listens on port in pid's namespace and answers every
// connection with greeting, until the test ends.
func serveGreeting(t *testing.T, pid int, port int, greeting string) {
	t.Helper()
	var ln net.Listener
	err := inNetnsOf(pid, func() (err error) {
		ln, err = net.Listen("tcp4", fmt.Sprintf("0.0.0.0:%d", port))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			fmt.Fprintf(c, "%s from %s\n", greeting, c.RemoteAddr())
			c.Close()
		}
	}()
}

// readGreeting dials addr and returns the first line it gets.
func readGreeting(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	b := make([]byte, 200)
	n, err := c.Read(b)
	if err != nil {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return strings.TrimSpace(string(b[:n])), nil
}
