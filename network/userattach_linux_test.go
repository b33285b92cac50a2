package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// uaID is a container id whose first 7 hex digits (its user veths' part)
// are tag's, padded with 0s.
func uaID(tag string) string { return tag + strings.Repeat("0", 64-len(tag)) }

// uaAttach attaches a fake container (a process in a namespace of its own)
// to n as eth0, detached when the test ends.
func uaAttach(t *testing.T, s *UserNetworks, cfg Config, n *UserNetwork, id, name string, route bool, ports ...PortMap) (int, *Endpoint) {
	t.Helper()
	pid := fakeContainer(t)
	ep, err := s.Attach(cfg, n, UserRequest{Request: Request{ID: id, Pid: pid, Ports: ports}, Name: name, Interface: "eth0", DefaultRoute: route})
	if err != nil {
		t.Fatalf("attach %s to %s: %v", name, n.Name, err)
	}
	t.Cleanup(func() { ep.Detach() })
	return pid, ep
}

// fakeUpstream is a namespace beyond the host's uplink up0 (10.200.0.1/24
// here, 10.200.0.2 there) that routes 10.0.0.0/8 back through the host:
// the outside world of the tests.
func fakeUpstream(t *testing.T) int {
	t.Helper()
	upstream := fakeContainer(t)
	upNs, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", upstream))
	if err != nil {
		t.Fatal(err)
	}
	defer upNs.Close()
	pair := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "up0"}, PeerName: "up1", PeerNamespace: netlink.NsFd(int(upNs.Fd()))}
	if err := netlink.LinkAdd(pair); err != nil {
		t.Fatal(err)
	}
	up0, _ := netlink.LinkByName("up0")
	addr, _ := netlink.ParseAddr("10.200.0.1/24")
	if err := errors.Join(netlink.AddrAdd(up0, addr), netlink.LinkSetUp(up0)); err != nil {
		t.Fatal(err)
	}
	err = inNetnsOf(upstream, func() error {
		up1, err := netlink.LinkByName("up1")
		if err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("10.200.0.2/24")
		if err := errors.Join(netlink.AddrAdd(up1, addr), netlink.LinkSetUp(up1)); err != nil {
			return err
		}
		_, ten, _ := net.ParseCIDR("10.0.0.0/8")
		return netlink.RouteAdd(&netlink.Route{LinkIndex: up1.Attrs().Index, Dst: ten, Gw: net.ParseIP("10.200.0.1")})
	})
	if err != nil {
		t.Fatal(err)
	}
	return upstream
}

// uaDial is what pid's namespace gets from addr's greeting server: its
// line, or an error (a drop: nothing within timeout).
func uaDial(pid int, addr string, timeout time.Duration) (string, error) {
	var got string
	err := inNetnsOf(pid, func() error {
		c, err := net.DialTimeout("tcp4", addr, timeout)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 200)
		n, err := c.Read(b)
		got = strings.TrimSpace(string(b[:n]))
		return err
	})
	return got, err
}

// Two user networks, an --internal one, skiff0 and a fake upstream: who
// reaches whom, with skiff's forward policy accept (the host forwarded
// already: isolation is the drop rules' alone) and drop (skiff turned
// forwarding on: what passes is the accept rules').
func TestUserNetIsolationPolicyAccept(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	userNetIsolation(t, "1")
}

func TestUserNetIsolationPolicyDrop(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	userNetIsolation(t, "0")
}

func userNetIsolation(t *testing.T, forwarding string) {
	if err := os.WriteFile(ipForward, []byte(forwarding), 0o644); err != nil {
		t.Fatal(err)
	}
	s := testUserNetworks(t)
	cfg := Config{RunDir: s.RunDir}
	a := mustCreate(t, s, CreateOptions{Name: "a", Subnet: "10.1.0.0/24"})
	b := mustCreate(t, s, CreateOptions{Name: "b", Subnet: "10.2.0.0/24"})
	in := mustCreate(t, s, CreateOptions{Name: "in", Subnet: "10.3.0.0/24", Internal: true})
	up := fakeUpstream(t)
	serveGreeting(t, up, 9999, "upstream")

	pids := map[string]int{"up": up}
	for _, c := range []struct {
		n         *UserNetwork
		name, hex string
		ports     []PortMap
	}{
		{a, "a1", "a1", nil}, {a, "a2", "a2", nil}, {b, "b1", "b1", []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}},
		{in, "i1", "e1", nil}, {in, "i2", "e2", nil},
	} {
		pids[c.name], _ = uaAttach(t, s, cfg, c.n, uaID(c.hex), c.name, !c.n.Internal, c.ports...)
	}
	pids["d1"] = fakeContainer(t)
	d1, err := Attach(cfg, Request{ID: uaID("d1"), Pid: pids["d1"]})
	if err != nil {
		t.Fatal(err)
	}
	defer d1.Detach()
	for name, pid := range pids {
		if name != "up" {
			serveGreeting(t, pid, 80, name)
		}
	}
	// The caller never routes an --internal network's containers out:
	// give i1 a route anyway, so that only the rules stop it.
	err = inNetnsOf(pids["i1"], func() error {
		eth, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		return netlink.RouteAdd(&netlink.Route{LinkIndex: eth.Attrs().Index, Gw: net.ParseIP("10.3.0.1")})
	})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		from, to, want string // want "": dropped
	}{
		{"a1", "10.1.0.3:80", "a2 from 10.1.0.2:"}, // within a network
		{"a2", "10.1.0.2:80", "a1 from 10.1.0.3:"},
		{"a1", "10.2.0.2:80", ""}, // across user networks, both ways
		{"b1", "10.1.0.2:80", ""},
		{"a1", d1.Addr.Addr().String() + ":80", ""}, // user network <-> skiff0, both ways
		{"d1", "10.1.0.2:80", ""},
		{"a1", "10.200.0.2:9999", "upstream from 10.200.0.1:"}, // outbound, masqueraded
		{"b1", "10.200.0.2:9999", "upstream from 10.200.0.1:"},
		{"d1", "10.200.0.2:9999", "upstream from 10.200.0.1:"},
		{"up", "10.2.0.2:80", ""},                        // the outside to a user network's container: docker 28 drops it
		{"up", "10.200.0.1:8080", "b1 from 10.200.0.2:"}, // a published port keeps the client's address
		{"a1", "10.1.0.1:8080", "b1 from 10.2.0.1:"},     // a published port from another network
		{"b1", "10.2.0.1:8080", "b1 from 10.2.0.1:"},     // hairpin
		{"i1", "10.3.0.3:80", "i2 from 10.3.0.2:"},       // within an --internal network
		{"i1", "10.200.0.2:9999", ""},                    // --internal: no way out
		{"i1", "10.1.0.2:80", ""},
		{"a1", "10.3.0.2:80", ""}, // nor in
		{"up", "10.3.0.2:80", ""},
	}
	// At once: each drop waits out its timeout (a second; what should
	// pass gets five, the machine may be busy).
	type result struct {
		got string
		err error
	}
	results := make([]chan result, len(cases))
	for i, c := range cases {
		results[i] = make(chan result, 1)
		timeout := 5 * time.Second
		if c.want == "" {
			timeout = time.Second
		}
		go func() {
			got, err := uaDial(pids[c.from], c.to, timeout)
			results[i] <- result{got, err}
		}()
	}
	for i, c := range cases {
		r := <-results[i]
		got, err := r.got, r.err
		switch {
		case c.want == "" && err == nil:
			t.Errorf("%s -> %s: %q, want it dropped", c.from, c.to, got)
		case c.want != "" && (err != nil || !strings.HasPrefix(got, c.want)):
			t.Errorf("%s -> %s: %q %v, want %q...", c.from, c.to, got, err, c.want)
		}
	}
}

// Attach's endpoint and the container's side: a second network is eth1
// without a default route; Detach leaves nothing (record, address, veth).
func TestUserAttachTwoNetworks(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	s := testUserNetworks(t)
	cfg := Config{RunDir: s.RunDir}
	first := mustCreate(t, s, CreateOptions{Name: "first", Subnet: "10.1.0.0/24"})
	second := mustCreate(t, s, CreateOptions{Name: "second", Subnet: "10.2.0.0/24", Options: map[string]string{optMTUShort: "1400"}})
	id := uaID("c1")
	pid := fakeContainer(t)
	eps := map[string]*Endpoint{}
	for i, n := range []*UserNetwork{first, second} {
		ep, err := s.Attach(cfg, n, UserRequest{Request: Request{ID: id, Pid: pid}, Name: "c1", Aliases: []string{"web"},
			Interface: fmt.Sprintf("eth%d", i), DefaultRoute: i == 0})
		if err != nil {
			t.Fatal(err)
		}
		eps[n.Name] = ep
	}
	ep := eps["second"]
	if ep.Interface != second.Bridge || ep.NetworkID != second.ID || ep.IfName != "eth1" || ep.HostVeth != "vnc100000"+second.ID[:6] ||
		ep.Addr.String() != "10.2.0.2/24" || ep.Gateway.String() != "10.2.0.1" || ep.MAC != "02:42:0a:02:00:02" || ep.MTU != 1400 ||
		ep.Member.HostVeth != ep.HostVeth || ep.Member.Interface != "eth1" || len(ep.Member.EndpointID) != 64 {
		t.Fatalf("endpoint %+v", ep)
	}
	if eps["first"].HostVeth == ep.HostVeth || strings.HasPrefix(ep.HostVeth, "veth") {
		t.Fatalf("host veths %s and %s", eps["first"].HostVeth, ep.HostVeth)
	}
	on, err := s.ContainerNetworks(id)
	if err != nil || on[second.ID].HostVeth != ep.HostVeth || on[first.ID].Interface != "eth0" {
		t.Fatalf("member records %+v %v", on, err)
	}
	if br, err := netlink.LinkByName(second.Bridge); err != nil || br.Attrs().MTU != 1400 {
		t.Fatalf("bridge %s: %v", second.Bridge, err)
	}
	err = inNetnsOf(pid, func() error {
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		var defaults []string
		for _, r := range routes {
			if ones, _ := maskOnes(r.Dst); ones == 0 {
				defaults = append(defaults, r.Gw.String())
			}
		}
		if len(defaults) != 1 || defaults[0] != "10.1.0.1" {
			return fmt.Errorf("default routes via %v, want 10.1.0.1 only", defaults)
		}
		eth1, err := netlink.LinkByName("eth1")
		if err != nil {
			return err
		}
		addrs, _ := netlink.AddrList(eth1, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != "10.2.0.2/24" || eth1.Attrs().MTU != 1400 || eth1.Attrs().Flags&net.FlagUp == 0 {
			return fmt.Errorf("eth1 %+v %v", eth1.Attrs(), addrs)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, ep := range eps {
		if err := ep.Detach(); err != nil {
			t.Fatal(err)
		}
	}
	uaCheckNothingLeft(t, s, id, first, second)
}

// uaCheckNothingLeft: id has no member record, address, veth nor rule on
// the networks.
func uaCheckNothingLeft(t *testing.T, s *UserNetworks, id string, nets ...*UserNetwork) {
	t.Helper()
	if on, err := s.ContainerNetworks(id); err != nil || len(on) != 0 {
		t.Errorf("member of %v (%v)", on, err)
	}
	for _, n := range nets {
		if _, err := netlink.LinkByName(userVethName(id, n.ID)); err == nil {
			t.Errorf("veth %s left", userVethName(id, n.ID))
		}
		owners, _ := readOwners(s.netRunDir(n.ID))
		for a, owner := range owners {
			if owner == id {
				t.Errorf("address %s on %s left", a, n.Name)
			}
		}
	}
	if n := rulesOf(t, id); n != 0 {
		t.Errorf("%d port rules left", n)
	}
}

// A failure at any step leaves no record, address, veth, rule nor port
// reservation.
func TestUserAttachFailureLeavesNothing(t *testing.T) {
	s, cfg, n, ok := uaOneNetwork(t)
	if !ok {
		return
	}
	ln, err := net.Listen("tcp4", "0.0.0.0:8081")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	other := uaID("0e")
	if _, err := s.Join(n.ID, Member{ContainerID: other, Name: "other", Addr: netip.MustParseAddr("10.1.0.9")}); err != nil {
		t.Fatal(err)
	}
	id := uaID("c1")
	pid := fakeContainer(t)
	for _, c := range []struct {
		name string
		req  UserRequest
		want string
	}{
		{"port in use", UserRequest{Request: Request{ID: id, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8079, ContainerPort: 80}, {Proto: "tcp", HostPort: 8081, ContainerPort: 80}}}},
			"failed to bind host port 0.0.0.0:8081/tcp: address already in use"},
		{"address taken", UserRequest{Request: Request{ID: id, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8079, ContainerPort: 80}}}, IP: netip.MustParseAddr("10.1.0.9")},
			"Address already in use"},
		{"no such namespace", UserRequest{Request: Request{ID: id, Pid: 1 << 22, Ports: []PortMap{{Proto: "tcp", HostPort: 8079, ContainerPort: 80}}}},
			"open the container's network namespace"},
		{"interface taken", UserRequest{Request: Request{ID: id, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8079, ContainerPort: 80}}}, Interface: "lo"},
			"create veth pair"},
		{"::1 port taken", UserRequest{Request: Request{ID: id, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8082, ContainerPort: 80}}}},
			"failed to bind host port [::1]:8082/tcp"},
	} {
		if c.name == "::1 port taken" {
			ln6, err := net.Listen("tcp6", "[::1]:8082")
			if err != nil {
				t.Fatal(err)
			}
			defer ln6.Close()
		}
		c.req.Name = "c1"
		ep, err := s.Attach(cfg, n, c.req)
		if err == nil || !strings.Contains(err.Error(), c.want) || ep != nil {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		uaCheckNothingLeft(t, s, id, n)
		for _, port := range []string{"0.0.0.0:8079", "0.0.0.0:8082"} {
			if l, err := net.Listen("tcp4", port); err != nil {
				t.Errorf("%s: reservation of %s left: %v", c.name, port, err)
			} else {
				l.Close()
			}
		}
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		t.Errorf("the network's bridge (made before the failures) is gone: %v", err)
	}
}

// Disconnect takes the container's interface, its published ports on the
// network and its record; another container stays.
func TestUserDisconnect(t *testing.T) {
	s, cfg, n, ok := uaOneNetwork(t)
	if !ok {
		return
	}
	id := uaID("c1")
	pid, _ := uaAttach(t, s, cfg, n, id, "c1", true, PortMap{Proto: "tcp", HostPort: 8080, ContainerPort: 80})
	stay := uaID("c2")
	uaAttach(t, s, cfg, n, stay, "c2", true, PortMap{Proto: "tcp", HostPort: 8081, ContainerPort: 80})
	if rulesOf(t, id) != 1 {
		t.Fatal("no port rule")
	}
	if err := s.Disconnect(n, id); err != nil {
		t.Fatal(err)
	}
	uaCheckNothingLeft(t, s, id, n)
	err := inNetnsOf(pid, func() error {
		if _, err := netlink.LinkByName("eth0"); err == nil {
			return errors.New("the container's eth0 is still there")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if members, _ := s.Members(n.ID); len(members) != 1 || members[0].ContainerID != stay || rulesOf(t, stay) != 1 {
		t.Fatalf("the other member: %+v, %d rules", members, rulesOf(t, stay))
	}
	if err := s.Disconnect(n, id); err != nil {
		t.Fatalf("disconnect twice: %v", err)
	}
}

// RemoveBridge takes n's device, rules and run directory, and nothing of
// another network's.
func TestUserRemoveBridge(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	s := testUserNetworks(t)
	cfg := Config{RunDir: s.RunDir}
	gone := mustCreate(t, s, CreateOptions{Name: "gone", Subnet: "10.1.0.0/24"})
	kept := mustCreate(t, s, CreateOptions{Name: "kept", Subnet: "10.2.0.0/24", Internal: true})
	for _, n := range []*UserNetwork{gone, kept} {
		if err := s.EnsureBridge(cfg, n); err != nil {
			t.Fatal(err)
		}
	}
	if got := uaNetRules(t, gone.ID); got != 5 {
		t.Fatalf("%d rules of the network, want 5 (2 drops, 3 masquerades)", got)
	}
	if got := uaNetRules(t, kept.ID); got != 2 {
		t.Fatalf("%d rules of the --internal network, want 2 drops", got)
	}
	if got, want := uaBridgesSet(t), uaSorted(BridgeInterface, gone.Bridge, kept.Bridge); got != want {
		t.Fatalf("bridges set %s", got)
	}
	if _, err := s.Remove("gone"); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveBridge(gone); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(gone.Bridge); err == nil {
		t.Error("device left")
	}
	if got := uaNetRules(t, gone.ID); got != 0 {
		t.Errorf("%d rules left", got)
	}
	if got := uaBridgesSet(t); got != uaSorted(BridgeInterface, kept.Bridge) {
		t.Errorf("bridges set %s", got)
	}
	if _, err := os.Stat(s.netRunDir(gone.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("run directory left: %v", err)
	}
	if _, err := netlink.LinkByName(kept.Bridge); err != nil || uaNetRules(t, kept.ID) != 2 {
		t.Errorf("the other network's device (%v) or rules (%d) went too", err, uaNetRules(t, kept.ID))
	}
	if err := s.RemoveBridge(gone); err != nil {
		t.Errorf("RemoveBridge twice: %v", err)
	}
}

// uaNetRules counts the rules tagged with network id.
func uaNetRules(t *testing.T, id string) int {
	t.Helper()
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	rules, err := netRules(c, func(tagged, _ string) bool { return tagged == id })
	if err != nil {
		t.Fatal(err)
	}
	return len(rules)
}

// skiff0 made again rewrites the base chains (flushed): the user
// networks' rules stay, and the base chains jump to them again; a device
// a removed network left (a kill between Remove and RemoveBridge) is taken
// over by the next network of its name, its stale rules and address gone.
func TestUserRulesSurviveTableRewrite(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	s := testUserNetworks(t)
	cfg := Config{RunDir: s.RunDir}
	n := mustCreate(t, s, CreateOptions{Name: "n", Subnet: "10.1.0.0/24", Options: map[string]string{OptBridgeName: "mybr0"}})
	if err := s.EnsureBridge(cfg, n); err != nil {
		t.Fatal(err)
	}
	base := countRules(t)
	link, _ := netlink.LinkByName(BridgeInterface)
	if err := netlink.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	if got := uaNetRules(t, n.ID); got != 5 {
		t.Fatalf("%d rules of the network after skiff0's table was rewritten, want 5", got)
	}
	if got := countRules(t); got != base {
		t.Fatalf("%d rules after the rewrite, %d before", got, base)
	}
	if got := uaBridgesSet(t); got != "[mybr0 skiff0]" {
		t.Fatalf("bridges set %s after the rewrite", got)
	}

	// The record goes, the device stays (killed before RemoveBridge).
	if _, err := s.Remove("n"); err != nil {
		t.Fatal(err)
	}
	again := mustCreate(t, s, CreateOptions{Name: "again", Subnet: "10.9.0.0/24", Options: map[string]string{OptBridgeName: "mybr0"}})
	if err := s.EnsureBridge(cfg, again); err != nil {
		t.Fatal(err)
	}
	if old, now := uaNetRules(t, n.ID), uaNetRules(t, again.ID); old != 0 || now != 5 {
		t.Fatalf("%d stale rules, %d new ones", old, now)
	}
	if got := uaBridgeAddrs(t, "mybr0"); got != "[10.9.0.1/24]" {
		t.Fatalf("mybr0's addresses %s", got)
	}
}

// uaBridgesSet lists the bridges set's elements, sorted.
func uaBridgesSet(t *testing.T) string {
	t.Helper()
	c, _ := nftables.New()
	set, err := c.GetSetByName(skiffTable, bridgesSetName)
	if err != nil {
		t.Fatal(err)
	}
	elems, err := c.GetSetElements(set)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range elems {
		out = append(out, strings.TrimRight(string(e.Key), "\x00"))
	}
	return uaSorted(out...)
}

func uaSorted(names ...string) string {
	slices.Sort(names)
	return fmt.Sprint(names)
}

func uaBridgeAddrs(t *testing.T, name string) string {
	t.Helper()
	link, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	addrs, _ := netlink.AddrList(link, netlink.FAMILY_V4)
	var out []string
	for _, a := range addrs {
		out = append(out, a.IPNet.String())
	}
	return fmt.Sprint(out)
}

// A monitor killed -9 leaves its members: SweepMembers takes their veths,
// port rules, records and addresses, and only theirs.
func TestUserSweepDeadMember(t *testing.T) {
	s, cfg, n, ok := uaOneNetwork(t)
	if !ok {
		return
	}
	dead, live := uaID("dd"), uaID("aa")
	_, killed := uaAttach(t, s, cfg, n, dead, "dead", true, PortMap{Proto: "tcp", HostPort: 8080, ContainerPort: 80})
	for _, c := range killed.closers { // what the monitor's death closes
		c()
	}
	uaAttach(t, s, cfg, n, live, "live", true, PortMap{Proto: "tcp", HostPort: 8081, ContainerPort: 80})
	if err := s.SweepMembers(func(id string) bool { return id == live }); err != nil {
		t.Fatal(err)
	}
	uaCheckNothingLeft(t, s, dead, n)
	if members, _ := s.Members(n.ID); len(members) != 1 || rulesOf(t, live) != 1 {
		t.Fatalf("the live member: %+v, %d rules", members, rulesOf(t, live))
	}
	if _, err := netlink.LinkByName(userVethName(live, n.ID)); err != nil {
		t.Fatalf("the live member's veth: %v", err)
	}
}

// Unpublish (the monitor, as the process exits) leaves the network at
// once; DetachAfterExit leaves the veth to the kernel and the next start
// of the same container replaces a veth still standing.
func TestUserDetachAfterExit(t *testing.T) {
	s, cfg, n, ok := uaOneNetwork(t)
	if !ok {
		return
	}
	id := uaID("c1")
	pid := fakeContainer(t)
	req := UserRequest{Request: Request{ID: id, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}}, Name: "c1", DefaultRoute: true}
	ep, err := s.Attach(cfg, n, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := ep.Unpublish(); err != nil {
		t.Fatal(err)
	}
	if members, _ := s.Members(n.ID); len(members) != 0 || rulesOf(t, id) != 0 {
		t.Fatalf("after Unpublish: members %+v, %d rules", members, rulesOf(t, id))
	}
	if err := ep.DetachAfterExit(); err != nil {
		t.Fatal(err)
	}
	if _, err := netlink.LinkByName(ep.HostVeth); err != nil {
		t.Fatalf("DetachAfterExit deleted the veth (the kernel's to do): %v", err)
	}
	uaCheckNothingLeftButVeth(t, s, id, n)
	// The process lives on, its namespace keeps the veth: what a restart
	// right after an exit finds.
	req.Pid = fakeContainer(t)
	again, err := s.Attach(cfg, n, req)
	if err != nil {
		t.Fatalf("Attach with the last start's veth standing: %v", err)
	}
	if again.Addr == ep.Addr {
		t.Logf("address %s again (the old veth was replaced first)", again.Addr)
	}
	syscall.Kill(req.Pid, syscall.SIGKILL)
	if err := errors.Join(again.Unpublish(), again.DetachAfterExit()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := netlink.LinkByName(again.HostVeth); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel never deleted the dead namespace's veth")
		}
		time.Sleep(10 * time.Millisecond)
	}
	uaCheckNothingLeft(t, s, id, n)
}

func uaCheckNothingLeftButVeth(t *testing.T, s *UserNetworks, id string, n *UserNetwork) {
	t.Helper()
	if on, _ := s.ContainerNetworks(id); len(on) != 0 {
		t.Errorf("member of %v", on)
	}
	if owners, _ := readOwners(s.netRunDir(n.ID)); len(owners) != 0 {
		t.Errorf("addresses %v", owners)
	}
	if _, err := os.Stat(filepath.Join(s.netRunDir(n.ID), userBridgeFile)); err != nil {
		t.Errorf("the network's marker: %v", err)
	}
}

// Attach + DetachAfterExit of a fresh container on a user network and on
// the default bridge, alternately (the budget: a user network's
// run at most 3 ms more than the bridge's).
func BenchmarkUserAttachVsBridge(b *testing.B) {
	if !inFreshNetns(b) {
		b.SkipNow()
	}
	dir := b.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	cfg := Config{RunDir: s.RunDir}
	n, err := s.Create(CreateOptions{Name: "n", Subnet: "10.1.0.0/16"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.EnsureBridge(cfg, n); err != nil {
		b.Fatal(err)
	}
	var onBridge, onUser time.Duration
	i := 0
	for b.Loop() {
		b.StopTimer()
		pids := [2]int{fakeContainer(b), fakeContainer(b)}
		b.StartTimer()
		id := fmt.Sprintf("%07x", i) + strings.Repeat("0", 57) // the first 7 digits name the user veth
		t0 := time.Now()
		ep, err := Attach(cfg, Request{ID: id, Pid: pids[0]})
		if err == nil {
			err = errors.Join(ep.Unpublish(), ep.DetachAfterExit())
		}
		t1 := time.Now()
		if err == nil {
			ep, err = s.Attach(cfg, n, UserRequest{Request: Request{ID: id, Pid: pids[1]}, Name: "c" + id[:8], DefaultRoute: true})
		}
		if err == nil {
			err = errors.Join(ep.Unpublish(), ep.DetachAfterExit())
		}
		if err != nil {
			b.Fatal(err)
		}
		onBridge, onUser, i = onBridge+t1.Sub(t0), onUser+time.Since(t1), i+1
		b.StopTimer()
		for _, pid := range pids {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(onBridge.Microseconds())/float64(i), "bridge-µs/op")
	b.ReportMetric(float64(onUser.Microseconds())/float64(i), "user-µs/op")
}

// Makers at once (several networks, each several times) agree: one
// device and one set of rules per network; a device gone (a reboot, by
// hand) is made again, and a marker gone rewrites the rules without
// doubling them.
func TestUserEnsureBridgeConcurrentAndAgain(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	s := testUserNetworks(t)
	cfg := Config{RunDir: s.RunDir}
	var nets []*UserNetwork
	for i := range 3 {
		nets = append(nets, mustCreate(t, s, CreateOptions{Name: fmt.Sprint("n", i), Subnet: fmt.Sprintf("10.%d.0.0/24", i+1)}))
	}
	errs := make(chan error, 4*len(nets))
	for range 4 {
		for _, n := range nets {
			go func() { errs <- s.EnsureBridge(cfg, n) }()
		}
	}
	for range 4 * len(nets) {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range nets {
		if got := uaNetRules(t, n.ID); got != 5 {
			t.Errorf("%s: %d rules, want 5", n.Name, got)
		}
		if got := uaBridgeAddrs(t, n.Bridge); got != fmt.Sprintf("[%s/24]", n.Gateway) {
			t.Errorf("%s: addresses %s", n.Bridge, got)
		}
	}
	total := countRules(t)
	n := nets[0]
	if err := deleteLink(n.Bridge); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(s.netRunDir(nets[1].ID), userBridgeFile)); err != nil {
		t.Fatal(err)
	}
	for _, n := range nets {
		if err := s.EnsureBridge(cfg, n); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := netlink.LinkByName(n.Bridge); err != nil {
		t.Fatalf("the deleted device was not made again: %v", err)
	}
	if got := countRules(t); got != total {
		t.Fatalf("%d rules after making again, %d before", got, total)
	}
	if b, err := os.ReadFile(filepath.Join(s.netRunDir(n.ID), userBridgeFile)); err != nil || string(b) != `{"bridge":"`+n.Bridge+`","mtu":1500}` {
		t.Fatalf("marker %s %v", b, err)
	}
}

// Someone flushed the ruleset: an Attach publishing a port finds skiff's
// table gone and writes it again with its network's rules, isolation
// included.
func TestUserAttachAfterRulesetFlushed(t *testing.T) {
	s, cfg, n, ok := uaOneNetwork(t)
	if !ok {
		return
	}
	if err := s.EnsureBridge(cfg, n); err != nil {
		t.Fatal(err)
	}
	c, _ := nftables.New()
	c.FlushRuleset()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	pid, _ := uaAttach(t, s, cfg, n, uaID("c1"), "c1", true, PortMap{Proto: "tcp", HostPort: 8080, ContainerPort: 80})
	serveGreeting(t, pid, 80, "web")
	if got := uaNetRules(t, n.ID); got != 5 {
		t.Fatalf("%d rules of the network, want 5", got)
	}
	if got, err := readGreeting("127.0.0.1:8080"); err != nil || !strings.HasPrefix(got, "web") {
		t.Fatalf("the published port: %q %v", got, err)
	}
}

// EnsureBridge with all there: what every start on a user network pays
// beyond the default bridge's own check.
func BenchmarkUserEnsureBridgeReady(b *testing.B) {
	if !inFreshNetns(b) {
		b.SkipNow()
	}
	dir := b.TempDir()
	s := NewUserNetworks(filepath.Join(dir, "root"), Config{RunDir: RunDir(filepath.Join(dir, "run"))})
	cfg := Config{RunDir: s.RunDir}
	n, err := s.Create(CreateOptions{Name: "n", Subnet: "10.1.0.0/24"})
	if err != nil {
		b.Fatal(err)
	}
	if err := s.EnsureBridge(cfg, n); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := s.EnsureBridge(cfg, n); err != nil {
			b.Fatal(err)
		}
	}
}

// uaOneNetwork is a test's fresh network namespace (ok false: the test
// runs there in a child, this process returns) with one user network
// "n", 10.1.0.0/24.
func uaOneNetwork(t *testing.T) (s *UserNetworks, cfg Config, n *UserNetwork, ok bool) {
	t.Helper()
	if !inFreshNetns(t) {
		return nil, Config{}, nil, false
	}
	s = testUserNetworks(t)
	return s, Config{RunDir: s.RunDir}, mustCreate(t, s, CreateOptions{Name: "n", Subnet: "10.1.0.0/24"}), true
}
