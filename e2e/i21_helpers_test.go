package e2e

// Issue 21's helper networks: --network slirp4netns and --network pasta
// run the helper installed on the host (never needed: tapnet is the
// default), for rootless and root containers, in the outside and
// upstream namespaces of i21_e2ehelpers_test.go. Each helper's tests skip,
// saying so, when it is not installed.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestI21Helpers(t *testing.T) {
	u := i21e2eUser(t)
	n := i21e2eNewNet(t)
	st := n.store(u, 0o666)
	root := newStore(t)
	t.Run("not installed", func(t *testing.T) { i21e2eHelperMissing(t, n, root) })
	for _, h := range []string{"slirp4netns", "pasta"} {
		t.Run(h, func(t *testing.T) {
			if _, err := exec.LookPath(h); err != nil {
				pkg := map[string]string{"slirp4netns": "slirp4netns", "pasta": "passt"}[h]
				t.Skipf("%s is not installed (Debian package %s): its network is not tested", h, pkg)
			}
			t.Run("rootless", func(t *testing.T) { i21e2eHelper(t, n, st, i21e2eImage(t, u), h, false) })
			t.Run("root", func(t *testing.T) {
				img := testProgImage(t, "i21netprog")
				root.must(t, "pull", img)
				i21e2eHelper(t, n, root, img, h, true)
			})
			t.Run("monitor killed", func(t *testing.T) { i21e2eHelperMonitorKilled(t, n, u, st, h) })
		})
	}
}

// A helper not in PATH: run exits 125 with one line saying what to
// install, and nothing is left running.
func i21e2eHelperMissing(t *testing.T, n *i21e2eNet, root *store) {
	img := testProgImage(t, "i21netprog")
	root.must(t, "pull", img)
	empty := t.TempDir()
	for h, pkg := range map[string]string{"slirp4netns": "slirp4netns", "pasta": "passt"} {
		var r result
		n.outside.Do(func() error {
			r = root.skiffEnv(nil, []string{"PATH=" + empty}, "run", "--rm", "--network", h, img, "echo", "ran")
			return nil
		})
		want := fmt.Sprintf("skiff: %s is not installed: install the %s package, or use the default network (tapnet)", h, pkg)
		if r.code != 125 || strings.TrimSpace(r.stderr) != want || strings.Contains(r.stdout, "ran") {
			t.Errorf("--network %s without it in PATH: want exit 125 and %q; %v", h, want, r)
		}
	}
	if r := root.must(t, "ps", "-aq"); r.stdout != "" {
		t.Errorf("run --rm that failed left containers: %q", r.stdout)
	}
}

// i21e2eHelper: with --network h, an outbound TCP connection reaches the
// upstream from outside's address, and -p from the upstream reaches the
// container; slirp4netns's container has tapnet's addresses and asks
// names through 10.0.2.3. asRoot: st is root's, run in outside.
func i21e2eHelper(t *testing.T, n *i21e2eNet, st *store, img, h string, asRoot bool) {
	run := func(args ...string) result {
		if asRoot {
			return n.outside.skiff(st, args...)
		}
		return st.skiff(nil, args...)
	}
	upstream := fmt.Sprintf("%s:%d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort)
	from := `^from ` + regexp.QuoteMeta(i21e2eOutsideIP.Addr().String()) + `:\d+\n`
	r := run("run", "--rm", "--network", h, img, "i21netprog", "tcp", upstream, "hello-tcp")
	want := regexp.MustCompile(from + `hello-tcp$`)
	switch {
	case r.code == 0 && want.MatchString(r.stdout):
	case h == "pasta":
		// Debian 12's pasta (2023-03-09) loses the container's
		// half-close (the echo never ends), its data resent into the
		// stream: seen with pasta alone too, on a namespace of a plain
		// unshare. Logged, and the connection checked without.
		t.Logf("pasta: outbound TCP with a half-close: %v", r)
	default:
		t.Errorf("outbound TCP: want stdout matching %s; %v", want, r)
	}
	// No half-close: busybox nc reads the echo until idle for 2 s.
	r = run("run", "--rm", "--network", h, img, "sh", "-c", fmt.Sprintf("(echo hello-nc; sleep 1) | nc -w 2 %s %d", i21e2eUpstreamIP.Addr(), i21e2eEchoPort))
	if want := regexp.MustCompile(from + `hello-nc\n$`); !want.MatchString(r.stdout) {
		t.Errorf("outbound TCP (nc): want stdout matching %s; %v", want, r)
	}
	if h == "slirp4netns" {
		r := run("run", "--rm", "--network", h, img, "sh", "-c", "ip -4 addr show tap0; ip route; cat /etc/resolv.conf")
		for _, want := range []string{`(?m)^\s+inet 10\.0\.2\.100/24 `, `(?m)^default via 10\.0\.2\.2 dev tap0`} {
			if !regexp.MustCompile(want).MatchString(r.stdout) {
				t.Errorf("want a line matching %s; %v", want, r)
			}
		}
		if !asRoot {
			if !strings.Contains(r.stdout, "nameserver 10.0.2.3\n") {
				t.Errorf("resolv.conf: want nameserver 10.0.2.3; %v", r)
			}
			if r := run("run", "--rm", "--network", h, img, "i21netprog", "lookup", i21e2eName, "udp"); r.code != 0 || r.stdout != i21e2eNameIP.String()+"\n" {
				t.Errorf("lookup %s through 10.0.2.3: want %s; %v", i21e2eName, i21e2eNameIP, r)
			}
		}
	}
	hp := i21e2eFreePort(t, n.outside)
	r = run("run", "-d", "--network", h, "-p", fmt.Sprintf("%d:80", hp), "-p", fmt.Sprintf("%d:80/udp", hp), img, "i21netprog", "serve", ":80")
	if r.code != 0 {
		t.Fatalf("run -d -p %d:80: %v", hp, r)
	}
	id := strings.TrimSpace(r.stdout)
	defer run("rm", "-f", id)
	addr := fmt.Sprintf("%s:%d", i21e2eOutsideIP.Addr(), hp)
	reply, err := i21e2eTCP(n.upstream, addr, "hello-p")
	if err != nil || !regexp.MustCompile(`^from \S+:\d+\nhello-p$`).MatchString(reply) {
		t.Errorf("-p %d:80 from the upstream: %q, %v", hp, reply, err)
	} else {
		t.Logf("-p: the container saw the upstream's client as %q", strings.SplitN(reply, "\n", 2)[0])
	}
	if reply, err := i21e2eUDP(n.upstream, addr, "hello-u"); err != nil || !regexp.MustCompile(`^from \S+:\d+ hello-u$`).MatchString(reply) {
		t.Errorf("-p %d:80/udp from the upstream: %q, %v", hp, reply, err)
	}
	ports := run("port", id)
	if ports.code != 0 || !strings.Contains(ports.stdout, fmt.Sprintf(":%d", hp)) {
		t.Errorf("port %s: want host port %d; %v", id, hp, ports)
	}
	if h == "slirp4netns" && !asRoot {
		i21e2eSlirpLoopback(t, n, st, img)
	}
	// A restart stops the helper and starts another, on the same port.
	if r := run("restart", "-t", "1", id); r.code != 0 {
		t.Errorf("restart: %v", r)
	} else if reply, err := i21e2eTCP(n.upstream, addr, "again"); err != nil || !strings.HasSuffix(reply, "\nagain") {
		t.Errorf("-p %d:80 after a restart: %q, %v", hp, reply, err)
	} else if left := i21e2eHelperProcs(h); len(left) != 1 {
		t.Errorf("after a restart, want one %s process:\n%s", h, strings.Join(left, "\n"))
	}
	if r := run("inspect", "-f", "{{.HostConfig.NetworkMode}}", id); strings.TrimSpace(r.stdout) != h {
		t.Errorf("NetworkMode: want %s; %v", h, r)
	}
	if r := run("rm", "-f", id); r.code != 0 {
		t.Errorf("rm -f: %v", r)
	}
	if reply, err := i21e2eTCPOnce(n.upstream, addr, "x"); err == nil {
		t.Errorf("%s answered after rm -f: %q", addr, reply)
	}
	if left := i21e2eHelperProcs(h); len(left) > 0 {
		t.Errorf("%s processes left after rm -f:\n%s", h, strings.Join(left, "\n"))
	}
}

// slirp4netns: a listener on outside's 127.0.0.1 is refused at 10.0.2.2
// by default (--disable-host-loopback) and reached with podman's
// allow_host_loopback=true, also by host.containers.internal.
func i21e2eSlirpLoopback(t *testing.T, n *i21e2eNet, st *store, img string) {
	l := i21e2eLoopbackListener(t, n)
	lp := l.Addr().(*net.TCPAddr).Port
	r := st.skiff(nil, "run", "--rm", "--network", "slirp4netns", img, "i21netprog", "tcp", fmt.Sprintf("10.0.2.2:%d", lp), "x")
	if r.code == 0 || strings.Contains(r.stdout, "host loopback") {
		t.Errorf("10.0.2.2:%d by default: want no connection; %v", lp, r)
	}
	for _, host := range []string{"10.0.2.2", "host.containers.internal"} {
		r := st.skiff(nil, "run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", img, "i21netprog", "tcp", fmt.Sprintf("%s:%d", host, lp), "x")
		if r.code != 0 || r.stdout != "host loopback\n" {
			t.Errorf("%s:%d with allow_host_loopback=true: want host loopback; %v", host, lp, r)
		}
	}
}

// kill -9 of a rootless container's monitor: its helper ends too
// (slirp4netns: its exit fd closes; pasta: its parent-death signal), and
// the published port is free.
func i21e2eHelperMonitorKilled(t *testing.T, n *i21e2eNet, u *i20e2eUser, st *store, h string) {
	img := i21e2eImage(t, u)
	hp := i21e2eFreePort(t, n.outside)
	id := st.runD(t, "--network", h, "-p", fmt.Sprintf("%d:80", hp), img, "i21netprog", "serve", ":80")
	defer st.skiff(nil, "rm", "-f", id)
	addr := fmt.Sprintf("%s:%d", i21e2eOutsideIP.Addr(), hp)
	if reply, err := i21e2eTCP(n.outside, addr, "x"); err != nil || !strings.HasSuffix(reply, "\nx") {
		t.Fatalf("-p %d:80 before the kill: %q, %v", hp, reply, err)
	}
	if len(i21e2eHelperProcs(h)) == 0 {
		t.Fatalf("no %s process while the container runs: the check below would prove nothing", h)
	}
	mon := monitorOf(t, st.inspect(t, id).State.Pid)
	kill9(mon)
	if !waitGone(mon, 5*time.Second) {
		t.Fatalf("monitor %d survived SIGKILL", mon)
	}
	var left []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if left = i21e2eHelperProcs(h); len(left) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(left) > 0 {
		t.Errorf("%s left 5 s after its monitor died:\n%s", h, strings.Join(left, "\n"))
	}
	if socks := i21e2eSockets(t, n.outside, hp); len(socks) > 0 {
		t.Errorf("sockets on the published port %d after the monitor died:\n%s", hp, strings.Join(socks, "\n"))
	}
	if r := st.skiff(nil, "rm", "-f", id); r.code != 0 {
		t.Errorf("rm -f after the monitor died: %v", r)
	}
	if left := i21e2eWaitNoProcs(u); len(left) > 0 {
		t.Errorf("processes of the user 10 s after rm -f:\n%s", strings.Join(left, "\n"))
	}
}

// i21e2eHelperProcs are the running processes of the helper h (by its
// executable's name), as "PID cmdline".
func i21e2eHelperProcs(h string) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		// pasta is passt's link, run as passt.avx2 where the CPU has AVX2.
		name := strings.TrimSpace(string(comm))
		if err != nil || !(strings.HasPrefix(name, h) || h == "pasta" && strings.HasPrefix(name, "passt")) {
			continue
		}
		if st, _ := os.ReadFile("/proc/" + e.Name() + "/stat"); strings.Contains(string(st), ") Z ") {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, e.Name()+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return out
}
