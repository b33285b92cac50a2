package network

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// DetachAfterExit leaves the veth to the kernel, which deletes it with the
// dead container's namespace; the address is free at once for the same
// container's next start, never for another while the old veth stands.
func TestDetachAfterExit(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	pid := fakeContainer(t)
	ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8090, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	// Another container while the first's veth stands gets another address.
	other := strings.Repeat("b", 64)
	syscall.Kill(pid, syscall.SIGKILL)
	if err := ep.DetachAfterExit(); err != nil {
		t.Fatal(err)
	}
	if n := rulesOf(t, testID); n != 0 {
		t.Errorf("%d rules left after DetachAfterExit, want 0", n)
	}
	if _, err := netlink.LinkByName(vethName(testID)); err == nil {
		second, err := Attach(cfg, Request{ID: other, Pid: fakeContainer(t)})
		if err != nil {
			t.Fatal(err)
		}
		// Only a veth standing after the second Attach proves the address
		// was handed out while it stood: the kernel may take it meanwhile
		// (a loaded machine), and then the address is rightly free.
		if _, err := netlink.LinkByName(vethName(testID)); err == nil && second.Addr == ep.Addr {
			t.Errorf("%s handed out again while the old veth stands", ep.Addr)
		}
		if err := second.Detach(); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := netlink.LinkByName(vethName(testID)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel never deleted the dead namespace's veth")
		}
		time.Sleep(10 * time.Millisecond)
	}
	checkNothingLeft(t, cfg, testID)
	// The same container again at once: its old veth is replaced if it
	// is still there, so a restart never fails on the name.
	again, err := Attach(cfg, Request{ID: testID, Pid: fakeContainer(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := again.Detach(); err != nil {
		t.Fatal(err)
	}
}

// A restart right after an exit: the last start's veth may still stand.
func TestAttachReplacesLingeringVeth(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	first, err := Attach(cfg, Request{ID: testID, Pid: fakeContainer(t)})
	if err != nil {
		t.Fatal(err)
	}
	// The process lives on (its namespace keeps the veth): exactly what a
	// new start finds before the kernel is done.
	if err := first.DetachAfterExit(); err != nil {
		t.Fatal(err)
	}
	second, err := Attach(cfg, Request{ID: testID, Pid: fakeContainer(t)})
	if err != nil {
		t.Fatalf("Attach with the last start's veth standing: %v", err)
	}
	if err := second.Detach(); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, cfg, testID)
}
