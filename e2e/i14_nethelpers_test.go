package e2e

// Helpers of the issue-14 network tests: the test program's image, clients
// that retry until a container's server listens, and the checks that a
// container left no veth, nftables rule or address allocation behind.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
)

// i14e2eImage is busybox with /bin/i14netprog (testdata/i14netprog).
func i14e2eImage(t *testing.T) string {
	t.Helper()
	return testProgImage(t, "i14netprog")
}

// i14e2eRunD is run -d with --dns in a test namespace (never the host's
// resolvers), removed at the test's end.
func i14e2eRunD(t *testing.T, st *store, args ...string) string {
	t.Helper()
	return st.runD(t, append([]string{"--dns", i14e2eUpstreamDNS}, args...)...)
}

// i14e2eDialTCP connects to addr and reads what the server says, trying
// again for 10 s while the container's server is not listening yet. It
// returns the reply and the client's own address.
func i14e2eDialTCP(addr string) (reply, local string, err error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		reply, local, err = i14e2eDialOnce(addr)
		if err == nil && reply != "" {
			return reply, local, nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = fmt.Errorf("dial %s: empty reply", addr)
			}
			return "", "", err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func i14e2eDialOnce(addr string) (string, string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(c)
	return string(b), c.LocalAddr().String(), err
}

// i14e2eDialUDP sends msg to addr and returns the reply and the client's
// address, trying for 10 s.
func i14e2eDialUDP(addr, msg string) (reply, local string, err error) {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return "", "", err
	}
	defer c.Close()
	buf := make([]byte, 2048)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if n, err := c.Read(buf); err == nil {
			return string(buf[:n]), c.LocalAddr().String(), nil
		}
	}
	return "", "", fmt.Errorf("no UDP reply from %s in 10 s", addr)
}

// i14e2ePeer is the peer address in i14netprog's reply ("peer A ...").
func i14e2ePeer(reply string) string {
	f := strings.Fields(reply)
	if len(f) < 2 || f[0] != "peer" {
		return ""
	}
	return f[1]
}

// i14e2eNetSettings is inspect's NetworkSettings, the fields tests read.
type i14e2eNetSettings struct {
	NetworkSettings struct {
		IPAddress   string
		IPPrefixLen int
		Gateway     string
		MacAddress  string
		Ports       map[string][]struct{ HostIp, HostPort string }
		Networks    map[string]struct{ IPAddress, Gateway, MacAddress string }
	}
}

func i14e2eInspectNet(t *testing.T, st *store, id string) i14e2eNetSettings {
	t.Helper()
	r := st.must(t, "inspect", id)
	var out []i14e2eNetSettings
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v; %v", short(id), err, r)
	}
	return out[0]
}

// i14e2eProcNetDev lists the interfaces of a /proc/net/dev.
func i14e2eProcNetDev(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok && !strings.Contains(name, "|") {
			out = append(out, strings.TrimSpace(name))
		}
	}
	sort.Strings(out)
	return out
}

// i14e2eTrace is what skiff's bridge holds in a namespace: veth names,
// and the rules of skiff's nftables table with their user data.
type i14e2eTrace struct {
	veths map[string]bool
	rules [][]byte // UserData of every rule in skiff's table
}

// i14e2eTraceOf reads ns (nil: the harness's namespace).
func i14e2eTraceOf(t *testing.T, ns *i14e2eNetns) i14e2eTrace {
	t.Helper()
	h := &netlink.Handle{}
	var opts []nftables.ConnOption
	if ns != nil {
		var err error
		if h, err = ns.handle(); err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		opts = append(opts, nftables.WithNetNSFd(int(ns.fd.Fd())))
	}
	links, err := h.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	tr := i14e2eTrace{veths: map[string]bool{}}
	for _, l := range links {
		if l.Type() == "veth" {
			tr.veths[l.Attrs().Name] = true
		}
	}
	c, err := nftables.New(opts...)
	if err != nil {
		t.Fatalf("nftables: %v", err)
	}
	chains, err := c.ListChains()
	if err != nil {
		t.Fatalf("list nftables chains: %v", err)
	}
	for _, ch := range chains {
		if ch.Table.Name != "skiff" {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatalf("rules of chain %s: %v", ch.Name, err)
		}
		for _, r := range rules {
			tr.rules = append(tr.rules, r.UserData)
		}
	}
	return tr
}

// rulesOf counts the rules tagged with the container's id (full or short).
func (tr i14e2eTrace) rulesOf(id string) int {
	n := 0
	for _, u := range tr.rules {
		if bytes.Contains(u, []byte(id)) || bytes.Contains(u, []byte(short(id))) {
			n++
		}
	}
	return n
}

// newVeths are the veths of tr that before did not have.
func (tr i14e2eTrace) newVeths(before i14e2eTrace) []string {
	var out []string
	for v := range tr.veths {
		if !before.veths[v] && v != i14e2eHarnessIf {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// i14e2eAllocations lists the files under the store's <runroot>/networks
// whose name or content names one of the ids: an address still held.
func i14e2eAllocations(st *store, ids ...string) []string {
	var out []string
	filepath.WalkDir(filepath.Join(st.runroot, "networks"), func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, id := range ids {
			if strings.Contains(p, id) || strings.Contains(p, short(id)) || bytes.Contains(b, []byte(id)) {
				out = append(out, p)
				break
			}
		}
		return nil
	})
	return out
}

// i14e2eAssertNoTrace checks that the containers left nothing in ns
// (nil: the harness's): no veth that was not there before, no rule with
// their id, no address allocated to them. It waits up to 5 s: the
// monitor detaches as the container exits.
func i14e2eAssertNoTrace(t *testing.T, st *store, ns *i14e2eNetns, before i14e2eTrace, ids ...string) {
	t.Helper()
	var veths, allocs []string
	rules := 0
	deadline := time.Now().Add(5 * time.Second)
	for {
		tr := i14e2eTraceOf(t, ns)
		veths, allocs, rules = tr.newVeths(before), i14e2eAllocations(st, ids...), 0
		for _, id := range ids {
			rules += tr.rulesOf(id)
		}
		if len(veths)+len(allocs)+rules == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(veths) > 0 {
		t.Errorf("veths left: %v", veths)
	}
	if rules > 0 {
		t.Errorf("%d nftables rules of skiff's table still carry a removed container's id", rules)
	}
	if len(allocs) > 0 {
		t.Errorf("address allocations left: %v", allocs)
	}
}

// i14e2eAssertTrace checks the container is attached as the no-trace
// checks would see it: a new veth, rules with its id, its allocation.
// Without this, a check that finds nothing would prove nothing.
func i14e2eAssertTrace(t *testing.T, st *store, ns *i14e2eNetns, before i14e2eTrace, id string, wantRules bool) {
	t.Helper()
	tr := i14e2eTraceOf(t, ns)
	if v := tr.newVeths(before); len(v) != 1 {
		t.Errorf("veths added by the container: %v, want one", v)
	}
	if wantRules && tr.rulesOf(id) == 0 {
		t.Errorf("no rule of skiff's table carries the id %s in its user data (rules: %q)", short(id), tr.rules)
	}
	if a := i14e2eAllocations(st, id); len(a) == 0 {
		t.Errorf("no file under %s names the container: where is its address allocation?", filepath.Join(st.runroot, "networks"))
	}
}

// i14e2eServeTCP runs the test program's TCP server on :80 in a container
// of st, published on a free host port as the -p format pub says
// ("%d:80", "127.0.0.1:%d:80"), and returns the container's id and the
// host port.
func i14e2eServeTCP(t *testing.T, st *store, img, pub string) (id string, hostPort int) {
	t.Helper()
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return i14e2eRunD(t, st, "-p", fmt.Sprintf(pub, hp), img, "i14netprog", "tcp-serve", ":80"), hp
}
