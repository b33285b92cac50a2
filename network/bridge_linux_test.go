package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const testID = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

func testConfig(t *testing.T) Config { return Config{RunDir: t.TempDir()} }

func TestEnsureBridge(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	// A new netns may inherit forwarding from the host's: start from off.
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	if got := bridgeAddr().String(); got != "172.17.0.1/16" {
		t.Fatalf("skiff0's address %s, want 172.17.0.1/16", got)
	}
	s, err := loadSettings(cfg.RunDir)
	if err != nil {
		t.Fatal(err)
	}
	if !s.ForwardDrop || s.MTU != 1500 {
		t.Fatalf("settings %+v: want ForwardDrop (a fresh netns does not forward) and MTU 1500", s)
	}
	for path, want := range map[string]string{ipForward: "1", "/proc/sys/net/ipv4/conf/skiff0/route_localnet": "1"} {
		if b, _ := os.ReadFile(path); strings.TrimSpace(string(b)) != want {
			t.Errorf("%s = %q, want %s", path, b, want)
		}
	}
	rules := countRules(t)
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	// Gone bridge, kept settings: made again alike, rules not doubled.
	link, _ := netlink.LinkByName(BridgeInterface)
	if err := netlink.LinkDel(link); err != nil {
		t.Fatal(err)
	}
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	if got := bridgeAddr().String(); got != "172.17.0.1/16" {
		t.Fatalf("re-made skiff0's address %s, want 172.17.0.1/16", got)
	}
	if again := countRules(t); again != rules {
		t.Fatalf("%d rules after making the bridge again, %d before", again, rules)
	}
	if policy := forwardPolicy(t); policy != nftables.ChainPolicyDrop {
		t.Fatalf("forward policy %v, want drop: skiff turned forwarding on", policy)
	}
}

func TestEnsureBridgeSkipsRoutesAndTakesBIP(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	dummy := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: "taken0"}} // any device with a route
	if err := netlink.LinkAdd(dummy); err != nil {
		t.Fatal(err)
	}
	addr, _ := netlink.ParseAddr("172.17.3.1/16")
	if err := netlink.AddrAdd(dummy, addr); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(dummy); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	if got := bridgeAddr().String(); got != "172.18.0.1/16" {
		t.Fatalf("skiff0's address %s, want 172.18.0.1/16 (172.17.0.0/16 is routed)", got)
	}
	link, _ := netlink.LinkByName(BridgeInterface)
	netlink.LinkDel(link)
	cfg = Config{RunDir: t.TempDir(), BIP: netip.MustParsePrefix("10.55.0.9/24")}
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	if got := bridgeAddr().String(); got != "10.55.0.9/24" {
		t.Fatalf("skiff0's address %s, want bip 10.55.0.9/24", got)
	}
}

func TestAttachPublishedPorts(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	pid := fakeContainer(t)
	serveGreeting(t, pid, 80, "web")
	serveGreeting(t, pid, 9003, "ranged")
	ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{
		{Proto: "tcp", HostPort: 8080, ContainerPort: 80},
		{Proto: "tcp", HostPort: 9000, ContainerPort: 9000, Count: 10},
		{Proto: "tcp", HostPort: 0, ContainerPort: 80},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if ep.Addr.String() != "172.17.0.2/16" || ep.Gateway.String() != "172.17.0.1" || ep.MAC != "02:42:ac:11:00:02" || ep.HostVeth != "veth01234567" {
		t.Fatalf("endpoint %+v", ep)
	}
	random := ep.Ports[2].HostPort
	if random == 0 {
		t.Fatal("host port 0 not resolved")
	}
	checkContainerSide(t, pid)
	if n := rulesOf(t, testID); n != 3 {
		t.Fatalf("%d rules for the container, want 3 (the 10-port range is one)", n)
	}
	for _, c := range []struct{ addr, want string }{
		{"172.17.0.1:8080", "web from 172.17.0.1:"},   // the host's address
		{"127.0.0.1:8080", "web from 172.17.0.1:"},    // loopback, masqueraded
		{"[::1]:8080", "web from 172.17.0.1:"},        // the ::1 forwarder
		{"172.17.0.1:9003", "ranged from 172.17.0.1"}, // a port in the range
		{fmt.Sprintf("127.0.0.1:%d", random), "web from"},
	} {
		got, err := readGreeting(c.addr)
		if err != nil || !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q %v, want %q...", c.addr, got, err, c.want)
		}
	}
	// Hairpin: the container reaches its own published port through the
	// host's address.
	var got string
	err = inNetnsOf(pid, func() (err error) {
		got, err = readGreeting("172.17.0.1:8080")
		return err
	})
	if err != nil || !strings.HasPrefix(got, "web from 172.17.0.1:") {
		t.Errorf("hairpin: %q %v", got, err)
	}

	again, err := Attach(cfg, Request{ID: strings.Repeat("f", 64), Pid: fakeContainer(t), Ports: []PortMap{{Proto: "tcp", HostPort: 9005, ContainerPort: 80}}})
	if err == nil || err.Error() != "Bind for 0.0.0.0:9005 failed: port is already allocated" || !errors.Is(err, unix.EADDRINUSE) {
		t.Fatalf("a port another container publishes: %v", err)
	}
	if again != nil {
		t.Fatal("an endpoint with the error")
	}

	if err := ep.Detach(); err != nil {
		t.Fatal(err)
	}
	if err := ep.Detach(); err != nil {
		t.Fatalf("second Detach: %v", err)
	}
	checkNothingLeft(t, cfg, testID)
	if _, err := readGreeting("127.0.0.1:8080"); err == nil {
		t.Fatal("the port still answers after Detach")
	}
	if ln, err := net.Listen("tcp", ":8080"); err != nil {
		t.Fatalf("host port not released: %v", err)
	} else {
		ln.Close()
	}
}

func TestAttachUDPAndMappedPorts(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	pid := fakeContainer(t)
	var pc net.PacketConn
	if err := inNetnsOf(pid, func() (err error) { pc, err = net.ListenPacket("udp4", ":5353"); return err }); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		b := make([]byte, 100)
		for {
			n, from, err := pc.ReadFrom(b)
			if err != nil {
				return
			}
			pc.WriteTo(append([]byte("echo "), b[:n]...), from)
		}
	}()
	serveGreeting(t, pid, 7002, "mapped")
	ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{
		{Proto: "udp", HostPort: 53, ContainerPort: 5353},
		{Proto: "tcp", HostPort: 8000, ContainerPort: 7000, Count: 3},
		{Proto: "tcp", HostIP: netip.IPv6Loopback(), HostPort: 8090, ContainerPort: 7002},
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Detach()
	if n := rulesOf(t, testID); n != 4 {
		t.Fatalf("%d rules, want 4 (a range with other container ports: one per port; none for ::1)", n)
	}
	for _, addr := range []string{"127.0.0.1:8002", "[::1]:8002", "[::1]:8090"} {
		if got, err := readGreeting(addr); err != nil || !strings.HasPrefix(got, "mapped") {
			t.Errorf("%s -> 7002: %q %v", addr, got, err)
		}
	}
	if _, err := readGreeting("127.0.0.1:8090"); err == nil {
		t.Error("a port published on ::1 answers on 127.0.0.1")
	}
	for _, addr := range []string{"172.17.0.1:53", "127.0.0.1:53", "[::1]:53"} {
		if got, err := udpEcho(addr, "ping"); err != nil || got != "echo ping" {
			t.Errorf("udp %s: %q %v", addr, got, err)
		}
	}
}

func udpEcho(addr, msg string) (string, error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		return "", err
	}
	b := make([]byte, 100)
	n, err := c.Read(b)
	return string(b[:n]), err
}

func TestAttachPortInUseLeavesNothing(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	if err := EnsureBridge(cfg); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "0.0.0.0:8081")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pid := fakeContainer(t)
	_, err = Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{
		{Proto: "tcp", HostPort: 8079, ContainerPort: 80},
		{Proto: "udp", HostPort: 8081, ContainerPort: 80},
		{Proto: "tcp", HostPort: 8081, ContainerPort: 80},
	}})
	if err == nil || err.Error() != "failed to bind host port 0.0.0.0:8081/tcp: address already in use" {
		t.Fatalf("Attach with a port in use: %v", err)
	}
	checkNothingLeft(t, cfg, testID)
	for _, p := range []string{"tcp4", "udp4"} {
		addr := "0.0.0.0:8079"
		if p == "udp4" {
			addr = "0.0.0.0:8081"
		}
		if c, err := listenAny(p, addr); err != nil {
			t.Errorf("reservation of %s %s left: %v", p, addr, err)
		} else {
			c.Close()
		}
	}
	// The last step failing (::1's port taken) undoes every other.
	ln6, err := net.Listen("tcp6", "[::1]:8082")
	if err != nil {
		t.Fatal(err)
	}
	defer ln6.Close()
	_, err = Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8082, ContainerPort: 80}}})
	if err == nil || err.Error() != "failed to bind host port [::1]:8082/tcp: address already in use" {
		t.Fatalf("Attach with ::1's port in use: %v", err)
	}
	checkNothingLeft(t, cfg, testID)
	if c, err := net.Listen("tcp4", "0.0.0.0:8082"); err != nil {
		t.Errorf("reservation of 0.0.0.0:8082 left: %v", err)
	} else {
		c.Close()
	}
	// A tiny pool's exhaustion fails as cleanly.
	cfg = Config{RunDir: t.TempDir()}
	if err := saveSettings(cfg.RunDir, settings{Subnet: netip.MustParsePrefix("172.17.0.0/30"), Gateway: netip.MustParseAddr("172.17.0.1"), MTU: 1500}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := allocate(cfg.RunDir, netip.MustParsePrefix("172.17.0.0/30"), netip.MustParseAddr("172.17.0.1"), "other", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8079, ContainerPort: 80}}}); !errors.Is(err, ErrPoolExhausted) {
		t.Fatalf("Attach with the pool exhausted: %v", err)
	}
	checkNothingLeft(t, cfg, testID)
}

func listenAny(network, addr string) (interface{ Close() error }, error) {
	if network == "udp4" {
		return net.ListenPacket(network, addr)
	}
	return net.Listen(network, addr)
}

func TestSweep(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	if err := Sweep(cfg, func(string) bool { t.Fatal("alive asked with nothing allocated"); return false }); err != nil {
		t.Fatal(err)
	}
	live, dead := strings.Repeat("a", 64), strings.Repeat("d", 64)
	for i, id := range []string{live, dead} {
		if _, err := Attach(cfg, Request{ID: id, Pid: fakeContainer(t), Ports: []PortMap{{Proto: "tcp", HostPort: uint16(8000 + i), ContainerPort: 80}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := Sweep(cfg, func(id string) bool { return id == live }); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, cfg, dead)
	if n := rulesOf(t, live); n != 1 {
		t.Fatalf("the live container has %d rules, want 1", n)
	}
	if _, err := netlink.LinkByName(vethName(live)); err != nil {
		t.Fatalf("the live container's veth: %v", err)
	}
}

func TestForwardBlocked(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	if err := EnsureBridge(testConfig(t)); err != nil {
		t.Fatal(err)
	}
	if got := ForwardBlocked(); got != "" {
		t.Fatalf("skiff's own drop policy reported: %q", got)
	}
	c, err := nftables.New()
	if err != nil {
		t.Fatal(err)
	}
	drop := nftables.ChainPolicyDrop
	table := c.AddTable(&nftables.Table{Name: "filter", Family: nftables.TableFamilyIPv4})
	chain := c.AddChain(&nftables.Chain{Name: "FORWARD", Table: table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "chain FORWARD of table ip filter drops forwarded packets by policy; allow skiff0 with: iptables -I FORWARD -i skiff0 -j ACCEPT && iptables -I FORWARD -o skiff0 -j ACCEPT"
	if got := ForwardBlocked(); got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	c.AddRule(&nftables.Rule{Table: table, Chain: chain, Exprs: concat(ifname(expr.MetaKeyIIFNAME, expr.CmpOpEq), &expr.Verdict{Kind: expr.VerdictAccept})})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := ForwardBlocked(); got != "" {
		t.Fatalf("a chain accepting skiff0 reported: %q", got)
	}
	inet := c.AddTable(&nftables.Table{Name: "fw", Family: nftables.TableFamilyINet})
	c.AddChain(&nftables.Chain{Name: "fwd", Table: inet, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := ForwardBlocked(); !strings.Contains(got, "chain fwd of table inet fw") || !strings.Contains(got, "nft insert rule inet fw fwd iifname skiff0 accept") {
		t.Fatalf("inet table: %q", got)
	}
}

func BenchmarkAttachDetach(b *testing.B) {
	if !inFreshNetns(b) {
		b.SkipNow()
	}
	cfg := Config{RunDir: b.TempDir()}
	pid := fakeContainer(b)
	var attach, detach time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := ep.Detach(); err != nil {
			b.Fatal(err)
		}
		attach, detach, n = attach+t1.Sub(t0), detach+time.Since(t1), n+1
	}
	b.ReportMetric(float64(attach.Microseconds())/float64(n), "attach-µs/op")
	b.ReportMetric(float64(detach.Microseconds())/float64(n), "detach-µs/op")
}

// EnsureBridge with the bridge there: what every bridge start's CLI pays.
func BenchmarkEnsureBridgeReady(b *testing.B) {
	if !inFreshNetns(b) {
		b.SkipNow()
	}
	cfg := Config{RunDir: b.TempDir()}
	if err := EnsureBridge(cfg); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := EnsureBridge(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// Sweep with nothing allocated: what every skiff command pays.
func BenchmarkSweepNothing(b *testing.B) {
	cfg := Config{RunDir: b.TempDir()}
	for b.Loop() {
		if err := Sweep(cfg, func(string) bool { return true }); err != nil {
			b.Fatal(err)
		}
	}
}

// checkContainerSide: eth0 in pid's namespace has its address, is up, and
// routes by default through the gateway.
func checkContainerSide(t *testing.T, pid int) {
	t.Helper()
	err := inNetnsOf(pid, func() error {
		eth, err := netlink.LinkByName("eth0")
		if err != nil {
			return err
		}
		addrs, _ := netlink.AddrList(eth, netlink.FAMILY_V4)
		if len(addrs) != 1 || addrs[0].IPNet.String() != "172.17.0.2/16" {
			return fmt.Errorf("eth0's addresses %v", addrs)
		}
		if eth.Attrs().MTU != 1500 || eth.Attrs().HardwareAddr.String() != "02:42:ac:11:00:02" {
			return fmt.Errorf("eth0 %+v", eth.Attrs())
		}
		routes, _ := netlink.RouteList(eth, netlink.FAMILY_V4)
		for _, r := range routes {
			if ones, _ := maskOnes(r.Dst); ones == 0 && r.Gw.String() == "172.17.0.1" {
				return nil
			}
		}
		return fmt.Errorf("no default route via 172.17.0.1: %v", routes)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkNothingLeft: id has no rule, veth nor address.
func checkNothingLeft(t *testing.T, cfg Config, id string) {
	t.Helper()
	if n := rulesOf(t, id); n != 0 {
		t.Errorf("%d rules left", n)
	}
	if _, err := netlink.LinkByName(vethName(id)); err == nil {
		t.Errorf("veth %s left", vethName(id))
	}
	owners, _ := readOwners(cfg.RunDir)
	for a, owner := range owners {
		if owner == id {
			t.Errorf("address %s left", a)
		}
	}
}

// rulesOf counts the rules tagged with id.
func rulesOf(t *testing.T, id string) int {
	t.Helper()
	c, _ := nftables.New()
	rules, err := c.GetRules(skiffTable, publishedChainRef())
	if err != nil {
		return 0
	}
	n := 0
	for _, r := range rules {
		if tag, _ := userdata.GetString(r.UserData, userdata.TypeComment); tag == id {
			n++
		}
	}
	return n
}

func countRules(t *testing.T) int {
	t.Helper()
	c, _ := nftables.New()
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ch := range chains {
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		n += len(rules)
	}
	return n
}

func forwardPolicy(t *testing.T) nftables.ChainPolicy {
	t.Helper()
	c, _ := nftables.New()
	ch, err := c.ListChain(skiffTable, "forward")
	if err != nil || ch.Policy == nil {
		t.Fatalf("skiff's forward chain: %v", err)
	}
	return *ch.Policy
}

// A monitor killed before its Detach leaves the id's address, veth and
// rules; the container's next start replaces them instead of failing or
// doubling rules.
func TestAttachAfterKilledMonitor(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	ports := []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}
	first, err := Attach(cfg, Request{ID: testID, Pid: fakeContainer(t), Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range first.closers { // what the monitor's death closes
		c()
	}
	pid := fakeContainer(t)
	serveGreeting(t, pid, 80, "second")
	ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: ports})
	if err != nil {
		t.Fatalf("Attach after a killed monitor: %v", err)
	}
	if ep.Addr != first.Addr {
		t.Errorf("address %s, want the id's %s back", ep.Addr, first.Addr)
	}
	if n := rulesOf(t, testID); n != 1 {
		t.Errorf("%d rules, want 1", n)
	}
	if got, err := readGreeting("127.0.0.1:8080"); err != nil || !strings.HasPrefix(got, "second") {
		t.Errorf("the port after re-attaching: %q %v", got, err)
	}
	if err := ep.Detach(); err != nil {
		t.Fatal(err)
	}
	checkNothingLeft(t, cfg, testID)
}

func TestNftErrorNoKernelSupport(t *testing.T) {
	for _, errno := range []error{unix.EOPNOTSUPP, unix.EPROTONOSUPPORT} {
		if err := nftError(fmt.Errorf("netlink receive: %w", errno)); !errors.Is(err, ErrNoNftables) {
			t.Errorf("%v: %v, want ErrNoNftables", errno, err)
		}
	}
	if err := nftError(unix.EPERM); errors.Is(err, ErrNoNftables) {
		t.Errorf("EPERM taken for a kernel without nf_tables")
	}
}

// Outbound NAT and inbound DNAT through a routed uplink, with skiff's
// forward chain dropping by policy: the container reaches a fake upstream
// host as the host's address, and the upstream reaches the published port
// keeping its own source address (no userland proxy in between).
func TestUplinkNATKeepsClientAddress(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	upstream := fakeUpstream(t)
	serveGreeting(t, upstream, 9999, "upstream")

	cfg := testConfig(t)
	pid := fakeContainer(t)
	serveGreeting(t, pid, 80, "web")
	ep, err := Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Detach()
	if policy := forwardPolicy(t); policy != nftables.ChainPolicyDrop {
		t.Fatalf("forward policy %v, want drop", policy)
	}
	var got string
	err = inNetnsOf(pid, func() (err error) { got, err = readGreeting("10.200.0.2:9999"); return err })
	if err != nil || !strings.HasPrefix(got, "upstream from 10.200.0.1:") {
		t.Errorf("container to upstream: %q %v, want it masqueraded as 10.200.0.1", got, err)
	}
	err = inNetnsOf(upstream, func() (err error) { got, err = readGreeting("10.200.0.1:8080"); return err })
	if err != nil || !strings.HasPrefix(got, "web from 10.200.0.2:") {
		t.Errorf("upstream to the published port: %q %v, want the client's own address 10.200.0.2", got, err)
	}
}

// Commands making the bridge at once agree: one bridge, one set of base
// rules, and the drop policy of forwarding skiff turned on.
func TestEnsureBridgeConcurrent(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	errs := make(chan error, 8)
	for range 8 {
		go func() { errs <- EnsureBridge(cfg) }()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if policy := forwardPolicy(t); policy != nftables.ChainPolicyDrop {
		t.Fatalf("forward policy %v, want drop", policy)
	}
	if s, err := loadSettings(cfg.RunDir); err != nil || !s.ForwardDrop {
		t.Fatalf("settings %+v %v, want ForwardDrop", s, err)
	}
	if n := countRules(t); n != 8 {
		t.Fatalf("%d base rules, want 8 (2 jumps, 3 masquerades, 3 forward)", n)
	}
}

// Someone flushed the ruleset (`nft flush ruleset`): Detach still frees
// the rest and reports no error for rules already gone.
func TestDetachAfterRulesetFlushed(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	cfg := testConfig(t)
	ep, err := Attach(cfg, Request{ID: testID, Pid: fakeContainer(t), Ports: []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := nftables.New()
	c.FlushRuleset()
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := ep.Detach(); err != nil {
		t.Fatalf("Detach: %v", err)
	}
	checkNothingLeft(t, cfg, testID)
	pid := fakeContainer(t)
	serveGreeting(t, pid, 80, "web")
	ep, err = Attach(cfg, Request{ID: testID, Pid: pid, Ports: []PortMap{{Proto: "tcp", HostPort: 8080, ContainerPort: 80}}})
	if err != nil {
		t.Fatalf("Attach with skiff's table gone: %v", err)
	}
	defer ep.Detach()
	if got, err := readGreeting("127.0.0.1:8080"); err != nil || !strings.HasPrefix(got, "web") {
		t.Errorf("the port with the table written again: %q %v", got, err)
	}
}

// docker's own FORWARD DROP, made by iptables-nft as docker makes it, and
// the fix the warning names: what ForwardBlocked reads is what that tool
// writes (skipped without iptables-nft).
func TestForwardBlockedByIptablesNft(t *testing.T) {
	if _, err := exec.LookPath("iptables-nft"); err != nil {
		t.Skip("no iptables-nft")
	}
	if !inFreshNetns(t) {
		return
	}
	if err := EnsureBridge(testConfig(t)); err != nil {
		t.Fatal(err)
	}
	iptables := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("iptables-nft", args...).CombinedOutput(); err != nil {
			t.Fatalf("iptables-nft %v: %v\n%s", args, err, out)
		}
	}
	iptables("-P", "FORWARD", "DROP")
	if got := ForwardBlocked(); !strings.Contains(got, "iptables -I FORWARD -i skiff0 -j ACCEPT && iptables -I FORWARD -o skiff0 -j ACCEPT") {
		t.Fatalf("iptables' FORWARD DROP: %q", got)
	}
	iptables("-I", "FORWARD", "-i", "skiff0", "-j", "ACCEPT")
	iptables("-I", "FORWARD", "-o", "skiff0", "-j", "ACCEPT")
	if got := ForwardBlocked(); got != "" {
		t.Fatalf("after the fix it names: %q", got)
	}
}

// Two run roots in one network namespace share skiff0 but not the
// allocator's files: the kernel's record (the host veths' aliases) keeps
// their containers' addresses apart.
func TestTwoRunRootsShareTheBridge(t *testing.T) {
	if !inFreshNetns(t) {
		return
	}
	if err := os.WriteFile(ipForward, []byte("0"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Attach(testConfig(t), Request{ID: strings.Repeat("a", 64), Pid: fakeContainer(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Detach()
	b, err := Attach(testConfig(t), Request{ID: strings.Repeat("b", 64), Pid: fakeContainer(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Detach()
	if a.Addr == b.Addr || a.Gateway != b.Gateway {
		t.Fatalf("run roots' containers: %s via %s and %s via %s", a.Addr, a.Gateway, b.Addr, b.Gateway)
	}
	if policy := forwardPolicy(t); policy != nftables.ChainPolicyDrop {
		t.Fatalf("forward policy %v after the second run root made its bridge, want the first's drop", policy)
	}
}
