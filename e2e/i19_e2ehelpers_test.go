package e2e

// Helpers of the issue-19 tests (user networks, names between containers):
// networks removed at the test's end, a busybox httpd that says who it
// is, the client program's image, name lookups from inside a container,
// and the tiny resolver the tests run in the fake upstream's namespace.

import (
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/dns/dnsmessage"
)

// i19e2eImage is busybox with /bin/i19dnsprog (testdata/i19dnsprog): an
// HTTP client (busybox-static's wget crashes) and a timed query loop.
func i19e2eImage(t *testing.T) string {
	t.Helper()
	return testProgImage(t, "i19dnsprog")
}

// i19e2eNetName is a network name no other test uses.
func i19e2eNetName(t *testing.T) string {
	return "i19" + strings.TrimPrefix(uniqueName(t), "e2e")
}

// i19e2eNetCreate creates a network (the given flags, then a fresh name)
// and removes it when the test ends: registered before the test's
// containers, its removal runs after theirs. The upstream's resolver is
// started first: a name no network has is forwarded there (the suite's
// containers name it as their server) and is NXDOMAIN at once, where an
// upstream that is not there would make each such lookup time out.
func i19e2eNetCreate(t *testing.T, st *store, flags ...string) (name, id string) {
	t.Helper()
	i19e2eUpstreamResolver(t)
	name = i19e2eNetName(t)
	r := st.skiff(nil, append(append([]string{"network", "create"}, flags...), name)...)
	id = idOf(t, r, "network create "+strings.Join(flags, " ")+" "+name)
	t.Cleanup(func() { st.skiff(nil, "network", "rm", name) })
	return name, id
}

// i19e2eHttpd runs busybox's httpd on :80 whose page is the container's
// name, with the run flags given (--network, --network-alias ...).
func i19e2eHttpd(t *testing.T, st *store, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"--name", name}, flags...)
	return i14e2eRunD(t, st, append(args, i19e2eImage(t), "sh", "-c",
		"mkdir -p /www && echo "+name+" > /www/index.html && exec httpd -f -p 80 -h /www")...)
}

// i19e2eSleeper runs `sleep 300` named name with the run flags given.
func i19e2eSleeper(t *testing.T, st *store, name string, flags ...string) string {
	t.Helper()
	args := append([]string{"--name", name}, flags...)
	return i14e2eRunD(t, st, append(args, i19e2eImage(t), "sleep", "300")...)
}

// i19e2eGet is `i19dnsprog get http://host/` in container id: the body,
// or the failure's result.
func i19e2eGet(st *store, id, host string) (string, result) {
	r := st.skiff(nil, "exec", id, "i19dnsprog", "get", "http://"+host+"/")
	if r.code != 0 {
		return "", r
	}
	return strings.TrimSpace(r.stdout), r
}

// i19e2eGetEventually retries i19e2eGet for 10 s until it answers want
// (the server may not listen yet).
func i19e2eGetEventually(t *testing.T, st *store, id, host, want string) {
	t.Helper()
	var body string
	var r result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if body, r = i19e2eGet(st, id, host); body == want {
			return
		}
	}
	t.Errorf("GET http://%s/ from %s: %q, want %q; last: %v", host, short(id), body, want, r)
}

// i19e2eAddressLine is an answer of busybox's nslookup: "Address: IP"
// (its server line carries a port: "Address:\t127.0.0.11:53").
var i19e2eAddressLine = regexp.MustCompile(`(?m)^Address:\s+([0-9.]+)\s*$`)

// i19e2eLookup runs busybox's `nslookup -type=a name [server]` in
// container id and returns the IPv4 addresses it printed, sorted, and
// its output for messages.
func i19e2eLookup(st *store, id, name, server string) ([]string, string) {
	args := []string{"exec", id, "nslookup", "-type=a", name}
	if server != "" {
		args = append(args, server)
	}
	r := st.skiff(nil, args...)
	var out []string
	for _, m := range i19e2eAddressLine.FindAllStringSubmatch(r.stdout, -1) {
		out = append(out, m[1])
	}
	sort.Strings(out)
	return out, fmt.Sprintf("exit %d: %s%s", r.code, r.stdout, r.stderr)
}

// i19e2eLookupEventually polls the lookup for up to 10 s until it gives
// want (nil: no address), and fails the test with the last output if not.
func i19e2eLookupEventually(t *testing.T, st *store, id, name, server string, want ...string) {
	t.Helper()
	sort.Strings(want)
	var got []string
	var out string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		got, out = i19e2eLookup(st, id, name, server)
		if strings.Join(got, ",") == strings.Join(want, ",") || time.Now().After(deadline) {
			break
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("nslookup %s %s in %s: %v, want %v; nslookup said %s", name, server, short(id), got, want, out)
	}
}

// i19e2eEndpoint is a container's NetworkSettings.Networks entry.
type i19e2eEndpoint struct {
	NetworkID, EndpointID, Gateway, IPAddress, MacAddress string
	IPPrefixLen                                           int
	Aliases                                               []string
}

// i19e2eEndpoints is inspect's NetworkSettings.Networks of a container.
func i19e2eEndpoints(t *testing.T, st *store, id string) map[string]i19e2eEndpoint {
	t.Helper()
	r := st.must(t, "inspect", id)
	var out []struct {
		NetworkSettings struct{ Networks map[string]i19e2eEndpoint }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("inspect %s: %v; %v", short(id), err, r)
	}
	return out[0].NetworkSettings.Networks
}

// i19e2eAddrOn is the container's address on network net, from inspect.
func i19e2eAddrOn(t *testing.T, st *store, id, net string) string {
	t.Helper()
	ep, ok := i19e2eEndpoints(t, st, id)[net]
	if !ok || ep.IPAddress == "" {
		t.Fatalf("inspect %s: no address on network %s: %+v", short(id), net, i19e2eEndpoints(t, st, id))
	}
	return ep.IPAddress
}

// i19e2eNetwork is docker's `network inspect` of a user network, the
// fields the tests read.
type i19e2eNetwork struct {
	Name, Id, Driver, Scope string
	Internal                bool
	IPAM                    struct {
		Driver string
		Config []struct{ Subnet, Gateway, IPRange string }
	}
	Containers map[string]struct{ Name, EndpointID, MacAddress, IPv4Address, IPv6Address string }
	Options    map[string]string
	Labels     map[string]string
}

// i19e2eNetInspect is `network inspect ref`, one network.
func i19e2eNetInspect(t *testing.T, st *store, ref string) i19e2eNetwork {
	t.Helper()
	r := st.must(t, "network", "inspect", ref)
	var out []i19e2eNetwork
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || len(out) != 1 {
		t.Fatalf("network inspect %s: want a JSON array of one network: %v; %v", ref, err, r)
	}
	return out[0]
}

// i19e2eNetNames is `network ls --format {{.Name}}`.
func i19e2eNetNames(t *testing.T, st *store) []string {
	t.Helper()
	return strings.Fields(st.must(t, "network", "ls", "--format", "{{.Name}}").stdout)
}

// i19e2eMemberFile is the member record of container id on network
// netID: <runroot>/networks/user/<netid>/members/<id>.json.
func i19e2eMemberFile(st *store, netID, id string) string {
	return filepath.Join(st.runroot, "networks", "user", netID, "members", id+".json")
}

// i19e2eMember is a member record (network/usernetmembers_linux.go),
// the fields the tests read.
type i19e2eMember struct {
	Name      string `json:"name"`
	Addr      string `json:"addr"`
	HostVeth  string `json:"hostVeth"`
	Interface string `json:"interface"`
}

// i19e2eReadMember reads container id's member record on network netID.
func i19e2eReadMember(t *testing.T, st *store, netID, id string) i19e2eMember {
	t.Helper()
	var m i19e2eMember
	b, err := os.ReadFile(i19e2eMemberFile(st, netID, id))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatalf("member record of %s on %s: %v", short(id), short(netID), err)
	}
	return m
}

// i19e2eBridgeOf is the device of a network without a bridge name
// option: br- and 12 hex of its id, as docker's.
func i19e2eBridgeOf(netID string) string { return "br-" + netID[:12] }

// i19e2eLinkExists says whether the harness's namespace has the device.
func i19e2eLinkExists(name string) bool {
	_, err := netlink.LinkByName(name)
	return err == nil
}

// The tiny resolver in the fake upstream: it answers A queries for names
// under i19e2eExtDomain with an address that says which of its addresses
// was asked (10.200.0.2 -> 10.200.0.102, 10.200.0.3 -> 10.200.0.103),
// NXDOMAIN for any other name, and counts what it was asked. Containers
// of the suite name 10.200.0.2 as their server (writeTestConfig); a test
// names the other with --dns.
const i19e2eExtDomain = "i19e2e.test"

var i19e2eOtherDNS = netip.MustParsePrefix("10.200.0.3/24")

type i19e2eResolver struct {
	mu   sync.Mutex
	seen map[string]int // "server-address name" -> queries
}

var (
	i19e2eResolverOnce sync.Once
	i19e2eResolverMade *i19e2eResolver
	i19e2eResolverErr  error
)

// i19e2eUpstreamResolver starts the resolver once for the suite (it goes
// with the upstream's namespace).
func i19e2eUpstreamResolver(t *testing.T) *i19e2eResolver {
	t.Helper()
	up := i14e2eUpstream(t)
	i19e2eResolverOnce.Do(func() { i19e2eResolverMade, i19e2eResolverErr = i19e2eStartResolver(up) })
	if i19e2eResolverErr != nil {
		t.Fatalf("the upstream's resolver: %v", i19e2eResolverErr)
	}
	return i19e2eResolverMade
}

func i19e2eStartResolver(up *i14e2eNetns) (*i19e2eResolver, error) {
	r := &i19e2eResolver{seen: map[string]int{}}
	h, err := up.handle()
	if err != nil {
		return nil, err
	}
	defer h.Close()
	link, err := h.LinkByName(i14e2eUpstreamIf)
	if err != nil {
		return nil, err
	}
	ipn := &net.IPNet{IP: i19e2eOtherDNS.Addr().AsSlice(), Mask: net.CIDRMask(i19e2eOtherDNS.Bits(), 32)}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipn}); err != nil {
		return nil, fmt.Errorf("address %s on the upstream: %w", i19e2eOtherDNS, err)
	}
	for _, a := range []netip.Addr{i14e2eUpstreamIP.Addr(), i19e2eOtherDNS.Addr()} {
		var c net.PacketConn
		if err := up.Do(func() (err error) {
			// The address was just added: wait out its duplicate
			// address detection, none on IPv4, but be patient anyway.
			for try := 0; try < 50; try++ {
				if c, err = net.ListenPacket("udp4", net.JoinHostPort(a.String(), "53")); err == nil {
					return nil
				}
				time.Sleep(20 * time.Millisecond)
			}
			return err
		}); err != nil {
			return nil, fmt.Errorf("listen on %s:53 in the upstream: %w", a, err)
		}
		go r.serve(c, a)
	}
	return r, nil
}

func (r *i19e2eResolver) serve(c net.PacketConn, self netip.Addr) {
	buf := make([]byte, 1500)
	for {
		n, peer, err := c.ReadFrom(buf)
		if err != nil {
			return
		}
		if reply := r.answer(buf[:n], self); reply != nil {
			c.WriteTo(reply, peer)
		}
	}
}

// answer builds the reply to one query, nil for what is not one.
func (r *i19e2eResolver) answer(msg []byte, self netip.Addr) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(q.Name.String(), "."))
	r.mu.Lock()
	r.seen[self.String()+" "+name]++
	r.mu.Unlock()
	known := strings.HasSuffix(name, "."+i19e2eExtDomain)
	rh := dnsmessage.Header{ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	b.StartQuestions()
	b.Question(q)
	if known && q.Type == dnsmessage.TypeA {
		b.StartAnswers()
		ip := self.As4()
		ip[3] += 100
		b.AResource(dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}, dnsmessage.AResource{A: ip})
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}

// queries is how many queries for name the resolver got on server.
func (r *i19e2eResolver) queries(server netip.Addr, name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seen[server.String()+" "+strings.ToLower(name)]
}

// i19e2eExtName is a name only the upstream's resolver knows, fresh per call.
func i19e2eExtName(t *testing.T) string {
	return strings.TrimPrefix(uniqueName(t), "e2e-") + "." + i19e2eExtDomain
}

// i19e2eCat reads a file of the container (exec cat).
func i19e2eCat(t *testing.T, st *store, id, path string) string {
	t.Helper()
	return st.must(t, "exec", id, "cat", path).stdout
}
