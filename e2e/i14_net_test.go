package e2e

// Issue 14's network tests: the default bridge, outbound NAT, published
// ports and the --network modes, against the real binary inside the
// harness's network namespace (i14_netns_test.go), with a fake upstream
// host in another namespace: no packet leaves the machine.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/nftables"
)

// i14e2eBridgeNet is the subnet the bridge takes in a namespace with no
// routes: docker's first default pool.
var i14e2eBridgeNet = netip.MustParsePrefix("172.17.0.0/16")

// eth0 has an address from the pool, a default route via the bridge's
// gateway, and resolv.conf the --dns given; inspect shows the same.
func TestI14Eth0Address(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	id := i14e2eRunD(t, st, img, "sleep", "60")
	out := st.must(t, "exec", id, "sh", "-c", "ip -o -4 addr show dev eth0; ip route; cat /etc/resolv.conf").stdout
	in := i14e2eInspectNet(t, st, id).NetworkSettings
	ip, err := netip.ParseAddr(in.IPAddress)
	if err != nil || !i14e2eBridgeNet.Contains(ip) {
		t.Fatalf("inspect IPAddress %q, want an address of %s; container says:\n%s", in.IPAddress, i14e2eBridgeNet, out)
	}
	for _, want := range []string{
		fmt.Sprintf("inet %s/%d", in.IPAddress, in.IPPrefixLen),
		"default via " + in.Gateway + " dev eth0",
		"nameserver " + i14e2eUpstreamDNS,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("container's network has no %q:\n%s", want, out)
		}
	}
	if n := in.Networks["bridge"]; n.IPAddress != in.IPAddress || n.Gateway != in.Gateway {
		t.Errorf("NetworkSettings.Networks.bridge %+v, want IPAddress %s Gateway %s", n, in.IPAddress, in.Gateway)
	}
}

// A container reaches the upstream through skiff's masquerade: the
// upstream sees the harness's address, never the container's.
func TestI14OutboundNAT(t *testing.T) {
	up := i14e2eUpstream(t)
	st, img := shared(t), i14e2eImage(t)
	var l net.Listener
	if err := up.Do(func() (err error) { l, err = net.Listen("tcp4", i14e2eUpstreamIP.Addr().String()+":0"); return }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	seen := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		seen <- c.RemoteAddr().String()
		fmt.Fprintf(c, "peer %s\n", c.RemoteAddr())
		c.Close()
	}()
	r := st.must(t, "run", "--rm", "--dns", i14e2eUpstreamDNS, img, "i14netprog", "tcp-dial", l.Addr().String())
	peer, err := netip.ParseAddrPort(i14e2ePeer(r.stdout))
	if err != nil || peer.Addr() != i14e2eHarnessIP.Addr() {
		t.Errorf("the upstream saw the container as %q, want the harness's address %s (masquerade)", r.stdout, i14e2eHarnessIP.Addr())
	}
	select {
	case s := <-seen:
		if s != i14e2ePeer(r.stdout) {
			t.Errorf("upstream accepted %s, container was told %s", s, r.stdout)
		}
	case <-time.After(5 * time.Second):
		t.Error("the upstream accepted no connection")
	}
}

// -p hostPort:80 answers from the harness on its own address, 127.0.0.1
// and ::1, and from the upstream dialling the harness's address: the
// server sees the upstream's real address (no proxy in between). While
// the container runs its monitor holds the host port.
func TestI14PublishTCP(t *testing.T) {
	up := i14e2eUpstream(t)
	st, img := shared(t), i14e2eImage(t)
	_, hp := i14e2eServeTCP(t, st, img, "%d:80")
	port := strconv.Itoa(hp)
	for _, host := range []string{i14e2eHarnessIP.Addr().String(), "127.0.0.1", "::1"} {
		t.Run("from the harness to "+host, func(t *testing.T) {
			reply, _, err := i14e2eDialTCP(net.JoinHostPort(host, port))
			if err != nil || !strings.HasSuffix(strings.TrimSpace(reply), ":80") {
				t.Errorf("dial %s:%s: %q, %v; want the server's reply from port 80", host, port, reply, err)
			}
		})
	}
	t.Run("from the upstream, with its real address", func(t *testing.T) {
		var reply, local string
		err := up.Do(func() (err error) {
			reply, local, err = i14e2eDialTCP(net.JoinHostPort(i14e2eHarnessIP.Addr().String(), port))
			return
		})
		if err != nil || i14e2ePeer(reply) != local {
			t.Errorf("the server saw %q, want the upstream's own address %s (err %v)", reply, local, err)
		}
	})
	t.Run("the monitor holds the host port", func(t *testing.T) {
		l, err := net.Listen("tcp4", ":"+port)
		if err == nil {
			l.Close()
			t.Errorf("another process could listen on the published port %s", port)
		} else if !errors.Is(err, syscall.EADDRINUSE) {
			t.Errorf("listen on the published port: %v, want address in use", err)
		}
	})
}

// -p 127.0.0.1:hostPort:80 answers on 127.0.0.1 only: neither the
// harness's address nor the upstream reaches it (docker's way to keep a
// port off the network).
func TestI14PublishOnHostIP(t *testing.T) {
	up := i14e2eUpstream(t)
	st, img := shared(t), i14e2eImage(t)
	_, hp := i14e2eServeTCP(t, st, img, "127.0.0.1:%d:80")
	if reply, _, err := i14e2eDialTCP(fmt.Sprintf("127.0.0.1:%d", hp)); err != nil || !strings.HasSuffix(strings.TrimSpace(reply), ":80") {
		t.Fatalf("127.0.0.1:%d: %q, %v", hp, reply, err)
	}
	harness := fmt.Sprintf("%s:%d", i14e2eHarnessIP.Addr(), hp)
	if reply, _, err := i14e2eDialOnce(harness); err == nil && reply != "" {
		t.Errorf("the harness reached %s on its own address: %q", harness, reply)
	}
	var reply string
	up.Do(func() error { reply, _, _ = i14e2eDialOnce(harness); return nil })
	if reply != "" {
		t.Errorf("the upstream reached a port published on 127.0.0.1 only: %q", reply)
	}
}

// The busybox httpd, published with -p, answers a plain HTTP GET
// from the harness and from the upstream.
func TestI14PublishHttpd(t *testing.T) {
	up := i14e2eUpstream(t)
	st := shared(t)
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	i14e2eRunD(t, st, "-p", fmt.Sprintf("%d:80", hp), fx.busybox, "sh", "-c",
		"mkdir -p /www && echo hello-from-httpd > /www/index.html && exec httpd -f -p 80 -h /www")
	get := func(url string) (string, error) {
		var body string
		var err error
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var resp *http.Response
			if resp, err = (&http.Client{Timeout: 3 * time.Second}).Get(url); err != nil {
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if body = string(b); resp.StatusCode == 200 {
				return body, nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		return body, err
	}
	for _, host := range []string{i14e2eHarnessIP.Addr().String(), "127.0.0.1", "::1"} {
		url := fmt.Sprintf("http://%s/", net.JoinHostPort(host, strconv.Itoa(hp)))
		if body, err := get(url); err != nil || body != "hello-from-httpd\n" {
			t.Errorf("GET %s from the harness: %q, %v", url, body, err)
		}
	}
	url := fmt.Sprintf("http://%s:%d/", i14e2eHarnessIP.Addr(), hp)
	var body string
	err = up.Do(func() (err error) { body, err = get(url); return })
	if err != nil || body != "hello-from-httpd\n" {
		t.Errorf("GET %s from the upstream: %q, %v", url, body, err)
	}
}

// The network is set up again at restart and at start after stop, with
// the same published port, and each start leaves one veth, not one more.
func TestI14RestartKeepsPorts(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	before := i14e2eTraceOf(t, nil)
	id, hp := i14e2eServeTCP(t, st, img, "%d:80")
	addr := fmt.Sprintf("127.0.0.1:%d", hp)
	for _, step := range [][]string{nil, {"restart", "-t", "1", id}, {"stop", "-t", "1", id}, {"start", id}} {
		if step != nil {
			st.must(t, step...)
		}
		if step != nil && step[0] == "stop" {
			i14e2eAssertNoTrace(t, st, nil, before, id)
			continue
		}
		if reply, _, err := i14e2eDialTCP(addr); err != nil || !strings.HasSuffix(strings.TrimSpace(reply), ":80") {
			t.Errorf("after %v: dial %s: %q, %v", step, addr, reply, err)
		}
		i14e2eAssertTrace(t, st, nil, before, id, true)
	}
}

// Hairpin: a container reaches its own published port through the
// host's address.
func TestI14Hairpin(t *testing.T) {
	i14e2eUpstream(t) // the harness's address 10.200.0.1
	st, img := shared(t), i14e2eImage(t)
	id, hp := i14e2eServeTCP(t, st, img, "%d:80")
	target := fmt.Sprintf("%s:%d", i14e2eHarnessIP.Addr(), hp)
	var r result
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r = st.skiff(nil, "exec", id, "i14netprog", "tcp-dial", target); r.code == 0 {
			break
		}
	}
	if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), ":80") {
		t.Errorf("the container dialling its own published port %s: %v", target, r)
	}
}

// UDP publishing: datagrams reach the container's echo server from the
// harness and the upstream, which it sees with its real address.
func TestI14PublishUDP(t *testing.T) {
	up := i14e2eUpstream(t)
	st, img := shared(t), i14e2eImage(t)
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	i14e2eRunD(t, st, "-p", fmt.Sprintf("%d:5353/udp", hp), img, "i14netprog", "udp-serve", ":5353")
	port := strconv.Itoa(hp)
	for _, host := range []string{i14e2eHarnessIP.Addr().String(), "127.0.0.1"} {
		reply, _, err := i14e2eDialUDP(net.JoinHostPort(host, port), "ping")
		if err != nil || !strings.HasSuffix(reply, " ping\n") {
			t.Errorf("UDP to %s:%s: %q, %v", host, port, reply, err)
		}
	}
	var reply, local string
	err = up.Do(func() (err error) {
		reply, local, err = i14e2eDialUDP(net.JoinHostPort(i14e2eHarnessIP.Addr().String(), port), "from-upstream")
		return
	})
	if err != nil || i14e2ePeer(reply) != local {
		t.Errorf("UDP from the upstream: server saw %q, want peer %s (err %v)", reply, local, err)
	}
}

// -p 80 takes a random host port, which `port` shows; a range
// -p 8000-8002:8000-8002 maps each port and is one rule, as many as one port's.
func TestI14RandomPortAndRange(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	one := i14e2eRunD(t, st, "-p", "80", img, "i14netprog", "tcp-serve", ":80")
	out := strings.TrimSpace(st.must(t, "port", one, "80").stdout)
	first, _, _ := strings.Cut(out, "\n")
	ap, err := netip.ParseAddrPort(first)
	if err != nil || ap.Port() == 0 {
		t.Fatalf("port %s 80: %q, want 0.0.0.0:<random port>", short(one), out)
	}
	if reply, _, err := i14e2eDialTCP(fmt.Sprintf("127.0.0.1:%d", ap.Port())); err != nil || !strings.HasSuffix(strings.TrimSpace(reply), ":80") {
		t.Errorf("dial the random port %d: %q, %v", ap.Port(), reply, err)
	}

	rng := i14e2eRunD(t, st, "-p", "8000-8002:8000-8002", img, "i14netprog", "tcp-serve", ":8000", ":8001", ":8002")
	for p := 8000; p <= 8002; p++ {
		reply, _, err := i14e2eDialTCP(fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil || !strings.HasSuffix(strings.TrimSpace(reply), fmt.Sprintf(":%d", p)) {
			t.Errorf("host port %d: %q, %v; want container port %d", p, reply, err, p)
		}
	}
	tr := i14e2eTraceOf(t, nil)
	if n1, n3 := tr.rulesOf(one), tr.rulesOf(rng); n1 == 0 || n3 != n1 {
		t.Errorf("rules tagged with the container: %d for one port, %d for a range of 3; want the same, more than 0", n1, n3)
	}
}

// --network none has only lo; host sees the harness's interfaces;
// container:NAME shares the other container's namespace, eth0 and all.
func TestI14NetworkModes(t *testing.T) {
	i14e2eUpstream(t) // the harness has i14harness: host mode must see it
	st, img := shared(t), i14e2eImage(t)
	t.Run("none", func(t *testing.T) {
		r := st.must(t, "run", "--rm", "--network", "none", img, "cat", "/proc/net/dev")
		if got := i14e2eProcNetDev(r.stdout); strings.Join(got, ",") != "lo" {
			t.Errorf("--network none interfaces %v, want only lo", got)
		}
	})
	t.Run("host", func(t *testing.T) {
		r := st.must(t, "run", "--rm", "--network", "host", img, "cat", "/proc/net/dev")
		got := i14e2eProcNetDev(r.stdout)
		if !strings.Contains(","+strings.Join(got, ",")+",", ","+i14e2eHarnessIf+",") {
			t.Errorf("--network host interfaces %v, want the harness's %s among them", got, i14e2eHarnessIf)
		}
	})
	t.Run("container", func(t *testing.T) {
		name := uniqueName(t)
		id := i14e2eRunD(t, st, "--name", name, img, "sleep", "60")
		own := strings.TrimSpace(st.must(t, "exec", id, "readlink", "/proc/self/ns/net").stdout)
		r := st.must(t, "run", "--rm", "--network", "container:"+name, img, "sh", "-c", "readlink /proc/self/ns/net; cat /proc/net/dev")
		ns, dev, _ := strings.Cut(r.stdout, "\n")
		if ns != own || own == "" {
			t.Errorf("container:%s network namespace %q, want %q", name, ns, own)
		}
		if got := i14e2eProcNetDev(dev); strings.Join(got, ",") != "eth0,lo" {
			t.Errorf("container:%s interfaces %v, want eth0 and lo", name, got)
		}
	})
}

// rm removes the container's veth, rules and address.
func TestI14CleanupAfterRm(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	before := i14e2eTraceOf(t, nil)
	id, hp := i14e2eServeTCP(t, st, img, "%d:80")
	i14e2eAssertTrace(t, st, nil, before, id, true)
	st.must(t, "rm", "-f", id)
	i14e2eAssertNoTrace(t, st, nil, before, id)
	i14e2eAssertPortFree(t, hp)
}

// kill -9 of the monitor (and then the container) leaves veth, rules and
// address behind; the next skiff command removes them.
func TestI14CleanupAfterKilledMonitor(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := newStore(t), i14e2eImage(t)
	st.killLeftovers(t)
	before := i14e2eTraceOf(t, nil)
	id, hp := i14e2eServeTCP(t, st, img, "%d:80")
	i14e2eAssertTrace(t, st, nil, before, id, true)
	pid := st.inspect(t, id).State.Pid
	mon := monitorOf(t, pid)
	kill9(mon)
	kill9(pid)
	if !waitGone(mon, 5*time.Second) || !waitGone(pid, 5*time.Second) {
		t.Fatalf("monitor %d or container %d survived SIGKILL", mon, pid)
	}
	st.must(t, "ps")
	i14e2eAssertNoTrace(t, st, nil, before, id)
	i14e2eAssertPortFree(t, hp)
}

// i14e2eAssertPortFree: nothing holds the host port any more.
func i14e2eAssertPortFree(t *testing.T, port int) {
	t.Helper()
	l, err := net.Listen("tcp4", fmt.Sprintf(":%d", port))
	if err != nil {
		t.Errorf("host port %d still held after the container is gone: %v", port, err)
		return
	}
	l.Close()
}

// 50 run/rm cycles with -p leave no interface, rule or allocation.
func TestI14RunRmCycles(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	hp, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	before := i14e2eTraceOf(t, nil)
	var ids []string
	for i := 0; i < 50; i++ {
		r := st.skiff(nil, "run", "-d", "--dns", i14e2eUpstreamDNS, "-p", fmt.Sprintf("%d:80", hp), img, "true")
		id := idOf(t, r, fmt.Sprintf("run %d", i))
		ids = append(ids, id)
		st.must(t, "rm", "-f", id)
	}
	i14e2eAssertNoTrace(t, st, nil, before, ids...)
	if after := i14e2eTraceOf(t, nil); len(after.rules) != len(before.rules) {
		t.Errorf("skiff's table has %d rules after 50 cycles, %d before", len(after.rules), len(before.rules))
	}
	i14e2eAssertPortFree(t, hp)
}

// 20 containers started at once get 20 distinct addresses of the pool.
func TestI14ConcurrentAddresses(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	before := i14e2eTraceOf(t, nil)
	const n = 20
	ids := make([]string, n)
	res := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = st.skiff(nil, "run", "-d", "--dns", i14e2eUpstreamDNS, img, "sleep", "60")
		}()
	}
	wg.Wait()
	for i, r := range res {
		ids[i] = strings.TrimSpace(r.stdout)
		if fullID.MatchString(ids[i]) {
			st.cleanup(t, ids[i])
		}
	}
	seen := map[string]string{}
	for i, r := range res {
		id := idOf(t, r, fmt.Sprintf("concurrent run %d", i))
		ip := i14e2eInspectNet(t, st, id).NetworkSettings.IPAddress
		if a, err := netip.ParseAddr(ip); err != nil || !i14e2eBridgeNet.Contains(a) {
			t.Errorf("container %d: address %q, want one of %s", i, ip, i14e2eBridgeNet)
		}
		if other, dup := seen[ip]; dup {
			t.Errorf("containers %s and %s both have %s", short(other), short(id), ip)
		}
		seen[ip] = id
	}
	st.must(t, append([]string{"rm", "-f"}, ids...)...)
	i14e2eAssertNoTrace(t, st, nil, before, ids...)
}

// A host port in use is an error at start with docker's wording; the
// container is not left running and leaves nothing of its network.
func TestI14HostPortInUse(t *testing.T) {
	i14e2eRequireNetns(t)
	st, img := shared(t), i14e2eImage(t)
	l, err := net.Listen("tcp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	hp := l.Addr().(*net.TCPAddr).Port
	before := i14e2eTraceOf(t, nil)
	name := uniqueName(t)
	r := st.skiff(nil, "run", "-d", "--name", name, "--dns", i14e2eUpstreamDNS, "-p", fmt.Sprintf("%d:80", hp), img, "i14netprog", "tcp-serve", ":80")
	t.Cleanup(func() { st.skiff(nil, "rm", "-f", name) })
	runError(t, r, 125)
	t.Logf("port in use: %s", i14e2eLastLine(r.stderr))
	i14e2eOnePrefix(t, i14e2eLastLine(r.stderr))
	// docker 28's "failed to bind host port for 0.0.0.0:P:...: address
	// already in use", or its older "Bind for 0.0.0.0:P failed: port is
	// already allocated".
	if !strings.Contains(r.stderr, strconv.Itoa(hp)) ||
		!(strings.Contains(r.stderr, "address already in use") || strings.Contains(r.stderr, "port is already allocated")) {
		t.Errorf("stderr %q: want docker's port-in-use wording with port %d", r.stderr, hp)
	}
	if out := st.skiff(nil, "ps", "-q", "--filter", "name="+name).stdout; strings.TrimSpace(out) != "" {
		t.Errorf("the container is running after its port failed: %q", out)
	}
	var ids []string
	if in := st.skiff(nil, "inspect", "-f", "{{.Id}}", name); in.code == 0 {
		ids = append(ids, strings.TrimSpace(in.stdout))
	}
	i14e2eAssertNoTrace(t, st, nil, before, ids...)
}

// A tiny pool from the config file's default-address-pools (a /30: one
// address for a container) is exhausted by the second container: one
// clear line, and nothing of the second left. In a namespace of its own:
// its bridge is not the suite's.
func TestI14PoolExhausted(t *testing.T) {
	i14e2eRequireNetns(t)
	img := i14e2eImage(t)
	ns := i14e2eNewNetns(t)
	st := newStore(t)
	st.killLeftovers(t)
	if err := os.WriteFile(st.config, []byte(`{"default-address-pools":[{"base":"10.201.0.0/30","size":30}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	st.must(t, "pull", img) // here: the registry is on the harness's 127.0.0.1
	before := i14e2eTraceOf(t, ns)
	r := ns.skiff(st, "run", "-d", "--dns", i14e2eUpstreamDNS, img, "sleep", "60")
	first := idOf(t, r, "run the pool's one container")
	t.Cleanup(func() { ns.skiff(st, "rm", "-f", first) })
	if ip := strings.TrimSpace(ns.skiff(st, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", first).stdout); ip != "10.201.0.2" {
		t.Errorf("the pool's one container has %q, want 10.201.0.2", ip)
	}
	mid := i14e2eTraceOf(t, ns)
	name := uniqueName(t)
	r = ns.skiff(st, "run", "-d", "--name", name, "--dns", i14e2eUpstreamDNS, img, "sleep", "60")
	t.Cleanup(func() { ns.skiff(st, "rm", "-f", name) })
	runError(t, r, 125)
	t.Logf("pool exhausted: %s", i14e2eLastLine(r.stderr))
	i14e2eOnePrefix(t, i14e2eLastLine(r.stderr))
	if !strings.Contains(r.stderr, "no available IPv4 addresses") {
		t.Errorf("stderr %q: want the pool-exhausted line", r.stderr)
	}
	if out := ns.skiff(st, "ps", "-q").stdout; strings.Count(out, "\n") != 1 {
		t.Errorf("running containers %q, want only the first", out)
	}
	if in := ns.skiff(st, "inspect", "-f", "{{.Id}}", name); in.code == 0 {
		i14e2eAssertNoTrace(t, st, ns, mid, strings.TrimSpace(in.stdout))
	}
	ns.skiff(st, "rm", "-f", first)
	i14e2eAssertNoTrace(t, st, ns, before, first)
}

// A drop-policy chain at the forward hook of another table (docker's
// iptables FORWARD DROP, a host firewall) is detected and named with how
// to allow skiff0. In a namespace of its own: the chain would drop the
// suite's forwarded traffic.
func TestI14ForwardBlocked(t *testing.T) {
	i14e2eRequireNetns(t)
	img := i14e2eImage(t)
	ns := i14e2eNewNetns(t)
	st := newStore(t)
	st.killLeftovers(t)
	c, err := nftables.New(nftables.WithNetNSFd(int(ns.fd.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	tbl := c.AddTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: "i14firewall"})
	drop := nftables.ChainPolicyDrop
	c.AddChain(&nftables.Chain{Name: "forward", Table: tbl, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter, Policy: &drop})
	if err := c.Flush(); err != nil {
		t.Fatalf("make a drop-policy forward chain: %v", err)
	}
	st.must(t, "pull", img) // here: the registry is on the harness's 127.0.0.1
	r := ns.skiff(st, "run", "--rm", "--dns", i14e2eUpstreamDNS, img, "true")
	if r.code != 0 {
		t.Errorf("a forward chain that drops is a warning, the container still runs: %v", r)
	}
	line := ""
	for _, l := range strings.Split(r.stderr, "\n") {
		if strings.Contains(l, "i14firewall") {
			line = l
		}
	}
	t.Logf("forward blocked: %s", line)
	i14e2eOnePrefix(t, line)
	if !strings.Contains(line, "forward") || !strings.Contains(line, "skiff0") {
		t.Errorf("stderr %q: want one line naming table i14firewall's chain forward and how to allow skiff0", r.stderr)
	}
}

// The harness itself: the suite runs in a network namespace that is not
// the one go test started it in, and the upstream answers on its address
// across the veth pair. Every other test here depends on both.
func TestI14HarnessNamespaces(t *testing.T) {
	up := i14e2eUpstream(t)
	own, err1 := os.Readlink("/proc/self/ns/net")
	parent, err2 := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", os.Getppid()))
	if err1 != nil || err2 != nil || own == parent {
		t.Errorf("the suite's network namespace %q, the process that started it %q (%v, %v): want another", own, parent, err1, err2)
	}
	var l net.Listener
	if err := up.Do(func() (err error) { l, err = net.Listen("tcp4", i14e2eUpstreamIP.Addr().String()+":0"); return }); err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if c, err := l.Accept(); err == nil {
			fmt.Fprintf(c, "peer %s\n", c.RemoteAddr())
			c.Close()
		}
	}()
	reply, local, err := i14e2eDialTCP(l.Addr().String())
	if err != nil || i14e2ePeer(reply) != local || !strings.HasPrefix(local, i14e2eHarnessIP.Addr().String()+":") {
		t.Errorf("harness to upstream: reply %q from %s, %v; want the harness's address seen", reply, local, err)
	}
}

// i14e2eLastLine is the last line of stderr: the error, after any pull
// progress.
func i14e2eLastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// i14e2eOnePrefix: a message carries "skiff: " once, never two prefixes
// ("skiff: warning: skiff: warning: ...").
func i14e2eOnePrefix(t *testing.T, line string) {
	t.Helper()
	if n := strings.Count(line, "skiff: "); n != 1 {
		t.Errorf("%q: want exactly one \"skiff: \" prefix, got %d", line, n)
	}
}
