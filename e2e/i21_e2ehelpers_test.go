package e2e

// The harness of the issue-21 tests (rootless networking). Inside the
// suite's own network namespace (i14_netns_test.go) it makes two more:
// "outside", the rootless user's host network, and "upstream", a fake
// host joined to it by a veth pair (192.0.2.0/24, the documentation
// range), outside's default route going through it. The upstream runs
// testdata/i21netprog as root: TCP and UDP echo on :7, a resolver on :53
// knowing one name. The user (issue 20's harness, i20_e2ehelpers_test.go)
// runs skiff in outside through nsenter, in a private mount namespace
// (unshare) where the test's resolv.conf, naming the upstream's resolver,
// is bound over /etc/resolv.conf and a tun node of the test's mode over
// /dev/net/tun. Images are pulled without that wrapper: the test registry
// is on the suite namespace's loopback.

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
)

const (
	i21e2eOutsideIf  = "i21outside"
	i21e2eUpstreamIf = "i21upstream"
	i21e2eName       = "upstream.i21.test" // the one name the upstream's resolver knows
	i21e2eEchoPort   = 7
	i21e2eUnprivPort = 1024 // net.ipv4.ip_unprivileged_port_start in outside
)

var (
	i21e2eOutsideIP  = netip.MustParsePrefix("192.0.2.1/24")
	i21e2eUpstreamIP = netip.MustParsePrefix("192.0.2.2/24")
	i21e2eNameIP     = netip.MustParseAddr("198.51.100.21") // its answer: an address nothing else gives
)

// i21e2eNet is the outside and upstream namespaces and the upstream's
// program.
type i21e2eNet struct {
	outside, upstream *i14e2eNetns
	resolvConf        string // the test's resolv.conf: the upstream's resolver
	tunDir            string // mount point, in each private mount namespace, of a tmpfs holding the tun node
	upstreamOut       *i21e2eLines
}

// i21e2eNewNet makes the namespaces and starts the upstream; the test's
// end stops it and closes the namespaces (they go when their last
// process does).
func i21e2eNewNet(t *testing.T) *i21e2eNet {
	t.Helper()
	i14e2eRequireNetns(t)
	for _, tool := range []string{"nsenter", "unshare", "mount", "mknod"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not found: the rootless network tests need util-linux and coreutils", tool)
		}
	}
	if fi, err := os.Stat("/dev/net/tun"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Skipf("no /dev/net/tun to bind a test node over (%v): load the tun module", err)
	}
	n := &i21e2eNet{outside: i14e2eNewNetns(t), upstream: i14e2eNewNetns(t)}
	if err := n.link(); err != nil {
		t.Fatal(err)
	}
	// The sysctl is per namespace, /proc/sys/net the opening thread's:
	// outside's, whatever the host's is.
	if err := n.outside.Do(func() error {
		return os.WriteFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", []byte(strconv.Itoa(i21e2eUnprivPort)), 0o644)
	}); err != nil {
		t.Fatalf("net.ipv4.ip_unprivileged_port_start in outside: %v", err)
	}
	dir := t.TempDir()
	n.resolvConf = filepath.Join(dir, "resolv.conf")
	if err := os.WriteFile(n.resolvConf, []byte("nameserver "+i21e2eUpstreamIP.Addr().String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.tunDir = filepath.Join(dir, "tun")
	if err := os.Mkdir(n.tunDir, 0o755); err != nil {
		t.Fatal(err)
	}
	n.startUpstream(t)
	return n
}

// link joins the namespaces: the veth pair, the addresses, outside's
// default route through the upstream.
func (n *i21e2eNet) link() error {
	out, err := n.outside.handle()
	if err != nil {
		return err
	}
	defer out.Close()
	up, err := n.upstream.handle()
	if err != nil {
		return err
	}
	defer up.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: i21e2eOutsideIf}, PeerName: i21e2eUpstreamIf}
	if err := out.LinkAdd(veth); err != nil {
		return fmt.Errorf("veth %s in outside: %w", i21e2eOutsideIf, err)
	}
	peer, err := out.LinkByName(i21e2eUpstreamIf)
	if err != nil {
		return err
	}
	if err := out.LinkSetNsFd(peer, int(n.upstream.fd.Fd())); err != nil {
		return fmt.Errorf("move %s into the upstream: %w", i21e2eUpstreamIf, err)
	}
	if err := i14e2eLinkUp(out, i21e2eOutsideIf, i21e2eOutsideIP); err != nil {
		return err
	}
	if err := i14e2eLinkUp(up, i21e2eUpstreamIf, i21e2eUpstreamIP); err != nil {
		return err
	}
	link, err := out.LinkByName(i21e2eOutsideIf)
	if err != nil {
		return err
	}
	if err := out.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: i21e2eUpstreamIP.Addr().AsSlice()}); err != nil {
		return fmt.Errorf("outside's default route: %w", err)
	}
	return nil
}

// i21e2eLines collects a program's output lines.
type i21e2eLines struct {
	mu    sync.Mutex
	lines []string
}

func (l *i21e2eLines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// has says whether a line starts with prefix.
func (l *i21e2eLines) has(prefix string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			return true
		}
	}
	return false
}

// startUpstream runs `i21netprog upstream` in the upstream namespace (the
// command forks from a thread there) and waits for its "ready".
func (n *i21e2eNet) startUpstream(t *testing.T) {
	t.Helper()
	bin, err := testProgBinary("i21netprog")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "upstream", i21e2eName, i21e2eNameIP.String())
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := n.upstream.Do(cmd.Start); err != nil {
		t.Fatalf("start the upstream: %v", err)
	}
	n.upstreamOut = &i21e2eLines{}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			n.upstreamOut.mu.Lock()
			n.upstreamOut.lines = append(n.upstreamOut.lines, sc.Text())
			n.upstreamOut.mu.Unlock()
			if sc.Text() == "ready" {
				close(ready)
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatalf("the upstream never said ready; stdout %q, stderr %q", n.upstreamOut, stderr.String())
	}
}

// enter is the command line that runs its arguments in outside, in a
// private mount namespace with the test's resolv.conf and a tun node of
// mode tunMode (root's): a tmpfs of its own holds the node (a tmpfs
// mounted there is not nodev), gone with the mount namespace.
func (n *i21e2eNet) enter(tunMode os.FileMode) []string {
	script := fmt.Sprintf(`mount --bind '%s' /etc/resolv.conf
mount -t tmpfs -o mode=0755,size=64k i21tun '%s'
mknod -m %04o '%s/tun' c 10 200
mount --bind '%s/tun' /dev/net/tun
exec "$@"`, n.resolvConf, n.tunDir, tunMode.Perm(), n.tunDir, n.tunDir)
	return []string{"nsenter", fmt.Sprintf("--net=/proc/%d/fd/%d", os.Getpid(), n.outside.fd.Fd()), "--",
		"unshare", "--mount", "--propagation", "private", "--", "sh", "-ec", script, "i21enter"}
}

// store is skiff as u in outside with a tun node of mode tunMode: u's
// store, its commands through enter.
func (n *i21e2eNet) store(u *i20e2eUser, tunMode os.FileMode) *store {
	w := *u
	w.enter = n.enter(tunMode)
	st := *u.st
	st.user = &w
	return &st
}

// i21e2eUser is a user with ranges whose containers have no name server
// of the test config's: the default rootless network's resolv.conf
// names 10.0.2.3, which forwards to the host's servers, the test's
// resolv.conf's.
func i21e2eUser(t *testing.T) *i20e2eUser {
	t.Helper()
	u := i20e2eNewUser(t, true)
	if err := os.WriteFile(u.st.config, []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return u
}

// i21e2eImage is busybox with /bin/i21netprog, pulled into u's store.
func i21e2eImage(t *testing.T, u *i20e2eUser) string {
	t.Helper()
	img := testProgImage(t, "i21netprog")
	if !i20e2eHasImage(t, u, img) {
		u.st.must(t, "pull", img)
	}
	return img
}

// i21e2eTCP sends msg to addr from ns over TCP and returns the reply
// (i21netprog's: "from PEER\n" and msg back), trying for 10 s while
// nothing answers.
func i21e2eTCP(ns *i14e2eNetns, addr, msg string) (string, error) {
	var reply string
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		reply, err = i21e2eTCPOnce(ns, addr, msg)
		if err == nil || time.Now().After(deadline) {
			return reply, err
		}
	}
}

// i21e2eTCPOnce is one try of i21e2eTCP.
func i21e2eTCPOnce(ns *i14e2eNetns, addr, msg string) (string, error) {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", addr, 2*time.Second)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	c.(*net.TCPConn).CloseWrite()
	var b strings.Builder
	_, err := bufio.NewReader(c).WriteTo(&b)
	if err == nil && b.Len() == 0 {
		err = fmt.Errorf("%s: empty reply", addr)
	}
	return b.String(), err
}

// i21e2eUDP sends msg to addr from ns over UDP and returns the reply,
// trying for 10 s.
func i21e2eUDP(ns *i14e2eNetns, addr, msg string) (string, error) {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", addr)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	buf := make([]byte, 65536)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n]), nil
		}
	}
	return "", fmt.Errorf("no UDP reply from %s in 10 s", addr)
}

// i21e2eLookup asks the upstream's resolver, from ns, for name over proto.
func i21e2eLookup(ns *i14e2eNetns, name, proto string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = (&net.Dialer{}).DialContext(ctx, proto, net.JoinHostPort(i21e2eUpstreamIP.Addr().String(), "53"))
			return err
		})
		return c, err
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return r.LookupHost(ctx, name)
}

// i21e2eFreePort is a TCP and UDP port free in ns, at or above
// i21e2eUnprivPort (testenv.FreePort's, asked there).
func i21e2eFreePort(t *testing.T, ns *i14e2eNetns) int {
	t.Helper()
	var p int
	if err := ns.Do(func() (err error) {
		for try := 0; try < 20; try++ {
			if p, err = testenv.FreePort(); err != nil {
				return err
			}
			if c, err := net.ListenPacket("udp", fmt.Sprintf(":%d", p)); err == nil {
				c.Close()
				return nil
			}
		}
		return fmt.Errorf("no port free for both TCP and UDP")
	}); err != nil {
		t.Fatal(err)
	}
	return p
}

// i21e2eSockets lists the sockets of ns bound to port (TCP in any state
// but TIME_WAIT, and UDP), as /proc/net/{tcp,udp} lines.
func i21e2eSockets(t *testing.T, ns *i14e2eNetns, port int) []string {
	t.Helper()
	var out []string
	suffix := fmt.Sprintf(":%04X", port)
	if err := ns.Do(func() error {
		for _, f := range []string{"tcp", "tcp6", "udp", "udp6"} {
			// thread-self: /proc/self/net is the main thread's namespace.
			b, err := os.ReadFile("/proc/thread-self/net/" + f)
			if err != nil {
				return err
			}
			for _, l := range strings.Split(string(b), "\n")[1:] {
				fs := strings.Fields(l)
				if len(fs) > 3 && strings.HasSuffix(fs[1], suffix) && !(strings.HasPrefix(f, "tcp") && fs[3] == "06") {
					out = append(out, f+": "+strings.TrimSpace(l))
				}
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// i21e2eNetnsID is "net:[INODE]" of ns, as readlink of /proc/PID/ns/net
// says it.
func i21e2eNetnsID(t *testing.T, ns *i14e2eNetns) string {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(ns.fd.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("net:[%d]", st.Ino)
}

// i21e2eTree is pid and its descendants.
func i21e2eTree(pid int) map[int]bool {
	tree := map[int]bool{pid: true}
	for grew := true; grew; {
		grew = false
		for _, p := range allPids() {
			if st, ok := readStat(p); ok && tree[st.ppid] && !tree[p] {
				tree[p] = true
				grew = true
			}
		}
	}
	return tree
}

// i21e2ePidOf is the PID of a u.procs() line.
func i21e2ePidOf(line string) int {
	pid, _ := strconv.Atoi(strings.Fields(line)[0])
	return pid
}
