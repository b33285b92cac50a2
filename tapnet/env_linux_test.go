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
// re-executes the test binary there), so they change no host network: the
// stack's own sockets live in that namespace, "upstream" is an address on
// its loopback, the container and a remote client are namespaces the tests
// make. Being outside the initial user namespace also makes Publish treat
// the tests as the rootless monitor it serves.
const nsEnv = "TAPNET_TEST_NS"

// upstream is the fake remote host's address: on the test namespace's lo,
// yet not 127/8, which the stack refuses.
var upstream = netip.MustParseAddr("198.51.100.1")

func TestMain(m *testing.M) {
	if os.Getenv(nsEnv) == "" && os.Geteuid() == 0 {
		cmd := exec.Command("/proc/self/exe", os.Args[1:]...)
		cmd.Env = append(os.Environ(), nsEnv+"=1")
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNET,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		}
		if err := cmd.Run(); err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				os.Exit(ee.ExitCode())
			}
			os.Stderr.WriteString("tapnet tests: re-executing in a new namespace: " + err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

var setupOnce sync.Once

// needNS skips a test outside the tests' namespace and readies it once:
// lo up with the upstream address.
func needNS(t testing.TB) {
	t.Helper()
	if os.Getenv(nsEnv) == "" {
		t.Skip("needs root: the tests make their own namespaces")
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
