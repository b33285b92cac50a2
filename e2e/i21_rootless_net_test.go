package e2e

// Issue 21's end-to-end tests: a rootless container's default network, a
// TAP device served by the user-mode stack in its monitor
// (i21_e2ehelpers_test.go has the namespaces and how the user's skiff
// runs in them). TestI21Rootless shares one user, one pair of namespaces
// and one pull across its subtests; each can run alone.

import (
	"fmt"
	"net"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/monitor"
)

func TestI21Rootless(t *testing.T) {
	u := i21e2eUser(t)
	n := i21e2eNewNet(t)
	st := n.store(u, 0o666)
	t.Run("harness", func(t *testing.T) { i21e2eHarness(t, n, u, st) })
	t.Run("addresses", func(t *testing.T) { i21e2eAddresses(t, u, st) })
	t.Run("outbound TCP", func(t *testing.T) { i21e2eOutboundTCP(t, u, st) })
	t.Run("outbound UDP", func(t *testing.T) { i21e2eOutboundUDP(t, u, st) })
	t.Run("DNS", func(t *testing.T) { i21e2eDNS(t, n, u, st) })
	t.Run("-p", func(t *testing.T) { i21e2ePublish(t, n, u, st) })
	t.Run("host loopback", func(t *testing.T) { i21e2eHostLoopback(t, n, u, st) })
	t.Run("privileged port", func(t *testing.T) { i21e2ePrivilegedPort(t, n, u, st) })
	t.Run("tun 0600", func(t *testing.T) { i21e2eTunDenied(t, n, u) })
	t.Run("monitor killed", func(t *testing.T) { i21e2eMonitorKilled(t, n, u, st) })
}

// The harness itself: the upstream answers from outside; the user's
// commands run in outside, with the test's resolv.conf and tun node;
// skiff works there without a network of its own.
func i21e2eHarness(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	if r, err := i21e2eTCP(n.outside, fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort), "hello"); err != nil ||
		!strings.HasPrefix(r, "from "+i21e2eOutsideIP.Addr().String()+":") || !strings.HasSuffix(r, "\nhello") {
		t.Errorf("TCP echo from outside: %q, %v; want from %s:PORT and hello", r, err, i21e2eOutsideIP.Addr())
	}
	if r, err := i21e2eUDP(n.outside, fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort), "hello"); err != nil ||
		!regexp.MustCompile(`^from `+regexp.QuoteMeta(i21e2eOutsideIP.Addr().String())+`:\d+ hello$`).MatchString(r) {
		t.Errorf("UDP echo from outside: %q, %v", r, err)
	}
	for _, proto := range []string{"udp", "tcp"} {
		if a, err := i21e2eLookup(n.outside, i21e2eName, proto); err != nil || len(a) != 1 || a[0] != i21e2eNameIP.String() {
			t.Errorf("%s over %s from outside: %v, %v; want %s", i21e2eName, proto, a, err, i21e2eNameIP)
		}
	}
	w := st.user
	if out, err := w.cmdOut("cat", "/etc/resolv.conf"); err != nil || out != "nameserver "+i21e2eUpstreamIP.Addr().String()+"\n" {
		t.Errorf("the user's /etc/resolv.conf: %q, %v", out, err)
	}
	if out, err := w.cmdOut("readlink", "/proc/self/ns/net"); err != nil || strings.TrimSpace(out) != i21e2eNetnsID(t, n.outside) {
		t.Errorf("the user's network namespace: %q, %v; want outside's %s", out, err, i21e2eNetnsID(t, n.outside))
	}
	if out, err := w.cmdOut("stat", "-c", "%a %u %t:%T", "/dev/net/tun"); err != nil || out != "666 0 a:c8\n" {
		t.Errorf("the user's /dev/net/tun: %q, %v; want 666 0 a:c8 (mode, owner, major:minor in hex)", out, err)
	}
	if out, err := u.cmdOut("readlink", "/proc/self/ns/net"); err != nil || strings.TrimSpace(out) == i21e2eNetnsID(t, n.outside) {
		t.Errorf("without the wrapper the user is in outside too: %q, %v", out, err)
	}
	st.must(t, "info")
	bb := i20e2eBusybox(t, u)
	if r := st.skiff(nil, "run", "--rm", "--network", "none", bb, "echo", "ok"); r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("run --network none in outside: %v", r)
	}
}

// The container's side as the contract gives it: tap0 with 10.0.2.100/24
// and MTU 65520, the default route through 10.0.2.2, 10.0.2.3 the only
// name server; the mode is tapnet, rootless's default (and bridge's).
func i21e2eAddresses(t *testing.T, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	r := st.skiff(nil, "run", "--rm", img, "sh", "-c",
		"ip -4 addr show tap0; echo mtu $(cat /sys/class/net/tap0/mtu); ip route; cat /etc/resolv.conf")
	if r.code != 0 {
		t.Fatalf("run: %v", r)
	}
	for _, want := range []string{
		`(?m)^\s+inet 10\.0\.2\.100/24 `,
		`(?m)^mtu 65520$`,
		`(?m)^default via 10\.0\.2\.2 dev tap0`,
		`(?m)^nameserver 10\.0\.2\.3$`,
	} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("want a line matching %s; %v", want, r)
		}
	}
	if ns := regexp.MustCompile(`(?m)^nameserver .*$`).FindAllString(r.stdout, -1); len(ns) != 1 {
		t.Errorf("name servers %q, want 10.0.2.3 alone", ns)
	}
	id := st.runD(t, img, "sleep", "60")
	if mode := strings.TrimSpace(st.must(t, "inspect", "-f", "{{.HostConfig.NetworkMode}}", id).stdout); mode != "tapnet" {
		t.Errorf("NetworkMode %q, want tapnet", mode)
	}
	st.must(t, "rm", "-f", id)
	// By its name, and by docker's default's: rootless, bridge is tapnet.
	for _, mode := range []string{"tapnet", "bridge"} {
		if r := st.skiff(nil, "run", "--rm", "--network", mode, img, "cat", "/sys/class/net/tap0/mtu"); r.code != 0 || r.stdout != "65520\n" {
			t.Errorf("--network %s: %v", mode, r)
		}
	}
}

// A TCP connection to the upstream: its echo comes back, and the
// upstream saw outside's address, the user's own socket.
func i21e2eOutboundTCP(t *testing.T, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	r := st.skiff(nil, "run", "--rm", img, "i21netprog", "tcp", fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort), "hello-tcp")
	want := regexp.MustCompile(`^from ` + regexp.QuoteMeta(i21e2eOutsideIP.Addr().String()) + `:\d+\nhello-tcp$`)
	if r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("want stdout matching %s; %v", want, r)
	}
	// Many segments each way, through the MTU and the windows.
	r = st.skiff(nil, "run", "--rm", img, "i21netprog", "bulk", fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort), "4194304")
	if r.code != 0 || r.stdout != "echoed 4194304\n" {
		t.Errorf("a 4 MiB echo: %v", r)
	}
}

// A UDP datagram to the upstream and its echo.
func i21e2eOutboundUDP(t *testing.T, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	r := st.skiff(nil, "run", "--rm", img, "i21netprog", "udp", fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort), "hello-udp")
	want := regexp.MustCompile(`^from ` + regexp.QuoteMeta(i21e2eOutsideIP.Addr().String()) + `:\d+ hello-udp$`)
	if r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("want stdout matching %s; %v", want, r)
	}
}

// A name resolved in the container through 10.0.2.3, over UDP and TCP,
// to the upstream resolver's answer; the resolver was asked from
// outside's address; an unknown name is an error, not an answer.
func i21e2eDNS(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	for _, proto := range []string{"udp", "tcp"} {
		r := st.skiff(nil, "run", "--rm", img, "i21netprog", "lookup", i21e2eName, proto)
		if r.code != 0 || r.stdout != i21e2eNameIP.String()+"\n" {
			t.Errorf("lookup %s over %s: want %s; %v", i21e2eName, proto, i21e2eNameIP, r)
		}
		if from := fmt.Sprintf("dns %s %s:", proto, i21e2eOutsideIP.Addr()); !n.upstreamOut.has(from) {
			t.Errorf("the upstream's resolver got no query over %s from %s; its log:\n%s", proto, i21e2eOutsideIP.Addr(), n.upstreamOut)
		}
	}
	r := st.skiff(nil, "run", "--rm", img, "i21netprog", "lookup", "nosuch.i21.test", "udp")
	if r.code == 0 || !strings.Contains(r.stderr, "no such host") {
		t.Errorf("an unknown name: want i21netprog's no such host; %v", r)
	}
	r = st.skiff(nil, "run", "--rm", img, "nslookup", i21e2eName)
	if r.code != 0 || !strings.Contains(r.stdout, i21e2eNameIP.String()) {
		t.Errorf("busybox nslookup %s: want %s; %v", i21e2eName, i21e2eNameIP, r)
	}
}

// -p HOSTPORT:80 and HOSTPORT:80/udp, reached from outside and from the
// upstream: the container sees each client's real address, a loopback
// client's as 10.0.2.2.
func i21e2ePublish(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	hp := i21e2eFreePort(t, n.outside)
	id := st.runD(t, "-p", fmt.Sprintf("%d:80", hp), "-p", fmt.Sprintf("%d:80/udp", hp), img, "i21netprog", "serve", ":80")
	outside := i21e2eOutsideIP.Addr().String()
	for _, c := range []struct {
		name     string
		from     *i14e2eNetns
		proto    string
		addr     string
		wantPeer string
	}{
		{"TCP from outside's address", n.outside, "tcp", fmt.Sprintf("%s:%d", outside, hp), outside},
		{"TCP from the upstream", n.upstream, "tcp", fmt.Sprintf("%s:%d", outside, hp), i21e2eUpstreamIP.Addr().String()},
		{"TCP from loopback", n.outside, "tcp", fmt.Sprintf("127.0.0.1:%d", hp), "10.0.2.2"},
		{"UDP from the upstream", n.upstream, "udp", fmt.Sprintf("%s:%d", outside, hp), i21e2eUpstreamIP.Addr().String()},
		{"UDP from loopback", n.outside, "udp", fmt.Sprintf("127.0.0.1:%d", hp), "10.0.2.2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var reply, sep string
			var err error
			if c.proto == "tcp" {
				reply, err = i21e2eTCP(c.from, c.addr, "hello-p")
				sep = "\n"
			} else {
				reply, err = i21e2eUDP(c.from, c.addr, "hello-p")
				sep = " "
			}
			want := regexp.MustCompile(`^from ` + regexp.QuoteMeta(c.wantPeer) + `:\d+` + sep + `hello-p$`)
			if err != nil || !want.MatchString(reply) {
				t.Errorf("reply %q, %v; want it to match %s", reply, err, want)
			}
		})
	}
	if t.Failed() {
		t.Logf("the container's log: %v", st.skiff(nil, "logs", id))
	}
}

// A listener on outside's 127.0.0.1 is refused at 10.0.2.2 by default
// and reached with tapnet:allow_host_loopback=true, also by the names
// docker and podman give the host.
func i21e2eHostLoopback(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	l := i21e2eLoopbackListener(t, n)
	lp := l.Addr().(*net.TCPAddr).Port
	if r, err := i21e2eTCP(n.outside, l.Addr().String(), "x"); err != nil || r != "host loopback\n" {
		t.Fatalf("the loopback listener from outside: %q, %v", r, err)
	}
	r := st.skiff(nil, "run", "--rm", img, "i21netprog", "tcp", fmt.Sprintf("10.0.2.2:%d", lp), "x")
	if r.code == 0 || strings.Contains(r.stdout, "host loopback") || !strings.Contains(r.stderr, "refused") {
		t.Errorf("10.0.2.2:%d by default: want connection refused; %v", lp, r)
	}
	for _, host := range []string{"10.0.2.2", "host.containers.internal", "host.docker.internal"} {
		r := st.skiff(nil, "run", "--rm", "--network", "tapnet:allow_host_loopback=true", img, "i21netprog", "tcp", fmt.Sprintf("%s:%d", host, lp), "x")
		if r.code != 0 || r.stdout != "host loopback\n" {
			t.Errorf("%s:%d with allow_host_loopback=true: want host loopback; %v", host, lp, r)
		}
	}
}

// A host port below outside's net.ipv4.ip_unprivileged_port_start is
// refused in one line that names the sysctl; nothing listens, nothing
// runs.
func i21e2ePrivilegedPort(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	port := i21e2eUnprivPort - 1
	before := st.must(t, "ps", "-q").stdout
	r := st.skiff(nil, "run", "-d", "-p", fmt.Sprintf("%d:80", port), img, "i21netprog", "serve", ":80")
	if r.code == 0 {
		st.cleanup(t, strings.TrimSpace(r.stdout))
	}
	runError(t, r, 125)
	if !strings.Contains(r.stderr, "ip_unprivileged_port_start") || !strings.Contains(r.stderr, fmt.Sprint(port)) {
		t.Errorf("want the error to name the port %d and net.ipv4.ip_unprivileged_port_start; %v", port, r)
	}
	if s := i21e2eSockets(t, n.outside, port); len(s) > 0 {
		t.Errorf("sockets on port %d in outside after the refusal: %q", port, s)
	}
	if after := st.must(t, "ps", "-q").stdout; after != before {
		t.Errorf("running containers after the refusal: %q, was %q", after, before)
	}
	// Its own line for its own reason: the port, once allowed, works.
	ok := i21e2eUnprivPort
	if s := i21e2eSockets(t, n.outside, ok); len(s) > 0 {
		t.Skipf("port %d is taken in outside: %q", ok, s)
	}
	st.runD(t, "-p", fmt.Sprintf("%d:80", ok), img, "i21netprog", "serve", ":80")
	if reply, err := i21e2eTCP(n.outside, fmt.Sprintf("%s:%d", i21e2eOutsideIP.Addr(), ok), "x"); err != nil || !strings.HasSuffix(reply, "\nx") {
		t.Errorf("-p %d:80 (= ip_unprivileged_port_start): %q, %v", ok, reply, err)
	}
}

// A /dev/net/tun the user may not open (root's, 0600, as on a host
// without udev): the run fails, one line naming the device and the mode
// it needs; no silent fallback to no network. --network none needs no
// TAP and still runs.
func i21e2eTunDenied(t *testing.T, n *i21e2eNet, u *i20e2eUser) {
	st := n.store(u, 0o600)
	bb := i20e2eBusybox(t, u)
	if out, err := st.user.cmdOut("stat", "-c", "%a %u", "/dev/net/tun"); err != nil || out != "600 0\n" {
		t.Fatalf("the user's /dev/net/tun: %q, %v; want 600 0", out, err)
	}
	before := st.must(t, "ps", "-aq").stdout
	r := st.skiff(nil, "run", "--rm", bb, "echo", "ran")
	runError(t, r, 125)
	if !strings.Contains(r.stderr, "/dev/net/tun") || !strings.Contains(r.stderr, "0666") {
		t.Errorf("want the error line to name /dev/net/tun and the mode it needs, 0666; %v", r)
	}
	if strings.Contains(r.stdout, "ran") {
		t.Errorf("the container ran without its network: %v", r)
	}
	if after := st.must(t, "ps", "-aq").stdout; after != before {
		t.Errorf("run --rm that failed left containers: ps -aq %q, was %q", after, before)
	}
	if r := st.skiff(nil, "run", "--rm", "--network", "none", bb, "echo", "ok"); r.code != 0 || r.stdout != "ok\n" {
		t.Errorf("--network none with a 0600 /dev/net/tun: %v", r)
	}
	if left := i21e2eWaitNoProcs(u); len(left) > 0 {
		t.Errorf("processes of the user 10 s after the failed run:\n%s", strings.Join(left, "\n"))
	}
}

// kill -9 of a container's monitor, which holds the stack: its published
// port's listeners go with it, and no process of the user but the
// container's own is left; rm -f then leaves none.
func i21e2eMonitorKilled(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store) {
	img := i21e2eImage(t, u)
	hp := i21e2eFreePort(t, n.outside)
	id := st.runD(t, "-p", fmt.Sprintf("%d:80", hp), "-p", fmt.Sprintf("%d:80/udp", hp), img, "i21netprog", "serve", ":80")
	addr := fmt.Sprintf("%s:%d", i21e2eOutsideIP.Addr(), hp)
	if reply, err := i21e2eTCP(n.outside, addr, "x"); err != nil || !strings.HasSuffix(reply, "\nx") {
		t.Fatalf("-p %d:80 before the kill: %q, %v", hp, reply, err)
	}
	if s := i21e2eSockets(t, n.outside, hp); len(s) == 0 {
		t.Fatalf("no socket on port %d in outside while published: the check below would prove nothing", hp)
	}
	pid := st.inspect(t, id).State.Pid
	mon := monitorOf(t, pid)
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", mon)); !u.ownsPid(mon) || !strings.Contains(string(cmdline), monitor.Arg) {
		t.Fatalf("the container's parent %d (%q) is not a monitor of the user's", mon, cmdline)
	}
	kill9(mon)
	if !waitGone(mon, 5*time.Second) {
		t.Fatalf("monitor %d survived SIGKILL", mon)
	}
	var socks []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if socks = i21e2eSockets(t, n.outside, hp); len(socks) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(socks) > 0 {
		t.Errorf("sockets on the published port %d 5 s after the monitor died:\n%s", hp, strings.Join(socks, "\n"))
	}
	if reply, err := i21e2eTCPOnce(n.outside, addr, "x"); err == nil {
		t.Errorf("%s answered after the monitor died: %q", addr, reply)
	}
	tree := i21e2eTree(pid)
	for _, p := range u.procs() {
		if !tree[i21e2ePidOf(p)] {
			t.Errorf("left after the monitor died, not the container's: %s", p)
		}
	}
	if r := st.skiff(nil, "rm", "-f", id); r.code != 0 {
		t.Errorf("rm -f after the monitor died: %v", r)
	}
	if left := i21e2eWaitNoProcs(u); len(left) > 0 {
		t.Errorf("processes of the user 10 s after rm -f:\n%s", strings.Join(left, "\n"))
	}
}

// ownsPid says whether pid runs as one of the user's uids.
func (u *i20e2eUser) ownsPid(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "Uid:" {
			var id int
			fmt.Sscan(f[1], &id)
			return u.owns(id)
		}
	}
	return false
}

// i21e2eWaitNoProcs waits up to 10 s for the user to have no process
// (zombies aside) and returns those still there.
func i21e2eWaitNoProcs(u *i20e2eUser) []string {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if left := u.procs(); len(left) == 0 || time.Now().After(deadline) {
			return left
		}
	}
}

// i21e2eLoopbackListener listens on outside's 127.0.0.1 (a free port) until
// the test ends and answers each connection "host loopback\n" once its
// client has half-closed (or after 5 s).
func i21e2eLoopbackListener(t *testing.T, n *i21e2eNet) net.Listener {
	t.Helper()
	var l net.Listener
	if err := n.outside.Do(func() (err error) { l, err = net.Listen("tcp", "127.0.0.1:0"); return err }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(5 * time.Second))
				b := make([]byte, 64)
				for {
					if _, err := c.Read(b); err != nil {
						break
					}
				}
				fmt.Fprintf(c, "host loopback\n")
			}()
		}
	}()
	return l
}
