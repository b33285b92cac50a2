package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestAllocateLowestFreeAndReuse(t *testing.T) {
	dir := t.TempDir()
	subnet, gw := netip.MustParsePrefix("10.99.0.0/29"), netip.MustParseAddr("10.99.0.1")
	var got []string
	for i := range 5 {
		a, held, err := allocate(dir, subnet, gw, fmt.Sprintf("id%d", i), nil)
		if err != nil || held {
			t.Fatal(err)
		}
		got = append(got, a.String())
	}
	if want := "[10.99.0.2 10.99.0.3 10.99.0.4 10.99.0.5 10.99.0.6]"; fmt.Sprint(got) != want {
		t.Fatalf("allocated %v, want %s (after the gateway, before the broadcast)", got, want)
	}
	if _, _, err := allocate(dir, subnet, gw, "id5", nil); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("7th address of a /29: %v, want ErrPoolExhausted", err)
	}
	if a, held, err := allocate(dir, subnet, gw, "id3", nil); err != nil || !held || a.String() != "10.99.0.5" {
		t.Fatalf("id3 again: %v %v, want its own 10.99.0.5 back", a, err)
	}
	if err := release(dir, netip.MustParseAddr("10.99.0.3"), "id1"); err != nil {
		t.Fatal(err)
	}
	if err := release(dir, netip.MustParseAddr("10.99.0.3"), "id1"); err != nil {
		t.Fatalf("second release: %v", err)
	}
	if err := release(dir, netip.MustParseAddr("10.99.0.4"), "someone-else"); err != nil {
		t.Fatal(err)
	}
	if a, _, err := allocate(dir, subnet, gw, "id6", nil); err != nil || a.String() != "10.99.0.3" {
		t.Fatalf("after a release: %v %v, want the freed 10.99.0.3", a, err)
	}
	if _, err := os.Stat(filepath.Join(dir, addressesDir, "10.99.0.4")); err != nil {
		t.Fatalf("a release by a non-owner removed the address: %v", err)
	}
}

func TestAllocateTinyPoolExhausted(t *testing.T) {
	dir := t.TempDir()
	subnet, gw := netip.MustParsePrefix("10.99.0.0/30"), netip.MustParseAddr("10.99.0.1")
	if a, _, err := allocate(dir, subnet, gw, "a", nil); err != nil || a.String() != "10.99.0.2" {
		t.Fatalf("first: %v %v", a, err)
	}
	if _, _, err := allocate(dir, subnet, gw, "b", nil); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("second of a /30: %v, want ErrPoolExhausted", err)
	}
}

func TestAllocateConcurrentDistinct(t *testing.T) {
	dir := t.TempDir()
	subnet, gw := netip.MustParsePrefix("172.17.0.0/16"), netip.MustParseAddr("172.17.0.1")
	const n = 20
	addrs := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { addrs[i], _, errs[i] = allocate(dir, subnet, gw, fmt.Sprintf("c%02d", i), nil) })
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i, a := range addrs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[a] {
			t.Fatalf("%s given twice: %v", a, addrs)
		}
		seen[a] = true
	}
	owners, err := readOwners(dir)
	if err != nil || len(owners) != n {
		t.Fatalf("%d allocations on disk (%v), want %d", len(owners), err, n)
	}
}

func TestFreeSubnetSkipsTaken(t *testing.T) {
	taken := []netip.Prefix{netip.MustParsePrefix("172.17.5.0/24"), netip.MustParsePrefix("172.18.0.0/15")}
	got, ok := freeSubnet(DefaultPools, taken)
	if !ok || got.String() != "172.20.0.0/16" {
		t.Fatalf("got %v %v, want 172.20.0.0/16", got, ok)
	}
	pools := []Pool{{Base: netip.MustParsePrefix("192.168.0.0/16"), Size: 20}}
	got, ok = freeSubnet(pools, []netip.Prefix{netip.MustParsePrefix("192.168.1.0/24")})
	if !ok || got.String() != "192.168.16.0/20" {
		t.Fatalf("got %v %v, want 192.168.16.0/20", got, ok)
	}
	if _, ok := freeSubnet(pools, []netip.Prefix{netip.MustParsePrefix("192.168.0.0/16")}); ok {
		t.Fatal("a subnet of a taken pool was chosen")
	}
}

func TestReservePortsChecksRanges(t *testing.T) {
	for _, pm := range []PortMap{
		{Proto: "tcp", HostPort: 65530, ContainerPort: 80, Count: 10},
		{Proto: "tcp", HostPort: 80, ContainerPort: 65530, Count: 10},
		{Proto: "tcp", HostPort: 0, ContainerPort: 80, Count: 2},
		{Proto: "sctp", HostPort: 80, ContainerPort: 80},
	} {
		if _, _, err := reservePorts([]PortMap{pm}); err == nil {
			t.Errorf("%+v reserved", pm)
		}
	}
	ports, closers, err := reservePorts([]PortMap{{HostIP: netip.MustParseAddr("127.0.0.1"), ContainerPort: 80}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range closers {
		c()
	}
	if ports[0].Proto != "tcp" || ports[0].HostPort == 0 {
		t.Errorf("resolved %+v, want tcp and a chosen port", ports[0])
	}
}
