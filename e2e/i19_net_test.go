package e2e

// Issue 19's network tests: user networks, names between containers,
// isolation, several networks, connect and disconnect, --internal,
// published ports, membership through a container's life and its
// monitor's death, the network commands and bad input, against the real
// binary in the harness's network namespace (i14_netns_test.go). Names
// are looked up with busybox's nslookup and HTTP goes through
// testdata/i19dnsprog (busybox-static's wget crashes).

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two containers on a user network reach each other by name and by
// alias: HTTP to busybox's httpd, and DNS at 127.0.0.11 (named, and
// through resolv.conf); docker's other names of a member, its short id
// and NAME.NETWORK, answer too.
func TestI19NetReachByNameAndAlias(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, _ := i19e2eNetCreate(t, st)
	srvName, cliName := uniqueName(t), uniqueName(t)
	srv := i19e2eHttpd(t, st, srvName, "--network", netName, "--network-alias", "i19web")
	cli := i19e2eSleeper(t, st, cliName, "--network", netName)
	srvIP, cliIP := i19e2eAddrOn(t, st, srv, netName), i19e2eAddrOn(t, st, cli, netName)
	for _, host := range []string{srvName, "i19web"} {
		t.Run("GET http://"+host, func(t *testing.T) { i19e2eGetEventually(t, st, cli, host, srvName) })
		t.Run("nslookup "+host+" 127.0.0.11", func(t *testing.T) { i19e2eLookupEventually(t, st, cli, host, "127.0.0.11", srvIP) })
		t.Run("nslookup "+host+" by resolv.conf", func(t *testing.T) { i19e2eLookupEventually(t, st, cli, host, "", srvIP) })
	}
	t.Run("the server finds the client", func(t *testing.T) { i19e2eLookupEventually(t, st, srv, cliName, "", cliIP) })
	for _, name := range []string{short(srv), srvName + "." + netName} {
		t.Run("nslookup "+name, func(t *testing.T) { i19e2eLookupEventually(t, st, cli, name, "", srvIP) })
	}
}

// Networks are isolated as docker's: a container of another network
// cannot reach a network's members by address, nor see their names, nor
// can a container on the default bridge; and a member reaches neither of
// them. A member of the same network can (the control), and so can the
// others within their own network.
func TestI19NetIsolation(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netA, _ := i19e2eNetCreate(t, st)
	netB, _ := i19e2eNetCreate(t, st)
	srvName, otherName, bridgeName := uniqueName(t), uniqueName(t), uniqueName(t)
	srv := i19e2eHttpd(t, st, srvName, "--network", netA)
	srvIP := i19e2eAddrOn(t, st, srv, netA)
	same := i19e2eSleeper(t, st, uniqueName(t), "--network", netA)
	i19e2eGetEventually(t, st, same, srvIP, srvName)
	other := i19e2eHttpd(t, st, otherName, "--network", netB)
	otherIP := i19e2eAddrOn(t, st, other, netB)
	onBridge := i19e2eHttpd(t, st, bridgeName)
	bridgeIP := i14e2eInspectNet(t, st, onBridge).NetworkSettings.IPAddress
	i19e2eGetEventually(t, st, other, otherIP, otherName)
	i19e2eGetEventually(t, st, onBridge, bridgeIP, bridgeName)
	for _, c := range []struct{ what, from, to, toName string }{
		{netB + " to " + netA, other, srvIP, srvName},
		{"the default bridge to " + netA, onBridge, srvIP, srvName},
		{netA + " to " + netB, same, otherIP, otherName},
		{netA + " to the default bridge", same, bridgeIP, bridgeName},
	} {
		t.Run(c.what, func(t *testing.T) {
			if body, r := i19e2eGet(st, c.from, c.to); r.code == 0 {
				t.Errorf("from %s: reached %s: %q", c.what, c.to, body)
			}
			if got, out := i19e2eLookup(st, c.from, c.toName, ""); len(got) != 0 {
				t.Errorf("from %s: resolved %s: %s", c.what, c.toName, out)
			}
		})
	}
}

// A container on two networks has an interface on each, in --network
// order, its default route through the first, and reaches the members
// of both by name; the members of one still cannot reach the other's.
func TestI19NetTwoNetworks(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netA, _ := i19e2eNetCreate(t, st)
	netB, _ := i19e2eNetCreate(t, st)
	aName, bName := uniqueName(t), uniqueName(t)
	a := i19e2eHttpd(t, st, aName, "--network", netA)
	b := i19e2eHttpd(t, st, bName, "--network", netB)
	both := i19e2eSleeper(t, st, uniqueName(t), "--network", netA, "--network", netB)
	i19e2eGetEventually(t, st, both, aName, aName)
	i19e2eGetEventually(t, st, both, bName, bName)
	eps := i19e2eEndpoints(t, st, both)
	out := st.must(t, "exec", both, "sh", "-c", "ip -o -4 addr show; ip route").stdout
	for _, want := range []string{
		"eth0    inet " + eps[netA].IPAddress + "/",
		"eth1    inet " + eps[netB].IPAddress + "/",
		"default via " + eps[netA].Gateway + " dev eth0",
	} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("container on %s then %s: no %q in:\n%s", netA, netB, want, out)
		}
	}
	if body, r := i19e2eGet(st, a, i19e2eAddrOn(t, st, b, netB)); r.code == 0 {
		t.Errorf("%s's member reached %s's member through a container on both: %q", netA, netB, body)
	}
}

// network connect of a running container makes its name and --alias
// known to the running members at once (its --ip as asked), and gives
// it an interface; disconnect takes them away again.
func TestI19NetConnectDisconnect(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, netID := i19e2eNetCreate(t, st, "--subnet", "10.219.30.0/24")
	member := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
	lateName := uniqueName(t)
	late := i19e2eHttpd(t, st, lateName) // on the default bridge
	i19e2eLookupEventually(t, st, member, lateName, "")

	st.must(t, "network", "connect", "--alias", "i19late", "--ip", "10.219.30.50", netName, lateName)
	if ip := i19e2eAddrOn(t, st, late, netName); ip != "10.219.30.50" {
		t.Errorf("connect --ip 10.219.30.50: inspect shows %s", ip)
	}
	i19e2eLookupEventually(t, st, member, lateName, "", "10.219.30.50")
	i19e2eLookupEventually(t, st, member, "i19late", "", "10.219.30.50")
	i19e2eGetEventually(t, st, member, "i19late", lateName)
	if got := i14e2eProcNetDev(i19e2eCat(t, st, late, "/proc/net/dev")); strings.Join(got, ",") != "eth0,eth1,lo" {
		t.Errorf("interfaces after connect: %v, want eth0 (bridge), eth1 (%s), lo", got, netName)
	}
	if _, ok := i19e2eNetInspect(t, st, netID).Containers[late]; !ok {
		t.Errorf("network inspect %s: no container %s after connect", netName, short(late))
	}

	st.must(t, "network", "disconnect", netName, lateName)
	i19e2eLookupEventually(t, st, member, lateName, "")
	i19e2eLookupEventually(t, st, member, "i19late", "")
	if _, ok := i19e2eEndpoints(t, st, late)[netName]; ok {
		t.Errorf("inspect still shows %s on %s after disconnect", short(late), netName)
	}
	if got := i14e2eProcNetDev(i19e2eCat(t, st, late, "/proc/net/dev")); strings.Join(got, ",") != "eth0,lo" {
		t.Errorf("interfaces after disconnect: %v, want eth0 and lo", got)
	}
	if _, ok := i19e2eNetInspect(t, st, netID).Containers[late]; ok {
		t.Errorf("network inspect %s: container %s still there after disconnect", netName, short(late))
	}
}

// --internal: no way out (to the fake upstream, no default route, no
// forwarded query), while the network's names still resolve. The same
// on a network that is not internal reaches out: the control.
func TestI19NetInternal(t *testing.T) {
	up := i14e2eUpstream(t)
	res := i19e2eUpstreamResolver(t)
	st := shared(t)
	var l net.Listener
	if err := up.Do(func() (err error) { l, err = net.Listen("tcp4", i14e2eUpstreamIP.Addr().String()+":0"); return }); err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "upstream") })}
	go srv.Serve(l)
	defer srv.Close()
	for _, internal := range []bool{false, true} {
		t.Run(fmt.Sprintf("internal=%v", internal), func(t *testing.T) {
			var flags []string
			if internal {
				flags = append(flags, "--internal")
			}
			netName, _ := i19e2eNetCreate(t, st, flags...)
			peerName := uniqueName(t)
			peer := i19e2eSleeper(t, st, peerName, "--network", netName)
			c := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
			i19e2eLookupEventually(t, st, c, peerName, "", i19e2eAddrOn(t, st, peer, netName))

			body, r := i19e2eGet(st, c, l.Addr().String())
			routes := st.must(t, "exec", c, "ip", "route").stdout
			ext := i19e2eExtName(t)
			got, out := i19e2eLookup(st, c, ext, "")
			asked := res.queries(i14e2eUpstreamIP.Addr(), ext)
			if internal {
				if r.code == 0 {
					t.Errorf("a container on an --internal network reached the upstream: %q", body)
				}
				if strings.Contains(routes, "default") {
					t.Errorf("an --internal network's container has a default route:\n%s", routes)
				}
				if len(got) != 0 || asked != 0 {
					t.Errorf("an --internal network's container resolved %s (%v, the upstream asked %d times): %s", ext, got, asked, out)
				}
				return
			}
			if body != "upstream" {
				t.Errorf("a container on a network that is not internal: GET from the upstream %q; %v", body, r)
			}
			if strings.Join(got, ",") != "10.200.0.102" || asked == 0 {
				t.Errorf("%s through the config's dns %s: %v (the upstream asked %d times), want 10.200.0.102: %s",
					ext, i14e2eUpstreamIP.Addr(), got, asked, out)
			}
		})
	}
}

// network rm refuses a network with a running member, with docker's
// sentence and exit 1, leaving it whole; after the member goes it
// removes the network and its bridge.
func TestI19NetRmInUse(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, netID := i19e2eNetCreate(t, st)
	before := i14e2eTraceOf(t, nil)
	c := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
	bridge := i19e2eBridgeOf(netID)
	if !i19e2eLinkExists(bridge) {
		t.Errorf("no bridge %s while %s has a member", bridge, netName)
	}
	if n := i14e2eTraceOf(t, nil).rulesOf(netID); n == 0 {
		t.Errorf("no rule of skiff's table is tagged with the network's id %s", short(netID))
	}
	r := st.skiff(nil, "network", "rm", netName)
	oneLineError(t, r, 1)
	i14e2eOnePrefix(t, strings.TrimSpace(r.stderr))
	if !strings.Contains(r.stderr, "has active endpoints") || !strings.Contains(r.stderr, netName) {
		t.Errorf("network rm of a network in use: %q, want docker's \"... network %s ... has active endpoints\"", r.stderr, netName)
	}
	if n := i19e2eNetInspect(t, st, netName); n.Id != netID || len(n.Containers) != 1 {
		t.Errorf("after the refused rm: network %s id %s, %d containers; want %s with 1", n.Name, n.Id, len(n.Containers), netID)
	}
	if !i19e2eLinkExists(bridge) {
		t.Errorf("the refused rm removed the bridge %s", bridge)
	}
	st.must(t, "rm", "-f", c)
	i14e2eAssertNoTrace(t, st, nil, before, c)
	if out := st.must(t, "network", "rm", netName).stdout; out != netName+"\n" {
		t.Errorf("network rm printed %q, want the name given", out)
	}
	if strings.Contains(" "+strings.Join(i19e2eNetNames(t, st), " ")+" ", " "+netName+" ") {
		t.Errorf("network ls still lists %s after rm", netName)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i19e2eLinkExists(bridge) && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if i19e2eLinkExists(bridge) {
		t.Errorf("bridge %s left after network rm", bridge)
	}
	if n := i14e2eTraceOf(t, nil).rulesOf(netID); n != 0 {
		t.Errorf("%d rules tagged with the removed network's id %s left in skiff's table", n, short(netID))
	}
	if _, err := os.Stat(filepath.Join(st.runroot, "networks", "user", netID)); err == nil {
		t.Errorf("the removed network's run-time directory is left")
	}
}

// A container's names go when it stops (its member record with them)
// and come back when it starts again.
func TestI19NetNamesGoWithContainer(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, netID := i19e2eNetCreate(t, st)
	aName := uniqueName(t)
	a := i19e2eSleeper(t, st, aName, "--network", netName, "--network-alias", "i19gone")
	b := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
	i19e2eLookupEventually(t, st, b, aName, "", i19e2eAddrOn(t, st, a, netName))

	st.must(t, "stop", "-t", "1", a)
	i19e2eLookupEventually(t, st, b, aName, "")
	i19e2eLookupEventually(t, st, b, "i19gone", "")
	if _, err := os.Stat(i19e2eMemberFile(st, netID, a)); err == nil {
		t.Errorf("member record %s left after the container stopped", i19e2eMemberFile(st, netID, a))
	}
	if _, ok := i19e2eNetInspect(t, st, netID).Containers[a]; ok {
		t.Errorf("network inspect lists the stopped container %s", short(a))
	}

	st.must(t, "start", a)
	i19e2eLookupEventually(t, st, b, aName, "", i19e2eAddrOn(t, st, a, netName))
	i19e2eLookupEventually(t, st, b, "i19gone", "", i19e2eAddrOn(t, st, a, netName))
}

// A monitor killed -9 takes only its own container's names: the others
// keep answering, its member record stays until the next skiff command
// removes it.
func TestI19NetKilledMonitor(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := newStore(t), i19e2eImage(t)
	st.killLeftovers(t)
	st.must(t, "pull", img)
	netName, netID := i19e2eNetCreate(t, st)
	names := []string{uniqueName(t), uniqueName(t), uniqueName(t)}
	var ids []string
	for _, n := range names {
		ids = append(ids, i19e2eSleeper(t, st, n, "--network", netName))
	}
	cIP := i19e2eAddrOn(t, st, ids[2], netName)
	i19e2eLookupEventually(t, st, ids[1], names[0], "", i19e2eAddrOn(t, st, ids[0], netName))

	deadMember := i19e2eReadMember(t, st, netID, ids[0])
	if deadMember.HostVeth == "" || !i19e2eLinkExists(deadMember.HostVeth) {
		t.Errorf("member record %+v: no host veth, or it does not exist", deadMember)
	}
	pid := st.inspect(t, ids[0]).State.Pid
	mon := monitorOf(t, pid)
	kill9(mon)
	kill9(pid)
	if !waitGone(mon, 5*time.Second) || !waitGone(pid, 5*time.Second) {
		t.Fatalf("monitor %d or container %d survived SIGKILL", mon, pid)
	}
	dead := i19e2eMemberFile(st, netID, ids[0])
	if _, err := os.Stat(dead); err != nil {
		t.Errorf("the killed monitor's member record %s is gone before any skiff command ran (%v): who removed it?", dead, err)
	}
	st.must(t, "ps")
	if _, err := os.Stat(dead); err == nil {
		t.Errorf("member record %s of the dead container left after `skiff ps`", dead)
	}
	if a := i14e2eAllocations(st, ids[0]); len(a) != 0 {
		t.Errorf("the dead container's address allocations left after `skiff ps`: %v", a)
	}
	if n := i14e2eTraceOf(t, nil).rulesOf(ids[0]); n != 0 {
		t.Errorf("%d rules of the dead container left after `skiff ps`", n)
	}
	for deadline := time.Now().Add(5 * time.Second); deadMember.HostVeth != "" && i19e2eLinkExists(deadMember.HostVeth) && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	if deadMember.HostVeth != "" && i19e2eLinkExists(deadMember.HostVeth) {
		t.Errorf("the dead container's host veth %s left after `skiff ps`", deadMember.HostVeth)
	}
	for _, id := range ids[1:] {
		if _, err := os.Stat(i19e2eMemberFile(st, netID, id)); err != nil {
			t.Errorf("member record of the live container %s: %v", short(id), err)
		}
	}
	i19e2eLookupEventually(t, st, ids[1], names[2], "", cIP)
	i19e2eLookupEventually(t, st, ids[1], names[0], "")
	if c := i19e2eNetInspect(t, st, netID).Containers; len(c) != 2 {
		t.Errorf("network inspect after the sweep: %d containers, want the 2 live ones: %v", len(c), c)
	}
}

// Bad input is refused with docker's sentence, exit 1 (run and create:
// 125), and leaves nothing: no network record, no container, no member.
func TestI19NetBadInput(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i19e2eImage(t)
	base, baseID := i19e2eNetCreate(t, st, "--subnet", "10.219.40.0/24")
	auto, _ := i19e2eNetCreate(t, st)
	for _, c := range []struct {
		what string
		args []string // network create flags; the name is added
		name string   // a name of the case's own, else a fresh one
		want string
	}{
		{"overlapping subnet", []string{"--subnet", "10.219.40.128/25"}, "", "Pool overlaps with other one on this address space"},
		{"the default bridge's subnet", []string{"--subnet", "172.17.5.0/24"}, "", "Pool overlaps with other one on this address space"},
		{"malformed subnet", []string{"--subnet", "10.219.41.0/33"}, "", "invalid CIDR address: 10.219.41.0/33"},
		{"not a subnet", []string{"--subnet", "nonsense"}, "", "invalid CIDR address: nonsense"},
		{"host bits set", []string{"--subnet", "10.219.41.1/24"}, "", "10.219.41.0/24"},
		{"gateway outside", []string{"--subnet", "10.219.42.0/24", "--gateway", "10.219.43.1"}, "", "no matching subnet for gateway 10.219.43.1"},
		{"ip-range outside", []string{"--subnet", "10.219.42.0/24", "--ip-range", "10.219.44.0/25"}, "", "no matching subnet for range 10.219.44.0/25"},
		{"duplicate name", nil, base, "network with name " + base + " already exists"},
		{"predefined name", nil, "bridge", "predefined bridge network"},
	} {
		t.Run(c.what, func(t *testing.T) {
			name := c.name
			if name == "" {
				name = i19e2eNetName(t)
				t.Cleanup(func() { st.skiff(nil, "network", "rm", name) })
			}
			before := i19e2eNetNames(t, st)
			r := st.skiff(nil, append(append([]string{"network", "create"}, c.args...), name)...)
			oneLineError(t, r, 1)
			i14e2eOnePrefix(t, strings.TrimSpace(r.stderr))
			if !strings.Contains(r.stderr, c.want) {
				t.Errorf("network create %v %s: %q, want %q", c.args, name, r.stderr, c.want)
			}
			if after := i19e2eNetNames(t, st); strings.Join(after, " ") != strings.Join(before, " ") {
				t.Errorf("networks before %v, after the failed create %v", before, after)
			}
		})
	}
	if n := i19e2eNetInspect(t, st, base); n.Id != baseID {
		t.Errorf("the duplicate's create changed %s: id %s, want %s", base, n.Id, baseID)
	}

	// Refused at create (a network that does not exist, an alias off a
	// user network): run and create exit 125 and leave no container.
	// Refused at start (an address the network cannot give): docker's
	// run exits 125 and leaves the container created, so only run is
	// asked, and no container left is not required; no member either way.
	for _, c := range []struct {
		what    string
		flags   []string
		want    string
		atStart bool
	}{
		{"unknown network", []string{"--network", "i19nosuch"}, "network i19nosuch not found", false},
		{"unknown second network", []string{"--network", base, "--network", "i19nosuch"}, "network i19nosuch not found", false},
		// docker 26+ says "network-scoped aliases are only supported for
		// user-defined networks", older ones "network-scoped alias is
		// supported only for containers in user defined networks".
		{"--network-alias on the default bridge", []string{"--network-alias", "x"}, "network-scoped alias", false},
		{"--ip without a configured subnet", []string{"--network", auto, "--ip", "172.30.0.9"}, "user specified IP address is supported only when connecting to networks with user configured subnets", true},
		{"--ip outside the subnet", []string{"--network", base, "--ip", "10.219.99.9"}, "It does not belong to any of this network's subnets", true},
		{"--ip of the gateway", []string{"--network", base, "--ip", "10.219.40.1"}, "Address already in use", true},
	} {
		verbs := []string{"run", "create"}
		if c.atStart {
			verbs = verbs[:1]
		}
		for _, verb := range verbs {
			t.Run(verb+" "+c.what, func(t *testing.T) {
				name := uniqueName(t)
				t.Cleanup(func() { st.skiff(nil, "rm", "-f", name) })
				args := append(append([]string{verb, "--name", name, "--dns", i14e2eUpstreamDNS}, c.flags...), img, "true")
				if verb == "run" {
					args = append([]string{"run", "-d"}, args[1:]...)
				}
				r := st.skiff(nil, args...)
				runError(t, r, 125)
				if !strings.Contains(r.stderr, c.want) {
					t.Errorf("%s %v: %q, want %q", verb, c.flags, r.stderr, c.want)
				}
				if out := st.skiff(nil, "ps", "-aq", "--filter", "name="+name).stdout; !c.atStart && strings.TrimSpace(out) != "" {
					t.Errorf("%s %v failed but left the container %q", verb, c.flags, out)
				}
				if n := i19e2eNetInspect(t, st, base); len(n.Containers) != 0 {
					t.Errorf("%s %v failed but left members on %s: %v", verb, c.flags, base, n.Containers)
				}
			})
		}
	}

	for _, c := range []struct {
		what string
		args []string
		want string
	}{
		{"rm of an unknown network", []string{"network", "rm", "i19nosuch"}, "i19nosuch"},
		{"inspect of an unknown network", []string{"network", "inspect", "i19nosuch"}, "i19nosuch"},
		{"connect to an unknown network", []string{"network", "connect", "i19nosuch", "i19nosuchcontainer"}, "i19nosuch"},
		{"connect of an unknown container", []string{"network", "connect", base, "i19nosuchcontainer"}, "No such container: i19nosuchcontainer"},
		{"disconnect of a container not connected", []string{"network", "disconnect", base, "i19nosuchcontainer"}, "i19nosuchcontainer"},
	} {
		t.Run(c.what, func(t *testing.T) {
			r := st.skiff(nil, c.args...)
			if r.code != 1 || !strings.Contains(r.stderr, c.want) || strings.Contains(r.stderr, "panic") {
				t.Errorf("skiff %s: %v; want exit 1 and %q", strings.Join(c.args, " "), r, c.want)
			}
		})
	}
}

// create with every flag, ls (table, -q, --filter, --format), inspect
// (by name and id prefix; the Containers map against the container's own
// inspect), the addresses --ip-range and --ip give, prune and rm.
func TestI19NetCommands(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := newStore(t), i19e2eImage(t)
	st.killLeftovers(t)
	st.must(t, "pull", img)
	cfg, cfgID := i19e2eNetCreate(t, st, "--subnet", "10.219.50.0/24", "--gateway", "10.219.50.254",
		"--ip-range", "10.219.50.128/25", "--label", "i19=yes", "--internal")
	auto, autoID := i19e2eNetCreate(t, st)

	n := i19e2eNetInspect(t, st, cfg)
	if n.Name != cfg || n.Id != cfgID || n.Driver != "bridge" || n.Scope != "local" || !n.Internal || n.Labels["i19"] != "yes" || len(n.Containers) != 0 {
		t.Errorf("network inspect %s: %+v", cfg, n)
	}
	if len(n.IPAM.Config) != 1 || n.IPAM.Config[0].Subnet != "10.219.50.0/24" || n.IPAM.Config[0].Gateway != "10.219.50.254" || n.IPAM.Config[0].IPRange != "10.219.50.128/25" {
		t.Errorf("network inspect %s: IPAM %+v", cfg, n.IPAM)
	}
	a := i19e2eNetInspect(t, st, autoID[:12])
	if a.Name != auto || len(a.IPAM.Config) != 1 {
		t.Fatalf("network inspect by id prefix %s: %+v", autoID[:12], a)
	}
	sub, err := netip.ParsePrefix(a.IPAM.Config[0].Subnet)
	if err != nil || sub.Overlaps(i14e2eBridgeNet) || sub.Overlaps(netip.MustParsePrefix("10.219.50.0/24")) || sub.Overlaps(i14e2eHarnessIP.Masked()) {
		t.Errorf("the subnet chosen for %s: %q (%v), want one of docker's pools overlapping no other network", auto, a.IPAM.Config[0].Subnet, err)
	}

	ls := st.must(t, "network", "ls").stdout
	if f := strings.Fields(strings.SplitN(ls, "\n", 2)[0]); strings.Join(f, " ") != "NETWORK ID NAME DRIVER SCOPE" {
		t.Errorf("network ls header %q", f)
	}
	for _, want := range []string{cfgID[:12] + " " + cfg + " bridge local", autoID[:12] + " " + auto + " bridge local", "bridge bridge local"} {
		if !strings.Contains(strings.Join(strings.Fields(ls), " "), want) {
			t.Errorf("network ls has no row %q:\n%s", want, ls)
		}
	}
	if q := st.must(t, "network", "ls", "-q").stdout; !strings.Contains(q, cfgID[:12]+"\n") || !strings.Contains(q, autoID[:12]+"\n") {
		t.Errorf("network ls -q: %q, want both short ids", q)
	}
	for _, f := range []string{"name=" + cfg, "label=i19=yes", "id=" + cfgID[:8]} {
		if out := st.must(t, "network", "ls", "--filter", f, "--format", "{{.Name}} {{.Internal}}").stdout; out != cfg+" true\n" {
			t.Errorf("network ls --filter %s: %q, want only %s", f, out, cfg)
		}
	}

	fixed := st.runD(t, "--network", cfg, "--ip", "10.219.50.20", img, "sleep", "300")
	ranged := st.runD(t, "--network", cfg, img, "sleep", "300")
	n = i19e2eNetInspect(t, st, cfg)
	for _, c := range []struct{ id, ip string }{{fixed, "10.219.50.20"}, {ranged, ""}} {
		got, ok := n.Containers[c.id]
		ep := i19e2eEndpoints(t, st, c.id)[cfg]
		name := strings.TrimPrefix(st.inspect(t, c.id).Name, "/")
		switch {
		case !ok:
			t.Errorf("network inspect %s: no container %s in %v", cfg, short(c.id), n.Containers)
		case got.Name != name || got.IPv4Address != ep.IPAddress+"/24" || got.MacAddress != ep.MacAddress || got.EndpointID != ep.EndpointID || ep.EndpointID == "":
			t.Errorf("network inspect's Containers[%s] %+v; the container's own inspect: name %s, %+v", short(c.id), got, name, ep)
		case ep.NetworkID != cfgID:
			t.Errorf("container inspect's NetworkID %s, want %s", ep.NetworkID, cfgID)
		case c.ip != "" && ep.IPAddress != c.ip:
			t.Errorf("--ip %s: got %s", c.ip, ep.IPAddress)
		case c.ip == "" && !netip.MustParsePrefix("10.219.50.128/25").Contains(netip.MustParseAddr(ep.IPAddress)):
			t.Errorf("an address outside --ip-range 10.219.50.128/25: %s", ep.IPAddress)
		}
	}

	out := st.must(t, "network", "prune", "-f").stdout
	if !strings.Contains(out, "Deleted Networks:\n") || !strings.Contains(out, "\n"+auto+"\n") || strings.Contains(out, cfg) {
		t.Errorf("network prune -f: %q, want docker's \"Deleted Networks:\" and %s only (%s is in use)", out, auto, cfg)
	}
	if names := strings.Join(i19e2eNetNames(t, st), " "); strings.Contains(names, auto) || !strings.Contains(names, cfg) {
		t.Errorf("networks after prune: %s", names)
	}
	st.must(t, "rm", "-f", fixed, ranged)
	st.must(t, "network", "rm", cfg)
	if names := strings.Join(i19e2eNetNames(t, st), " "); names != "bridge host none" {
		t.Errorf("networks after rm: %q, want the predefined ones", names)
	}
	if recs, _ := filepath.Glob(filepath.Join(st.root, "networks", "*.json")); len(recs) != 0 {
		t.Errorf("network records left: %v", recs)
	}
}

// A port published by a container on a user network reaches its address
// there: from the harness on 127.0.0.1, and through the host's address
// from a container of another network (DNAT'd traffic crosses networks,
// as docker's).
func TestI19NetPublish(t *testing.T) {
	i14e2eUpstream(t) // the harness's address 10.200.0.1
	st := shared(t)
	netA, _ := i19e2eNetCreate(t, st)
	netB, _ := i19e2eNetCreate(t, st)
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	name := uniqueName(t)
	i19e2eHttpd(t, st, name, "--network", netA, "-p", fmt.Sprintf("%d:80", hp))
	var body string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if resp, err := (&http.Client{Timeout: 3 * time.Second}).Get(fmt.Sprintf("http://127.0.0.1:%d/", hp)); err == nil {
			b := make([]byte, 200)
			n, _ := resp.Body.Read(b)
			resp.Body.Close()
			if body = strings.TrimSpace(string(b[:n])); body == name {
				break
			}
		}
	}
	if body != name {
		t.Errorf("GET 127.0.0.1:%d from the harness: %q, want %q", hp, body, name)
	}
	other := i19e2eSleeper(t, st, uniqueName(t), "--network", netB)
	i19e2eGetEventually(t, st, other, fmt.Sprintf("%s:%d", i14e2eHarnessIP.Addr(), hp), name)
}

// network connect of a container that is not running records the
// network; it joins at its start, as docker's, and its name answers then.
func TestI19NetConnectStopped(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i19e2eImage(t)
	netName, netID := i19e2eNetCreate(t, st)
	member := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
	name := uniqueName(t)
	id := st.create(t, "--name", name, "--dns", i14e2eUpstreamDNS, img, "sleep", "300")
	st.must(t, "network", "connect", "--alias", "i19later", netName, name)
	if _, ok := i19e2eEndpoints(t, st, id)[netName]; !ok {
		t.Errorf("inspect of the created container after connect: no %s in %v", netName, i19e2eEndpoints(t, st, id))
	}
	if _, ok := i19e2eNetInspect(t, st, netID).Containers[id]; ok {
		t.Errorf("network inspect lists a container that is not running")
	}
	st.must(t, "start", id)
	ip := i19e2eAddrOn(t, st, id, netName)
	i19e2eLookupEventually(t, st, member, name, "", ip)
	i19e2eLookupEventually(t, st, member, "i19later", "", ip)
}
