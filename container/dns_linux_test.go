package container

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/net/dns/dnsmessage"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/network"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

const dnsTestEnv = "SKIFF_CONTAINER_DNS_TEST"

// The host's resolver file the tests see (bind-mounted over
// /etc/resolv.conf in their own mount namespace): a server on the
// monitor's loopback, which only the monitor's namespace reaches.
const dnsTestHostResolv = "nameserver 127.0.0.1\nsearch host.example\n"

// inDNSTestNamespaces runs the test's body in a child of the test binary
// with a network namespace of its own (the "host" the monitor serves
// from: nothing reaches the real host's resolvers) and a mount namespace
// where /etc/resolv.conf is dnsTestHostResolv. It is true in the child.
func inDNSTestNamespaces(t *testing.T) bool {
	t.Helper()
	if os.Getenv(dnsTestEnv) == t.Name() {
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			t.Fatal(err)
		}
		fake := filepath.Join(t.TempDir(), "resolv.conf")
		if err := os.WriteFile(fake, []byte(dnsTestHostResolv), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := unix.Mount(fake, spec.ResolvConfPath, "", unix.MS_BIND, ""); err != nil {
			t.Fatal(err)
		}
		if err := network.LoopbackUp(); err != nil {
			t.Fatal(err)
		}
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root: network and mount namespaces of its own")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), dnsTestEnv+"="+t.Name())
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET | syscall.CLONE_NEWNS}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s in its own namespaces: %v\n%s", t.Name(), err, out)
	}
	t.Logf("%s", out)
	return false
}

// dnsFakeInit is a `sleep` in a network namespace of its own with lo up:
// the container's init as serveDNS sees it.
func dnsFakeInit(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	pid := cmd.Process.Pid
	if err := inNetnsOfPid(pid, network.LoopbackUp); err != nil {
		t.Fatal(err)
	}
	return pid
}

// inNetnsOfPid runs fn on a thread in pid's network namespace, which dies
// after (sockets fn makes stay in that namespace).
func inNetnsOfPid(pid int, fn func() error) error {
	errs := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread goes with the goroutine
		ns, err := netns.GetFromPid(pid)
		if err == nil {
			err = netns.Set(ns)
			ns.Close()
		}
		if err != nil {
			errs <- err
			return
		}
		errs <- fn()
	}()
	return <-errs
}

// dnsFakeUpstream answers every A query on 127.0.0.1:53 (UDP and TCP) of
// the calling thread's namespace with addr, until the test ends.
func dnsFakeUpstream(t *testing.T, addr string) {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:53")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp4", "127.0.0.1:53")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close(); tcp.Close() })
	answer := func(q []byte) []byte {
		var m dnsmessage.Message
		if err := m.Unpack(q); err != nil || len(m.Questions) != 1 {
			return nil
		}
		m.Response, m.RecursionAvailable = true, true
		m.Answers = []dnsmessage.Resource{{
			Header: dnsmessage.ResourceHeader{Name: m.Questions[0].Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 30},
			Body:   &dnsmessage.AResource{A: netip.MustParseAddr(addr).As4()},
		}}
		b, _ := m.Pack()
		return b
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := udp.ReadFrom(buf)
			if err != nil {
				return
			}
			if b := answer(buf[:n]); b != nil {
				udp.WriteTo(b, from)
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
				c.SetDeadline(time.Now().Add(5 * time.Second))
				var l [2]byte
				if _, err := c.Read(l[:]); err != nil {
					return
				}
				q := make([]byte, int(l[0])<<8|int(l[1]))
				if _, err := io.ReadFull(c, q); err != nil {
					return
				}
				if b := answer(q); b != nil {
					c.Write(append([]byte{byte(len(b) >> 8), byte(len(b))}, b...))
				}
			}()
		}
	}()
}

// askDNS queries name (type A) at 127.0.0.11:53 over network from pid's
// namespace: the answer's addresses, or "SERVFAIL" and such, or the error.
func askDNS(t *testing.T, pid int, network, name string) string {
	t.Helper()
	q, err := (&dnsmessage.Message{
		Header:    dnsmessage.Header{ID: 0x5151, RecursionDesired: true},
		Questions: []dnsmessage.Question{{Name: dnsmessage.MustNewName(name + "."), Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET}},
	}).Pack()
	if err != nil {
		t.Fatal(err)
	}
	var c net.Conn
	if err := inNetnsOfPid(pid, func() (err error) {
		c, err = net.DialTimeout(network, "127.0.0.11:53", 2*time.Second)
		return err
	}); err != nil {
		return err.Error()
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	var reply []byte
	if network == "tcp" {
		c.Write(append([]byte{byte(len(q) >> 8), byte(len(q))}, q...))
		if _, err := io.ReadFull(c, buf[:2]); err != nil {
			return err.Error()
		}
		n := int(buf[0])<<8 | int(buf[1])
		if _, err := io.ReadFull(c, buf[:n]); err != nil {
			return err.Error()
		}
		reply = buf[:n]
	} else {
		c.Write(q)
		n, err := c.Read(buf)
		if err != nil {
			return err.Error()
		}
		reply = buf[:n]
	}
	var m dnsmessage.Message
	if err := m.Unpack(reply); err != nil {
		return err.Error()
	}
	if m.RCode != dnsmessage.RCodeSuccess {
		return m.RCode.String()
	}
	var out []string
	for _, r := range m.Answers {
		if a, ok := r.Body.(*dnsmessage.AResource); ok {
			out = append(out, netip.AddrFrom4(a.A).String())
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

const (
	dnsTestSelf = "5e1f000000000000000000000000000000000000000000000000000000000000"
	dnsTestWeb1 = "aeb1000000000000000000000000000000000000000000000000000000000000"
	dnsTestWeb2 = "aeb2000000000000000000000000000000000000000000000000000000000000"
)

// dnsTestContainer is a container record on a user network front (internal
// if asked) with two other members sharing the alias web, its resolv.conf
// written as create writes it.
func dnsTestContainer(t *testing.T, internal bool, dnsFlag []string) *Container {
	t.Helper()
	dir := t.TempDir()
	store := Store{Root: filepath.Join(dir, "root"), RunRoot: filepath.Join(dir, "run")}
	nets := store.UserNetworks()
	n, err := nets.Create(network.CreateOptions{Name: "front", Subnet: "10.77.0.0/24", Internal: internal})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []network.Member{
		{ContainerID: dnsTestSelf, Name: "self", Interface: "eth0"},
		{ContainerID: dnsTestWeb1, Name: "web1", Aliases: []string{"web"}},
		{ContainerID: dnsTestWeb2, Name: "web2", Aliases: []string{"web"}},
	} {
		if _, err := nets.Join(n.ID, m); err != nil {
			t.Fatal(err)
		}
	}
	c := &Container{
		State: &state.Container{ID: dnsTestSelf, Name: "self", Host: state.Host{
			NetworkMode: "front", Networks: []string{"front"}, DNS: dnsFlag,
			Endpoints: []state.EndpointConfig{{NetworkID: n.ID, NetworkName: "front"}},
		}},
		Dir:   filepath.Join(dir, "ctr"),
		store: store,
	}
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	resolv := resolvConf(spec.Options{Network: "front", DNS: dnsFlag}, false)
	if err := os.WriteFile(filepath.Join(c.Dir, "resolv.conf"), []byte(resolv), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// The monitor's responder answers in the container's namespace at
// 127.0.0.11:53: the members' names, other names through the upstream
// (the host's loopback one from the monitor's namespace; --dns from the
// container's), nothing forwarded on an --internal network; stopDNS
// leaves no goroutine, socket or thread behind.
func TestServeDNS(t *testing.T) {
	if !inDNSTestNamespaces(t) {
		return
	}
	dnsFakeUpstream(t, "10.8.8.8") // the "host's" resolver, on the monitor's loopback
	for _, tc := range []struct {
		name     string
		internal bool
		dns      []string
		external string
	}{
		{"host's resolver from the monitor's namespace", false, nil, "10.8.8.8"},
		{"--dns from the container's namespace", false, []string{"127.0.0.1"}, "10.9.9.9"},
		{"internal: nothing forwarded", true, nil, "RCodeServerFailure"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pid := dnsFakeInit(t)
			if err := inNetnsOfPid(pid, func() error { dnsFakeUpstream(t, "10.9.9.9"); return nil }); err != nil {
				t.Fatal(err)
			}
			c := dnsTestContainer(t, tc.internal, tc.dns)
			goroutines, fds := runtime.NumGoroutine(), openFDs(t)

			if err := c.serveDNS(pid); err != nil {
				t.Fatal(err)
			}
			for _, network := range []string{"udp", "tcp"} {
				for _, q := range []struct{ name, want string }{
					{"web", "10.77.0.3 10.77.0.4"},
					{"WEB1", "10.77.0.3"},
					{"self", "10.77.0.2"},
					{"web2.front", "10.77.0.4"},
					{"ext.example", tc.external},
				} {
					if got := askDNS(t, pid, network, q.name); got != q.want {
						t.Errorf("%s %s: %s, want %s", network, q.name, got, q.want)
					}
				}
			}
			c.stopDNS()
			c.stopDNS() // twice: nothing left to stop

			if got := askDNS(t, pid, "tcp", "web"); !strings.Contains(got, "refused") {
				t.Errorf("after stopDNS: %s, want the connection refused", got)
			}
			deadline := time.Now().Add(2 * time.Second)
			for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
				time.Sleep(10 * time.Millisecond)
			}
			if n := runtime.NumGoroutine(); n > goroutines {
				buf := make([]byte, 1<<16)
				t.Errorf("%d goroutines after stopDNS, %d before:\n%s", n, goroutines, buf[:runtime.Stack(buf, true)])
			}
			if n := openFDs(t); n > fds {
				t.Errorf("%d open descriptors after stopDNS, %d before", n, fds)
			}
		})
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// A container's rewritten resolv.conf cannot make its monitor ask a
// server on the host's loopback that the host's own file does not list:
// such an entry is dropped, plain ones are the container's own business.
func TestDNSUpstreamsTrustHostEntriesOfTheHostOnly(t *testing.T) {
	if !inDNSTestNamespaces(t) {
		return
	}
	c := dnsTestContainer(t, false, nil)
	got, err := c.dnsUpstreams()
	if err != nil || fmt.Sprint(got) != "[host(127.0.0.1)]" {
		t.Fatalf("upstreams from create's file: %v %v, want [host(127.0.0.1)]", got, err)
	}
	tampered := "nameserver 127.0.0.11\n# ExtServers: [host(127.0.0.2) host(127.0.0.1) 10.1.2.3]\n"
	if err := os.WriteFile(filepath.Join(c.Dir, "resolv.conf"), []byte(tampered), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.dnsUpstreams(); err != nil || fmt.Sprint(got) != "[host(127.0.0.1) 10.1.2.3]" {
		t.Errorf("upstreams from a rewritten file: %v %v, want [host(127.0.0.1) 10.1.2.3]", got, err)
	}
	if err := os.WriteFile(filepath.Join(c.Dir, "resolv.conf"), []byte("nameserver 10.0.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := c.dnsUpstreams(); err != nil || fmt.Sprint(got) != "[host(127.0.0.1)]" {
		t.Errorf("upstreams without the comment: %v %v, want the host's, [host(127.0.0.1)]", got, err)
	}
	c.State.Host.DNS = []string{"127.0.0.1"}
	if got, err := c.dnsUpstreams(); err != nil || fmt.Sprint(got) != "[127.0.0.1]" {
		t.Errorf("upstreams with --dns: %v %v, want [127.0.0.1] (the container's loopback)", got, err)
	}
}

// resolv.conf of a container on a user network names the internal
// resolver, and the config file's dns as the servers behind it.
func TestResolvConfUserNetwork(t *testing.T) {
	got := resolvConf(spec.Options{Network: "front", Default: spec.DNSDefaults{Servers: []string{"10.200.0.2"}}}, false)
	for _, want := range []string{"nameserver 127.0.0.11\n", "options ndots:0\n", "# ExtServers: [10.200.0.2]\n", "(internal resolver)"} {
		if !strings.Contains(got, want) {
			t.Errorf("resolv.conf has no %q:\n%s", want, got)
		}
	}
	if got := resolvConf(spec.Options{Network: "bridge"}, false); strings.Contains(got, "127.0.0.11") {
		t.Errorf("a bridge container's resolv.conf names the internal resolver:\n%s", got)
	}
}

// The socket maker's dial: sockets of the container's namespace, a
// refused TCP connect an error at once, a connect that never completes
// bounded by the context.
func TestNetnsSocketMakerDial(t *testing.T) {
	if !inDNSTestNamespaces(t) {
		return
	}
	pid := dnsFakeInit(t)
	var ln net.Listener
	if err := inNetnsOfPid(pid, func() (err error) {
		ln, err = net.Listen("tcp4", "127.0.0.1:0")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m, err := newNetnsSocketMaker(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer m.close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := m.dial(ctx, "tcp", netip.MustParseAddrPort(ln.Addr().String()))
	if err != nil {
		t.Fatalf("dial the container's listener: %v", err)
	}
	c.Close()
	// The same port in the test's own namespace has no listener: the
	// socket was the container's.
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("the listener is reachable from the monitor's namespace: the test proves nothing")
	}
	start := time.Now()
	if _, err := m.dial(ctx, "tcp", netip.MustParseAddrPort("127.0.0.1:1")); !errors.Is(err, unix.ECONNREFUSED) {
		t.Errorf("dial a closed port: %v, want connection refused", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("a refused connect took %v", d)
	}
	// An address nobody answers (no route in the container's namespace
	// either: unreachable at once, or a timeout within the context).
	short, cancelShort := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancelShort()
	start = time.Now()
	if _, err := m.dial(short, "tcp", netip.MustParseAddrPort("10.255.255.1:53")); err == nil {
		t.Error("dial of an unreachable address succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("an unreachable connect took %v, past its context", d)
	}
}
