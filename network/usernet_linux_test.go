package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// testUserNetworks is a store in a temporary root whose host has routes.
func testUserNetworks(t *testing.T, routes ...string) *UserNetworks {
	t.Helper()
	dir := t.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	s.skiff0 = func() netip.Prefix { return netip.Prefix{} }
	s.routes = func() ([]netip.Prefix, error) {
		var out []netip.Prefix
		for _, r := range routes {
			out = append(out, netip.MustParsePrefix(r))
		}
		return out, nil
	}
	return s
}

func mustCreate(t *testing.T, s *UserNetworks, o CreateOptions) *UserNetwork {
	t.Helper()
	n, err := s.Create(o)
	if err != nil {
		t.Fatalf("create %+v: %v", o, err)
	}
	return n
}

func TestUserNetCreateValidates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		opts    CreateOptions
		wantErr string
		check   func(*UserNetwork) string
	}{
		{name: "defaults", opts: CreateOptions{Name: "n"}, check: func(n *UserNetwork) string {
			if n.Subnet.String() != "172.18.0.0/16" || n.Gateway.String() != "172.18.0.1" || n.Driver != "bridge" ||
				n.Bridge != "br-"+n.ID[:12] || n.SubnetConfigured || n.Created.IsZero() {
				return fmt.Sprintf("%+v", n)
			}
			return ""
		}},
		{name: "all flags", opts: CreateOptions{Name: "n", Subnet: "10.5.0.0/16", Gateway: "10.5.0.254", IPRange: "10.5.7.0/24",
			Internal: true, Labels: map[string]string{"a": "b"},
			Options: map[string]string{OptBridgeName: "mybr0", optMTUShort: "1400"}}, check: func(n *UserNetwork) string {
			if n.Subnet.String() != "10.5.0.0/16" || n.Gateway.String() != "10.5.0.254" || n.IPRange.String() != "10.5.7.0/24" ||
				!n.Internal || n.Labels["a"] != "b" || n.Bridge != "mybr0" || n.MTU != 1400 || !n.SubnetConfigured ||
				n.Options[OptBridgeName] != "mybr0" {
				return fmt.Sprintf("%+v", n)
			}
			return ""
		}},
		{name: "docker mtu key", opts: CreateOptions{Name: "n", Options: map[string]string{OptMTU: "9000"}}, check: func(n *UserNetwork) string {
			if n.MTU != 9000 {
				return fmt.Sprint(n.MTU)
			}
			return ""
		}},
		{name: "no name", opts: CreateOptions{}, wantErr: "network name is required"},
		{name: "bridge", opts: CreateOptions{Name: "bridge"}, wantErr: "operation is not permitted on predefined bridge network"},
		{name: "host", opts: CreateOptions{Name: "host"}, wantErr: "operation is not permitted on predefined host network"},
		{name: "none", opts: CreateOptions{Name: "none"}, wantErr: "operation is not permitted on predefined none network"},
		{name: "default", opts: CreateOptions{Name: "default"}, wantErr: "operation is not permitted on predefined default network"},
		{name: "driver", opts: CreateOptions{Name: "n", Driver: "overlayx"}, wantErr: `plugin "overlayx" not found`},
		{name: "malformed subnet", opts: CreateOptions{Name: "n", Subnet: "10.0.0/33"}, wantErr: "invalid CIDR address: 10.0.0/33"},
		{name: "not a cidr", opts: CreateOptions{Name: "n", Subnet: "foo"}, wantErr: "invalid CIDR address: foo"},
		{name: "ipv6", opts: CreateOptions{Name: "n", Subnet: "fd00::/64"}, wantErr: "invalid CIDR address: fd00::/64: skiff's networks are IPv4 only"},
		{name: "host bits", opts: CreateOptions{Name: "n", Subnet: "10.1.2.3/16"}, wantErr: "invalid subnet 10.1.2.3/16 : it should be 10.1.0.0/16"},
		{name: "too small", opts: CreateOptions{Name: "n", Subnet: "10.1.2.0/31"}, wantErr: "invalid subnet 10.1.2.0/31: no room for a gateway and a container"},
		{name: "gateway outside", opts: CreateOptions{Name: "n", Subnet: "10.1.0.0/16", Gateway: "10.2.0.1"}, wantErr: "no matching subnet for gateway 10.2.0.1"},
		{name: "gateway malformed", opts: CreateOptions{Name: "n", Subnet: "10.1.0.0/16", Gateway: "x"}, wantErr: `invalid argument "x" for "--gateway" flag: not an IPv4 address`},
		{name: "range outside", opts: CreateOptions{Name: "n", Subnet: "10.1.0.0/16", IPRange: "10.2.0.0/24"}, wantErr: "no matching subnet for range 10.2.0.0/24"},
		{name: "range larger", opts: CreateOptions{Name: "n", Subnet: "10.1.0.0/16", IPRange: "10.0.0.0/8"}, wantErr: "no matching subnet for range 10.0.0.0/8"},
		{name: "range malformed", opts: CreateOptions{Name: "n", Subnet: "10.1.0.0/16", IPRange: "10.1.0.0"}, wantErr: "invalid CIDR address: 10.1.0.0"},
		{name: "gateway without subnet", opts: CreateOptions{Name: "n", Gateway: "10.1.0.1"}, wantErr: "every ip-range or gateway must have a corresponding subnet"},
		{name: "bad mtu", opts: CreateOptions{Name: "n", Options: map[string]string{"mtu": "big"}}, wantErr: "invalid MTU number: big"},
		{name: "bad bridge name", opts: CreateOptions{Name: "n", Options: map[string]string{OptBridgeName: "a-name-longer-than-15"}}, wantErr: `invalid bridge name "a-name-longer-than-15"`},
		{name: "skiff0", opts: CreateOptions{Name: "n", Options: map[string]string{OptBridgeName: "skiff0"}}, wantErr: "bridge name skiff0 is already in use by network bridge"},
		{name: "overlaps default bridge", opts: CreateOptions{Name: "n", Subnet: "172.17.5.0/24"}, wantErr: ErrPoolOverlap.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testUserNetworks(t)
			n, err := s.Create(tc.opts)
			if tc.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				if nets, _ := s.List(); len(nets) != 0 {
					t.Fatalf("a refused create left %d networks", len(nets))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msg := tc.check(n); msg != "" {
				t.Fatalf("created %s", msg)
			}
			again, err := s.Lookup(tc.opts.Name)
			if err != nil || again.ID != n.ID || again.Subnet != n.Subnet || !again.Created.Equal(n.Created) {
				t.Fatalf("read back %+v, %v; want %+v", again, err, n)
			}
		})
	}
}

func TestUserNetCreateConflicts(t *testing.T) {
	s := testUserNetworks(t)
	mustCreate(t, s, CreateOptions{Name: "a", Subnet: "10.10.0.0/16", Options: map[string]string{OptBridgeName: "br-a"}})
	for _, tc := range []struct {
		opts    CreateOptions
		wantErr string
	}{
		{CreateOptions{Name: "a"}, "network with name a already exists"},
		{CreateOptions{Name: "b", Subnet: "10.10.5.0/24"}, ErrPoolOverlap.Error()},
		{CreateOptions{Name: "b", Subnet: "10.0.0.0/8"}, ErrPoolOverlap.Error()},
		{CreateOptions{Name: "b", Options: map[string]string{OptBridgeName: "br-a"}}, "bridge name br-a is already in use by network a"},
	} {
		if _, err := s.Create(tc.opts); err == nil || err.Error() != tc.wantErr {
			t.Errorf("%+v: got %v, want %q", tc.opts, err, tc.wantErr)
		}
	}
	if nets, _ := s.List(); len(nets) != 1 {
		t.Fatalf("%d networks after refused creates, want 1", len(nets))
	}
}

func TestUserNetPoolsSkipOverlaps(t *testing.T) {
	t.Run("after the default bridge, skipping networks and routes", func(t *testing.T) {
		s := testUserNetworks(t, "172.19.3.0/24", "10.0.0.0/8")
		mustCreate(t, s, CreateOptions{Name: "explicit", Subnet: "172.20.0.0/16"})
		var got []string
		for i := range 3 {
			got = append(got, mustCreate(t, s, CreateOptions{Name: fmt.Sprint("n", i)}).Subnet.String())
		}
		if want := "[172.18.0.0/16 172.21.0.0/16 172.22.0.0/16]"; fmt.Sprint(got) != want {
			t.Fatalf("subnets %v, want %s", got, want)
		}
	})
	t.Run("the bridge's saved subnet", func(t *testing.T) {
		s := testUserNetworks(t)
		if err := saveSettings(s.RunDir, settings{Subnet: netip.MustParsePrefix("172.18.0.0/16"), Gateway: netip.MustParseAddr("172.18.0.1")}); err != nil {
			t.Fatal(err)
		}
		if n := mustCreate(t, s, CreateOptions{Name: "n"}); n.Subnet.String() != "172.17.0.0/16" {
			t.Fatalf("got %s beside a bridge on 172.18.0.0/16, want 172.17.0.0/16", n.Subnet)
		}
		if _, err := s.Create(CreateOptions{Name: "m", Subnet: "172.18.1.0/24"}); !errors.Is(err, ErrPoolOverlap) {
			t.Fatalf("a subnet inside the bridge's: %v", err)
		}
	})
	t.Run("skiff0's address without bridge.json", func(t *testing.T) {
		s := testUserNetworks(t)
		s.skiff0 = func() netip.Prefix { return netip.MustParsePrefix("172.18.0.1/16") }
		if n := mustCreate(t, s, CreateOptions{Name: "n"}); n.Subnet.String() != "172.17.0.0/16" {
			t.Fatalf("got %s beside skiff0 on 172.18.0.1/16", n.Subnet)
		}
	})
	t.Run("bip", func(t *testing.T) {
		s := testUserNetworks(t)
		s.BIP = netip.MustParsePrefix("172.18.0.1/16")
		if n := mustCreate(t, s, CreateOptions{Name: "n"}); n.Subnet.String() != "172.17.0.0/16" {
			t.Fatalf("got %s with bip 172.18.0.1/16", n.Subnet)
		}
	})
	t.Run("then 192.168 as /20s, then none", func(t *testing.T) {
		s := testUserNetworks(t, "172.16.0.0/12", "192.168.0.0/24")
		var got []string
		for i := range 2 {
			got = append(got, mustCreate(t, s, CreateOptions{Name: fmt.Sprint("n", i)}).Subnet.String())
		}
		if want := "[192.168.16.0/20 192.168.32.0/20]"; fmt.Sprint(got) != want {
			t.Fatalf("subnets %v, want %s", got, want)
		}
		s.Pools = []Pool{{Base: netip.MustParsePrefix("192.168.0.0/18"), Size: 20}}
		mustCreate(t, s, CreateOptions{Name: "last"})
		if _, err := s.Create(CreateOptions{Name: "more"}); !errors.Is(err, ErrNoFreePool) {
			t.Fatalf("pools used up: %v, want %v", err, ErrNoFreePool)
		}
	})
}

func TestUserNetLookupAmbiguity(t *testing.T) {
	id := func(prefix string) string { return prefix + strings.Repeat("0", 64-len(prefix)) }
	nets := []*UserNetwork{
		{Name: "web", ID: id("abc1")},
		{Name: "db", ID: id("abc2")},
		{Name: "abc1", ID: id("ff")}, // a name that is another network's id prefix
		{Name: "other", ID: id("de")},
	}
	for _, tc := range []struct{ ref, wantName, wantErr string }{
		{ref: id("abc1"), wantName: "web"},
		{ref: "web", wantName: "web"},
		{ref: "abc1", wantName: "abc1"}, // a name wins over an id prefix
		{ref: "abc2", wantName: "db"},
		{ref: "d", wantName: "other"}, // "db" is a name, not an id prefix
		{ref: "abc", wantErr: "network abc is ambiguous (2 matches found based on ID prefix)"},
		{ref: "zzz", wantErr: "network zzz not found"},
		{ref: "", wantErr: "network  not found"},
	} {
		n, err := lookupIn(nets, tc.ref)
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%q: got %v, want %q", tc.ref, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || n.Name != tc.wantName):
			t.Errorf("%q: got %v %v, want %s", tc.ref, n, err, tc.wantName)
		}
	}
	var nf *NotFoundError
	if _, err := lookupIn(nets, "zzz"); !errors.As(err, &nf) {
		t.Errorf("not found is %T, want *NotFoundError", err)
	}
	s := testUserNetworks(t)
	n := mustCreate(t, s, CreateOptions{Name: "real"})
	for _, ref := range []string{"real", n.ID, n.ID[:12], n.ID[:1]} {
		if got, err := s.Lookup(ref); err != nil || got.ID != n.ID {
			t.Errorf("store lookup %q: %v %v", ref, got, err)
		}
	}
}

func TestUserNetConcurrentCreates(t *testing.T) {
	s := testUserNetworks(t)
	const n = 16
	nets := make([]*UserNetwork, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { nets[i], errs[i] = s.Create(CreateOptions{Name: fmt.Sprint("n", i)}) })
	}
	wg.Wait()
	subnets, ids := map[netip.Prefix]bool{}, map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if subnets[nets[i].Subnet] || ids[nets[i].ID] {
			t.Fatalf("subnet %s or id given twice", nets[i].Subnet)
		}
		subnets[nets[i].Subnet], ids[nets[i].ID] = true, true
	}
	// One name raced by many: exactly one wins.
	var won sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		won.Go(func() {
			if _, err := s.Create(CreateOptions{Name: "same"}); err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if err.Error() != "network with name same already exists" {
				t.Error(err)
			}
		})
	}
	won.Wait()
	if wins != 1 {
		t.Fatalf("%d creates of one name succeeded, want 1", wins)
	}
}

const memberA = "aaaa000000000000000000000000000000000000000000000000000000000000"
const memberB = "bbbb000000000000000000000000000000000000000000000000000000000000"
const memberC = "cccc000000000000000000000000000000000000000000000000000000000000"

func TestUserNetMembers(t *testing.T) {
	s := testUserNetworks(t)
	auto := mustCreate(t, s, CreateOptions{Name: "auto"})
	fixed := mustCreate(t, s, CreateOptions{Name: "fixed", Subnet: "10.7.0.0/24", IPRange: "10.7.0.128/25"})

	a, err := s.Join(auto.ID, Member{ContainerID: memberA, Name: "a", Aliases: []string{"web", "www"}})
	if err != nil || a.Addr.String() != "172.18.0.2" || a.MAC != "02:42:ac:12:00:02" || !isNetworkID(a.EndpointID) {
		t.Fatalf("join: %+v %v, want 172.18.0.2 and docker's MAC", a, err)
	}
	if _, err := s.Join(auto.ID, Member{ContainerID: memberA, Name: "a"}); err == nil || err.Error() != "endpoint with name a already exists in network auto" {
		t.Fatalf("joining twice: %v", err)
	}
	if _, err := s.Join(auto.ID, Member{ContainerID: memberB, Name: "b", Addr: netip.MustParseAddr("172.18.0.9")}); err == nil ||
		err.Error() != "user specified IP address is supported only when connecting to networks with user configured subnets" {
		t.Fatalf("--ip on a chosen subnet: %v", err)
	}
	b, err := s.Join(fixed.ID, Member{ContainerID: memberB, Name: "b", MAC: "02:00:00:00:00:01"})
	if err != nil || b.Addr.String() != "10.7.0.128" || b.MAC != "02:00:00:00:00:01" {
		t.Fatalf("join in an ip-range: %+v %v, want 10.7.0.128 (the range's first address: docker gives it out)", b, err)
	}
	for _, tc := range []struct{ ip, wantErr string }{
		{"10.7.0.128", "Address already in use"},
		{"10.7.0.1", "Address already in use"},
		{"10.8.0.5", "invalid address 10.8.0.5: It does not belong to any of this network's subnets"},
		{"10.7.0.255", "invalid address 10.7.0.255: It does not belong to any of this network's subnets"},
	} {
		if _, err := s.Join(fixed.ID, Member{ContainerID: memberC, Name: "c", Addr: netip.MustParseAddr(tc.ip)}); err == nil || err.Error() != tc.wantErr {
			t.Errorf("--ip %s: %v, want %q", tc.ip, err, tc.wantErr)
		}
	}
	c, err := s.Join(fixed.ID, Member{ContainerID: memberC, Name: "c", Addr: netip.MustParseAddr("10.7.0.5")})
	if err != nil || c.Addr.String() != "10.7.0.5" {
		t.Fatalf("--ip 10.7.0.5: %+v %v", c, err)
	}
	if _, err := s.Join(strings.Repeat("e", 64), Member{ContainerID: memberC, Name: "c"}); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("join of a missing network: %v", err)
	}
	if _, err := s.Join(auto.ID, Member{ContainerID: "../../x", Name: "x"}); err == nil {
		t.Fatal("a container id that is a path was accepted")
	}
	if _, err := s.Join("../"+auto.ID, Member{ContainerID: memberC, Name: "c"}); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("a network id that is a path: %v", err)
	}
	if got := fmt.Sprint(Member{ContainerID: memberA, Name: "a", Aliases: []string{"web", "a"}}.DNSNames()); got != "[a aaaa00000000 web]" {
		t.Fatalf("DNS names %s", got)
	}

	members, err := s.Members(fixed.ID)
	if err != nil || len(members) != 2 || members[0].Name != "b" || members[1].Name != "c" {
		t.Fatalf("members %+v %v, want b and c", members, err)
	}
	members, _ = s.Members(auto.ID)
	if len(members) != 1 || fmt.Sprint(members[0].Aliases) != "[web www]" || members[0].Addr != a.Addr {
		t.Fatalf("members of auto %+v", members)
	}

	_, err = s.Remove("fixed")
	if err == nil || err.Error() != "error while removing network: network fixed id "+fixed.ID+" has active endpoints" {
		t.Fatalf("rm in use: %v", err)
	}
	if _, err := s.Lookup("fixed"); err != nil {
		t.Fatalf("a refused rm removed the network: %v", err)
	}

	if err := s.Leave(fixed.ID, memberB); err != nil {
		t.Fatal(err)
	}
	if err := s.Leave(fixed.ID, memberB); err != nil {
		t.Fatalf("second leave: %v", err)
	}
	if d, err := s.Join(fixed.ID, Member{ContainerID: memberA, Name: "a"}); err != nil || d.Addr.String() != "10.7.0.128" {
		t.Fatalf("join after a leave: %+v %v, want the freed 10.7.0.128", d, err)
	}
	on, err := s.ContainerNetworks(memberA)
	if err != nil || len(on) != 2 || on[auto.ID].Addr.String() != "172.18.0.2" || on[fixed.ID].Addr.String() != "10.7.0.128" {
		t.Fatalf("a's networks: %+v %v, want auto and fixed", on, err)
	}
	if on, err := s.ContainerNetworks(memberB); err != nil || len(on) != 0 {
		t.Fatalf("b left, yet is on %+v %v", on, err)
	}

	// c's monitor dies, a is alive: the sweep takes c's names and address only.
	alive := func(id string) bool { return id == memberA }
	if err := s.SweepMembers(alive); err != nil {
		t.Fatal(err)
	}
	members, _ = s.Members(fixed.ID)
	if len(members) != 1 || members[0].ContainerID != memberA {
		t.Fatalf("after the sweep: %+v, want a only", members)
	}
	if owners, _ := readOwners(s.netRunDir(fixed.ID)); len(owners) != 1 {
		t.Fatalf("after the sweep the allocator holds %v", owners)
	}
	if err := s.Leave(fixed.ID, memberA); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Remove(fixed.ID[:5]); err != nil {
		t.Fatalf("rm of an unused network: %v", err)
	}
	if _, err := os.Stat(s.netRunDir(fixed.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rm left the network's run directory: %v", err)
	}
	if _, err := s.Remove("fixed"); !errors.As(err, new(*NotFoundError)) {
		t.Fatalf("rm twice: %v", err)
	}
}

func TestUserNetSweepOrphans(t *testing.T) {
	s := testUserNetworks(t)
	if err := s.SweepMembers(func(string) bool { return false }); err != nil {
		t.Fatalf("sweep with nothing there: %v", err)
	}
	n := mustCreate(t, s, CreateOptions{Name: "n"})
	// A join killed between its address and its record.
	if _, _, err := allocate(s.netRunDir(n.ID), n.Subnet, n.Gateway, memberA, nil); err != nil {
		t.Fatal(err)
	}
	// A removal killed after its record went: only run-time state is left.
	gone := strings.Repeat("d", 64)
	if err := os.MkdirAll(filepath.Join(s.netRunDir(gone), membersDir), 0o700); err != nil {
		t.Fatal(err)
	}
	// A member's record whose writer was killed before its rename.
	tmp := filepath.Join(s.netRunDir(n.ID), membersDir, "."+memberB+".json.42")
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, []byte(`{"containerID":"bb`), 0o600); err != nil {
		t.Fatal(err)
	}
	if members, err := s.Members(n.ID); err != nil || len(members) != 0 {
		t.Fatalf("a half-written member is visible: %+v %v", members, err)
	}
	if err := s.SweepMembers(func(id string) bool { return id == memberA }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the sweep left a half-written member: %v", err)
	}
	if owners, _ := readOwners(s.netRunDir(n.ID)); len(owners) != 1 {
		t.Fatalf("a live owner's address was swept: %v", owners)
	}
	if err := s.SweepMembers(func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if owners, _ := readOwners(s.netRunDir(n.ID)); len(owners) != 0 {
		t.Fatalf("a dead owner's address survived: %v", owners)
	}
	if _, err := os.Stat(s.netRunDir(gone)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a removed network's run directory survived: %v", err)
	}
}

func TestUserNetPrune(t *testing.T) {
	s := testUserNetworks(t)
	used := mustCreate(t, s, CreateOptions{Name: "used"})
	mustCreate(t, s, CreateOptions{Name: "idle"})
	mustCreate(t, s, CreateOptions{Name: "kept", Labels: map[string]string{"keep": "1"}})
	if _, err := s.Join(used.ID, Member{ContainerID: memberA, Name: "a"}); err != nil {
		t.Fatal(err)
	}
	removed, err := s.Prune(func(n *UserNetwork) bool { return n.Labels["keep"] == "" })
	if err != nil || len(removed) != 1 || removed[0].Name != "idle" {
		t.Fatalf("pruned %v %v, want idle only", removed, err)
	}
	nets, _ := s.List()
	if len(nets) != 2 || nets[0].Name != "kept" || nets[1].Name != "used" {
		t.Fatalf("left %v", nets)
	}
}

// TestUserNetHalfWritten: what a writer killed mid-write leaves (a
// temporary file, partial) is no network, and the next command deletes it.
func TestUserNetHalfWritten(t *testing.T) {
	s := testUserNetworks(t)
	mustCreate(t, s, CreateOptions{Name: "whole"})
	tmp := filepath.Join(s.Dir, "."+strings.Repeat("a", 64)+".json.123456")
	if err := os.WriteFile(tmp, []byte(`{"name":"half","id":"`), 0o600); err != nil {
		t.Fatal(err)
	}
	if nets, err := s.List(); err != nil || len(nets) != 1 {
		t.Fatalf("list beside a half-written record: %v %v", nets, err)
	}
	mustCreate(t, s, CreateOptions{Name: "next"})
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the next create left the half-written file: %v", err)
	}
}

// TestUserNetKill9 kills, with SIGKILL at random moments, a process that
// creates, joins, leaves and removes networks in a loop; after each kill
// every visible network and member must be whole and consistent, and the
// store must go on working.
func TestUserNetKill9(t *testing.T) {
	if os.Getenv("SKIFF_USERNET_CHILD") != "" {
		userNetChurn(os.Getenv("SKIFF_USERNET_ROOT"), os.Getenv("SKIFF_USERNET_RUN"))
		return
	}
	dir := t.TempDir()
	root, run := filepath.Join(dir, "root"), filepath.Join(dir, "run")
	s := NewUserNetworks(root, Config{RunDir: RunDir(run)})
	s.routes = func() ([]netip.Prefix, error) { return nil, nil }
	s.skiff0 = func() netip.Prefix { return netip.Prefix{} }
	seen := 0
	for round := range 12 {
		cmd := exec.Command(os.Args[0], "-test.run=^TestUserNetKill9$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SKIFF_USERNET_CHILD=1", "SKIFF_USERNET_ROOT="+root, "SKIFF_USERNET_RUN="+run)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(30+round*17%70) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		seen += checkUserNetsWhole(t, s)
	}
	if seen == 0 {
		t.Fatal("the children were killed before they made any network: the test tested nothing")
	}
	// The store still works: sweep everything the killed children held.
	if err := s.SweepMembers(func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(nil); err != nil {
		t.Fatal(err)
	}
	if nets, _ := s.List(); len(nets) != 0 {
		t.Fatalf("after sweep and prune: %d networks", len(nets))
	}
	if tmps, _ := filepath.Glob(filepath.Join(root, "networks", ".*")); len(tmps) != 0 {
		t.Fatalf("temporary files left: %v", tmps)
	}
}

// userNetChurn is the child of TestUserNetKill9: it runs until killed.
func userNetChurn(root, run string) {
	s := NewUserNetworks(root, Config{RunDir: RunDir(run)})
	s.routes = func() ([]netip.Prefix, error) { return nil, nil }
	s.skiff0 = func() netip.Prefix { return netip.Prefix{} }
	for i := 0; ; i++ {
		name := fmt.Sprint("k", os.Getpid(), "-", i%5)
		n, err := s.Create(CreateOptions{Name: name, Labels: map[string]string{"i": fmt.Sprint(i)}})
		if err != nil {
			continue // a name an earlier, killed child left
		}
		cid := fmt.Sprintf("%064x", i)
		s.Join(n.ID, Member{ContainerID: cid, Name: "c" + fmt.Sprint(i), Aliases: []string{"alias"}})
		if i%3 == 0 {
			continue // keep some members across the kill
		}
		s.Leave(n.ID, cid)
		s.Remove(n.ID)
	}
}

// checkUserNetsWhole fails t on a network or member not whole; it
// returns how many networks it saw.
func checkUserNetsWhole(t *testing.T, s *UserNetworks) int {
	t.Helper()
	nets, err := s.List()
	if err != nil {
		t.Fatalf("list after a kill: %v", err)
	}
	subnets := map[netip.Prefix]string{}
	for _, n := range nets {
		if !isNetworkID(n.ID) || n.Name == "" || !n.Subnet.IsValid() || !n.Gateway.IsValid() || n.Created.IsZero() {
			t.Fatalf("a half network is visible: %+v", n)
		}
		if other, dup := subnets[n.Subnet]; dup {
			t.Fatalf("%s and %s share %s", other, n.Name, n.Subnet)
		}
		subnets[n.Subnet] = n.Name
		members, err := s.Members(n.ID)
		if err != nil {
			t.Fatalf("members after a kill: %v", err)
		}
		for _, m := range members {
			if !n.Subnet.Contains(m.Addr) || m.MAC == "" || m.Name == "" {
				t.Fatalf("a half member is visible: %+v", m)
			}
		}
	}
	return len(nets)
}

func TestUserNetAllocatable(t *testing.T) {
	for _, tc := range []struct{ subnet, ipRange, want string }{
		{"10.7.0.0/24", "", "10.7.0.1-10.7.0.254"},
		{"10.7.0.0/24", "10.7.0.128/25", "10.7.0.128-10.7.0.254"}, // not the subnet's broadcast
		{"10.7.0.0/24", "10.7.0.0/25", "10.7.0.1-10.7.0.127"},     // not the subnet's network address
		{"10.7.0.0/24", "10.7.0.64/26", "10.7.0.64-10.7.0.127"},
		{"10.7.0.0/24", "10.7.0.9/32", "10.7.0.9-10.7.0.9"},
	} {
		n := &UserNetwork{Subnet: netip.MustParsePrefix(tc.subnet)}
		if tc.ipRange != "" {
			n.IPRange = netip.MustParsePrefix(tc.ipRange)
		}
		if first, last := n.allocatable(); fmt.Sprint(first, "-", last) != tc.want {
			t.Errorf("%s %s: %s-%s, want %s", tc.subnet, tc.ipRange, first, last, tc.want)
		}
	}
}

// TestUserNetConcurrentJoins: many containers starting at once on one
// network get distinct addresses and all their records; a join racing
// the network's removal either joins (and the removal is refused) or
// finds no network, never a member of a removed network.
func TestUserNetConcurrentJoins(t *testing.T) {
	s := testUserNetworks(t)
	n := mustCreate(t, s, CreateOptions{Name: "n", Subnet: "10.9.0.0/24"})
	const count = 24
	got := make([]Member, count)
	errs := make([]error, count)
	var wg sync.WaitGroup
	for i := range count {
		wg.Go(func() {
			got[i], errs[i] = s.Join(n.ID, Member{ContainerID: fmt.Sprintf("%064x", i+1), Name: fmt.Sprint("c", i)})
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i := range count {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if seen[got[i].Addr] {
			t.Fatalf("%s given twice", got[i].Addr)
		}
		seen[got[i].Addr] = true
	}
	if members, err := s.Members(n.ID); err != nil || len(members) != count {
		t.Fatalf("%d members recorded (%v), want %d", len(members), err, count)
	}

	for i := range 20 {
		race := mustCreate(t, s, CreateOptions{Name: fmt.Sprint("race", i)})
		var joinErr, rmErr error
		var rw sync.WaitGroup
		rw.Go(func() { _, joinErr = s.Join(race.ID, Member{ContainerID: memberA, Name: "a"}) })
		rw.Go(func() { _, rmErr = s.Remove(race.ID) })
		rw.Wait()
		switch {
		case joinErr == nil && errors.As(rmErr, new(*InUseError)):
			if err := s.Leave(race.ID, memberA); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Remove(race.ID); err != nil {
				t.Fatal(err)
			}
		case errors.As(joinErr, new(*NotFoundError)) && rmErr == nil:
			if _, err := os.Stat(s.netRunDir(race.ID)); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("a join after the removal left run-time state: %v", err)
			}
		default:
			t.Fatalf("join %v, rm %v: want one of them refused", joinErr, rmErr)
		}
	}
}

func BenchmarkUserNetJoinLeave(b *testing.B) {
	dir := b.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	s.routes = func() ([]netip.Prefix, error) { return nil, nil }
	n, err := s.Create(CreateOptions{Name: "n"})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Join(n.ID, Member{ContainerID: memberA, Name: "a"}); err != nil {
			b.Fatal(err)
		}
		if err := s.Leave(n.ID, memberA); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUserNetSweepNothing(b *testing.B) {
	dir := b.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	for b.Loop() {
		if err := s.SweepMembers(func(string) bool { return true }); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUserNetRealHostRoutes: in a namespace of its own, with the host's
// real routes and skiff0 read by netlink (no bridge.json): a chosen
// subnet skips both; skiff0 on 172.20.0.0/16 leaves 172.17.0.0/16 free.
func TestUserNetRealHostRoutes(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	for name, cidr := range map[string]string{"taken0": "172.18.3.1/16", BridgeInterface: "172.20.0.1/16"} {
		dev := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
		if err := netlink.LinkAdd(dev); err != nil {
			t.Fatal(err)
		}
		addr, _ := netlink.ParseAddr(cidr)
		if err := netlink.AddrAdd(dev, addr); err != nil {
			t.Fatal(err)
		}
		if err := netlink.LinkSetUp(dev); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	var got []string
	for i := range 3 {
		got = append(got, mustCreate(t, s, CreateOptions{Name: fmt.Sprint("n", i)}).Subnet.String())
	}
	if want := "[172.17.0.0/16 172.19.0.0/16 172.21.0.0/16]"; fmt.Sprint(got) != want {
		t.Fatalf("subnets %v, want %s", got, want)
	}
	if _, err := s.Create(CreateOptions{Name: "x", Subnet: "172.20.128.0/17"}); !errors.Is(err, ErrPoolOverlap) {
		t.Fatalf("a subnet inside skiff0's: %v", err)
	}
	if _, err := s.Create(CreateOptions{Name: "routed", Subnet: "172.18.100.0/24"}); err != nil {
		t.Fatalf("an explicit subnet over a host route (docker takes it): %v", err)
	}
}

func TestRenameMember(t *testing.T) {
	s := testUserNetworks(t)
	n, err := s.Create(CreateOptions{Name: "front", Subnet: "10.98.0.0/24"})
	if err != nil {
		t.Fatal(err)
	}
	id := strings.Repeat("c", 64)
	if _, err := s.Join(n.ID, Member{ContainerID: id, Name: "old"}); err != nil {
		t.Fatal(err)
	}
	if err := s.RenameMember(id, "new"); err != nil {
		t.Fatal(err)
	}
	ms, err := s.Members(n.ID)
	if err != nil || len(ms) != 1 || ms[0].Name != "new" || !ms[0].Addr.IsValid() {
		t.Fatalf("members after rename: %+v, %v", ms, err)
	}
	if err := s.RenameMember(strings.Repeat("d", 64), "other"); err != nil {
		t.Fatalf("rename of a container on no network: %v", err)
	}
}
