package tapnet

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// The tests run in a user and network namespace of their own (TestMain
// re-executes the test binary there; root or, where allowed, any user),
// so they change no host network: the
// stack's own sockets live in that namespace, "upstream" is an address on
// its loopback, the container and a remote client are namespaces the tests
// make. Being outside the initial user namespace also makes Publish treat
// the tests as the rootless monitor it serves.
const nsEnv = "TAPNET_TEST_NS"

// upstream is the fake remote host's address: on the test namespace's lo,
// yet not 127/8, which the stack refuses.
var upstream = netip.MustParseAddr("198.51.100.1")

func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "" {
		if code, ran := inOwnNamespaces(); ran {
			os.Exit(code)
		}
		// No user namespace for us: the network tests skip.
	}
	os.Exit(m.Run())
}

// inOwnNamespaces re-executes the tests in a new user and network
// namespace: root maps its first 65536 ids, anyone else (where the kernel
// lets users make user namespaces) itself as 0.
func inOwnNamespaces() (code int, ran bool) {
	ids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
	gids := []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
	if os.Geteuid() == 0 {
		ids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		gids = ids
	}
	cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
	cmd.Env = append(os.Environ(), nsEnv+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
		UidMappings: ids,
		GidMappings: gids,
	}
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), true
	}
	return 0, err == nil
}

var setupOnce sync.Once

// needNS skips a test outside the tests' namespace and readies it once:
// lo up with the upstream address.
func needNS(t testing.TB) {
	t.Helper()
	if os.Getenv(nsEnv) == "" {
		t.Skip("needs a user namespace of its own (root, or unprivileged user namespaces)")
	}
	setupOnce.Do(func() {
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err == nil {
			err = netlink.AddrAdd(lo, &netlink.Addr{IPNet: &net.IPNet{IP: upstream.AsSlice(), Mask: net.CIDRMask(32, 32)}})
		}
		if err != nil {
			t.Fatalf("readying the test namespace: %v", err)
		}
	})
}

// inNS runs f on a thread in ns: sockets f makes stay in ns.
func inNS(t testing.TB, ns netns.NsHandle, f func()) {
	t.Helper()
	onThread(t, func() error { return netns.Set(ns) }, f)
}

// newNS makes a network namespace and runs f in it.
func newNS(t testing.TB, f func()) netns.NsHandle {
	t.Helper()
	var ns netns.NsHandle
	onThread(t, func() (err error) { ns, err = netns.New(); return err }, f)
	return ns
}

// onThread runs f on a locked thread after enter moved it to a namespace,
// and moves the thread back.
func onThread(t testing.TB, enter func() error, f func()) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	if err := enter(); err != nil {
		t.Fatalf("entering a netns: %v", err)
	}
	defer netns.Set(orig)
	f()
}

// env is a container namespace with tap0 served by a Stack.
type env struct {
	ns    netns.NsHandle
	stack *Stack
}

func newEnv(t testing.TB, cfg Config) *env {
	t.Helper()
	e := newEnvNoCleanup(t, cfg)
	t.Cleanup(func() {
		if err := e.stack.Close(); err != nil {
			t.Error(err)
		}
		e.ns.Close()
	})
	return e
}

// newEnvNoCleanup is newEnv for a test that closes the Stack itself.
func newEnvNoCleanup(t testing.TB, cfg Config) *env {
	t.Helper()
	needNS(t)
	var tap *os.File
	var err error
	ns := newNS(t, func() {
		if tap, err = OpenTAP(TapName); err == nil {
			err = ConfigureTAP(TapName)
		}
	})
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	st, err := New(tap, cfg)
	if err != nil {
		ns.Close()
		t.Fatal(err)
	}
	return &env{ns: ns, stack: st}
}

// dial connects from inside the container.
func (e *env) dial(t testing.TB, network, addr string) (net.Conn, error) {
	var c net.Conn
	var err error
	inNS(t, e.ns, func() { c, err = net.Dial(network, addr) })
	return c, err
}
