package e2e

// The suite's network namespaces (issue 14). The whole e2e binary runs in
// a network namespace of its own (TestMain re-execs itself into one), so
// the bridge skiff0, skiff's nftables table, the test registry on
// 127.0.0.1 and every container's veth live there and never on the
// host. Inside it, tests make further namespaces: the fake upstream
// host, joined to the harness by a veth pair, and scratch namespaces
// for tests that change what other tests would see (a tiny address
// pool, a drop-policy forward chain). A namespace is held by an open fd
// of /proc/thread-self/ns/net, not by a process: closing it ends the
// namespace once nothing runs in it.

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/network"
)

// i14e2eNetnsEnv marks the re-exec'd test binary, already in the
// harness's namespace, so it does not re-exec again.
const i14e2eNetnsEnv = "SKIFF_E2E_IN_NETNS"

// i14e2eNoNetns is why the suite runs in the host's namespace ("" when
// it runs in its own): tests that make a bridge skip with it.
var i14e2eNoNetns = "not started through TestMain"

// i14e2eEnterNetns moves the suite into a network namespace of its own
// (testenv.ReexecInNetns): done is set in the process that started it,
// which only passes on the copy's exit status. Not root, or no new
// namespace to be had: the suite runs here, i14e2eNoNetns saying why.
func i14e2eEnterNetns() (code int, done bool) {
	code, done, err := testenv.ReexecInNetns(i14e2eNetnsEnv)
	switch {
	case done:
	case err != nil:
		i14e2eNoNetns = err.Error() + ": the suite runs in the host's network namespace"
	default:
		i14e2eNoNetns = ""
	}
	return code, done
}

// i14e2eRequireNetns skips a test that makes skiff's bridge when the
// suite is not in a namespace of its own: never the host's network.
func i14e2eRequireNetns(t *testing.T) {
	t.Helper()
	requireEnv(t)
	if i14e2eNoNetns != "" {
		t.Skip(i14e2eNoNetns)
	}
}

// i14e2eNetns is a network namespace a test made inside the harness's.
type i14e2eNetns struct {
	fd *os.File // /proc/thread-self/ns/net of the thread that made it: holds it
}

// i14e2eNewNetns makes a namespace with lo up; the test's end closes it.
func i14e2eNewNetns(t *testing.T) *i14e2eNetns {
	t.Helper()
	n, err := i14e2eMakeNetns()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.fd.Close() })
	return n
}

func i14e2eMakeNetns() (*i14e2eNetns, error) {
	type made struct {
		f   *os.File
		err error
	}
	c := make(chan made, 1)
	go func() {
		// Never unlocked: the thread, in the new namespace, ends with
		// this goroutine instead of running other goroutines there.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			c <- made{err: fmt.Errorf("unshare a network namespace: %w", err)}
			return
		}
		if err := network.LoopbackUp(); err != nil {
			c <- made{err: err}
			return
		}
		f, err := os.Open("/proc/thread-self/ns/net")
		c <- made{f, err}
	}()
	m := <-c
	if m.err != nil {
		return nil, m.err
	}
	return &i14e2eNetns{fd: m.f}, nil
}

// Do runs f on a thread in the namespace, discarded afterwards. Sockets
// f opens stay in the namespace wherever they are used later; processes
// it starts (exec.Cmd forks from the calling thread) run there.
func (n *i14e2eNetns) Do(f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: see i14e2eMakeNetns
		if err := unix.Setns(int(n.fd.Fd()), unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("setns: %w", err)
			return
		}
		errc <- f()
	}()
	return <-errc
}

// skiff runs a skiff command of st in the namespace: its monitors, and
// the bridge and rules they make, are there.
func (n *i14e2eNetns) skiff(st *store, args ...string) result {
	var r result
	if err := n.Do(func() error { r = st.skiff(nil, args...); return nil }); err != nil {
		return result{code: -1, stderr: err.Error()}
	}
	return r
}

// handle is a netlink handle in the namespace.
func (n *i14e2eNetns) handle() (*netlink.Handle, error) {
	return netlink.NewHandleAt(netns.NsHandle(n.fd.Fd()))
}

// The fake upstream host: a namespace joined to the harness's by a veth
// pair, harness end i14e2eHarnessIf with i14e2eHarnessIP, upstream end
// with i14e2eUpstreamIP and a default route back. Containers reach it
// through skiff's masquerade; it dials the harness's address for
// published ports, as a client on the network would.
const (
	i14e2eHarnessIf   = "i14harness"
	i14e2eUpstreamIf  = "i14upstream"
	i14e2eUpstreamDNS = "10.200.0.2" // --dns of every test container: an address in a test namespace
)

var (
	i14e2eHarnessIP  = netip.MustParsePrefix("10.200.0.1/24")
	i14e2eUpstreamIP = netip.MustParsePrefix("10.200.0.2/24")

	i14e2eUpstreamOnce sync.Once
	i14e2eUpstreamNS   *i14e2eNetns
	i14e2eUpstreamErr  error
)

// i14e2eUpstream returns the fake upstream, made once for the suite (it
// goes with the harness's namespace when the suite ends).
func i14e2eUpstream(t *testing.T) *i14e2eNetns {
	t.Helper()
	i14e2eRequireNetns(t)
	i14e2eUpstreamOnce.Do(func() { i14e2eUpstreamNS, i14e2eUpstreamErr = i14e2eMakeUpstream() })
	if i14e2eUpstreamErr != nil {
		t.Fatalf("the fake upstream: %v", i14e2eUpstreamErr)
	}
	return i14e2eUpstreamNS
}

func i14e2eMakeUpstream() (*i14e2eNetns, error) {
	up, err := i14e2eMakeNetns()
	if err != nil {
		return nil, err
	}
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: i14e2eHarnessIf}, PeerName: i14e2eUpstreamIf}
	if err := netlink.LinkAdd(veth); err != nil {
		return nil, fmt.Errorf("veth %s: %w", i14e2eHarnessIf, err)
	}
	peer, err := netlink.LinkByName(i14e2eUpstreamIf)
	if err != nil {
		return nil, err
	}
	if err := netlink.LinkSetNsFd(peer, int(up.fd.Fd())); err != nil {
		return nil, fmt.Errorf("move %s into the upstream: %w", i14e2eUpstreamIf, err)
	}
	if err := i14e2eLinkUp(nil, i14e2eHarnessIf, i14e2eHarnessIP); err != nil {
		return nil, err
	}
	h, err := up.handle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	if err := i14e2eLinkUp(h, i14e2eUpstreamIf, i14e2eUpstreamIP); err != nil {
		return nil, err
	}
	link, _ := h.LinkByName(i14e2eUpstreamIf)
	gw := net.IP(i14e2eHarnessIP.Addr().AsSlice())
	if err := h.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Gw: gw}); err != nil {
		return nil, fmt.Errorf("upstream default route: %w", err)
	}
	return up, nil
}

// i14e2eLinkUp gives a link an address and sets it up (h nil: here).
func i14e2eLinkUp(h *netlink.Handle, name string, addr netip.Prefix) error {
	if h == nil {
		var err error
		if h, err = netlink.NewHandle(); err != nil {
			return err
		}
		defer h.Close()
	}
	link, err := h.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	ipn := &net.IPNet{IP: addr.Addr().AsSlice(), Mask: net.CIDRMask(addr.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("set %s up: %w", name, err)
	}
	return nil
}
