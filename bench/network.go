package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// Issue 14's measurements, in the bench's own network namespace (main
// re-execs into one, so skiff's bridge and podman's never touch the
// host's network):
//   - `run --rm` with the default bridge beside --network none: the
//     bridge adds <= 5 ms (podman's netavark adds ~200 ms here);
//   - TCP throughput to a container through a published port (the
//     nftables DNAT on the host's address, on 127.0.0.1, and the
//     monitor's forwarder on ::1) beside the container's address dialled
//     directly, with i14netprog's sink in the container and the client
//     here;
//   - the monitor's RSS while 100 ports are published, beside one with
//     none, podman's conmon with the same range, and docker-proxy's
//     published figures.

const (
	bridgeMaxCost = 5 * time.Millisecond
	tcpBytes      = 256 << 20 // per throughput iteration
	netPortBase   = 9000
	netPorts      = 100
)

// netImage is busybox with the e2e suite's network test program, built
// static here and pushed to the bench's registry.
func (e *env) netImage(repo string) (string, error) {
	return e.testProgImage(repo, "i14netprog", "bench/net:latest")
}

// testProgImage is busybox with /bin/PROG, the e2e suite's test program
// e2e/testdata/PROG built static here, pushed to the bench's registry as
// name.
func (e *env) testProgImage(repo, prog, name string) (string, error) {
	return e.progImage(repo, "./e2e/testdata/"+prog, prog, name)
}

// progImage is busybox with /bin/PROG, the Go package at pkg (relative to
// repo) built static here as e.work/PROG, pushed to the bench's registry
// as name.
func (e *env) progImage(repo, pkg, prog, name string) (string, error) {
	bin := filepath.Join(e.work, prog)
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, pkg)
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w: %s", prog, err, oneLine(string(out)))
	}
	body, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	bb, err := busyboxImage()
	if err != nil {
		return "", err
	}
	l, err := testenv.LayerFromFiles([]testenv.File{{Name: "bin/" + prog, Body: string(body), Mode: 0o755}})
	if err != nil {
		return "", err
	}
	cf, err := bb.ConfigFile()
	if err != nil {
		return "", err
	}
	img, err := testenv.ImageFromLayers(bb, cf.Config, l)
	if err != nil {
		return "", err
	}
	ref := e.registry + "/" + name
	_, err = testenv.Push(img, ref)
	return ref, err
}

func (e *env) networkSections(repo string, st store) {
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-net"), filepath.Join(st.dir, "podman-net")
	ref, imgErr := e.netImage(repo)
	skErr := firstErr(e.skiffErr, imgErr)
	if skErr == nil {
		_, skErr = timeCmd(e.skiffCmd(skRoot, "pull", ref))
	}
	pmErr := firstErr(e.missing(e.podman), imgErr)
	if pmErr == nil {
		_, pmErr = timeCmd(e.podmanCmd(pmRoot, "pull", "-q", "--tls-verify=false", ref))
	}
	if e.o.netN > 0 {
		fmt.Println()
		e.bridgeRunSection(skRoot, pmRoot, ref, skErr, pmErr).print(os.Stdout)
	} else {
		fmt.Printf("\n(-net-n 0: bridge run section skipped)\n")
	}
	if e.o.tcpN > 0 {
		fmt.Println()
		e.throughputSection(skRoot, ref, skErr).print(os.Stdout)
	} else {
		fmt.Printf("\n(-tcp-n 0: throughput section skipped)\n")
	}
	if e.o.portsRSS {
		e.printPortsRSS(skRoot, pmRoot, ref, skErr, pmErr)
	} else {
		fmt.Printf("\n(-ports-rss=false: published ports memory skipped)\n")
	}
}

// bridgeRunSection times `run --rm true` with the default bridge beside
// --network none, alternating, for skiff and for podman.
func (e *env) bridgeRunSection(skRoot, pmRoot, ref string, skErr, pmErr error) *section {
	run := func(name string, err error, cmd func() *exec.Cmd) *bcase {
		c := &bcase{name: name, err: err}
		c.step = func(int) (time.Duration, error) { return timeCmd(cmd()) }
		return c
	}
	skB := run("skiff run --rm --network bridge", skErr, func() *exec.Cmd {
		return e.skiffCmd(skRoot, "run", "--rm", "--network", "bridge", ref, "true")
	})
	skN := run("skiff run --rm --network none", skErr, func() *exec.Cmd { return e.skiffCmd(skRoot, skiffRunArgs(ref)...) })
	pmB := run("podman run --rm (netavark bridge)", pmErr, func() *exec.Cmd {
		return e.podmanCmd(pmRoot, "run", "--rm", "--network", "bridge", ref, "true")
	})
	pmN := run("podman run --rm --network none", pmErr, func() *exec.Cmd {
		return e.podmanCmd(pmRoot, "run", "--rm", "--network", "none", ref, "true")
	})
	e.logf("network: %d+1 warm-up iterations of each run line", e.o.netN)
	measure([]*bcase{skB, skN, pmB, pmN}, 1, e.o.netN, e.progress)
	return &section{
		title:  fmt.Sprintf("run `true` in busybox: the default bridge beside --network none (median of %d, after 1 warm-up)", e.o.netN),
		fmtDur: ms,
		skiff:  skB,
		lhs:    "bridge",
		peers: []peerRow{
			{c: skN, short: "none", maxCost: bridgeMaxCost},
			{c: pmB, short: "podman"},
			{c: pmN, short: "podman none"},
		},
		notes: []string{
			"the line issue 14 holds to at most +5 ms over --network none (same store, alternating): veth pair, address, routes, nftables rules, /etc/hosts",
			"what the bridge costs each: " + costOf("skiff", skB, skN) + "; " + costOf("podman (netavark)", pmB, pmN),
			"in the bench's own network namespace: both bridges, their nftables/iptables rules and veths are made there, never on the host",
		},
	}
}

// costOf is "name +X ms": bridge's median minus none's.
func costOf(name string, bridge, none *bcase) string {
	if bridge.err != nil || none.err != nil || len(bridge.durs) == 0 || len(none.durs) == 0 {
		return name + " n/a"
	}
	return fmt.Sprintf("%s %+.1f ms", name, float64((bridge.median()-none.median()).Microseconds())/1000)
}

// throughputSection sends tcpBytes to i14netprog's sink in a container,
// through its published port and to its address directly.
func (e *env) throughputSection(skRoot, ref string, skErr error) *section {
	hostPort := netPortBase + netPorts + 1
	var ip, gw string
	err := skErr
	if err == nil {
		var id string
		id, err = output(e.skiffCmd(skRoot, "run", "-d", "--network", "bridge", "-p", fmt.Sprintf("%d:5001", hostPort), ref, "i14netprog", "sink", ":5001"))
		if err == nil {
			defer e.skiffCmd(skRoot, "rm", "-f", id).Run()
			ip, err = output(e.skiffCmd(skRoot, "inspect", "-f", "{{.NetworkSettings.IPAddress}}", id))
		}
		if err == nil {
			gw, err = output(e.skiffCmd(skRoot, "inspect", "-f", "{{.NetworkSettings.Gateway}}", id))
		}
		if err == nil && (ip == "" || gw == "") {
			err = fmt.Errorf("inspect shows no IPAddress (%q) or Gateway (%q)", ip, gw)
		}
	}
	send := func(name, addr string) *bcase {
		c := &bcase{name: name, err: err}
		c.step = func(int) (time.Duration, error) { return sendBytes(addr, tcpBytes) }
		return c
	}
	hp := strconv.Itoa(hostPort)
	viaHost := send("published port, host's address (nftables DNAT)", net.JoinHostPort(gw, hp))
	viaLo := send("published port, 127.0.0.1 (DNAT, route_localnet)", net.JoinHostPort("127.0.0.1", hp))
	via6 := send("published port, ::1 (the monitor's forwarder)", net.JoinHostPort("::1", hp))
	direct := send("the container's address directly", net.JoinHostPort(ip, "5001"))
	e.logf("network: %d+1 warm-up iterations of each %d MB transfer", e.o.tcpN, tcpBytes>>20)
	measure([]*bcase{viaHost, viaLo, via6, direct}, 1, e.o.tcpN, e.progress)
	return &section{
		title:  fmt.Sprintf("TCP throughput into a container, %d MB per connection (median of %d, after 1 warm-up)", tcpBytes>>20, e.o.tcpN),
		fmtDur: throughput,
		rate:   true,
		skiff:  viaHost,
		lhs:    "published",
		peers: []peerRow{
			{c: direct, short: "direct"},
			{c: viaLo, short: "127.0.0.1"},
			{c: via6, short: "::1"},
		},
		notes: []string{
			"ratios are of the transfer times (the inverse of the rates'): 1.00x is no cost over dialling the container's address",
			"client: this bench, 64 KiB writes, then a half close; server: i14netprog sink in busybox, replying the byte count it read",
			"docker's userland proxy copies every byte through a docker-proxy process, as the ::1 line's forwarder does; skiff's IPv4 lines are kernel NAT",
		},
	}
}

// sendBytes writes n bytes to a sink at addr, waits for its count, and
// returns the time from dial to the count.
func sendBytes(addr string, n int) (time.Duration, error) {
	buf := make([]byte, 64<<10)
	start := time.Now()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	for left := n; left > 0; left -= len(buf) {
		if _, err := c.Write(buf[:min(left, len(buf))]); err != nil {
			return 0, fmt.Errorf("write to %s: %w", addr, err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		return 0, err
	}
	reply, err := io.ReadAll(c)
	d := time.Since(start)
	if err != nil {
		return d, fmt.Errorf("read the count from %s: %w", addr, err)
	}
	if got := strings.TrimSpace(string(reply)); got != strconv.Itoa(n) {
		return d, fmt.Errorf("sink at %s read %q bytes, sent %d", addr, got, n)
	}
	return d, nil
}

// throughput shows a tcpBytes transfer's time as its rate.
func throughput(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f MB/s", float64(tcpBytes)/1e6/d.Seconds())
}

// printPortsRSS reports the monitor's VmRSS with netPorts ports published
// (one range) beside one with --network none, and conmon's with the same
// range, with docker-proxy's published figures.
func (e *env) printPortsRSS(skRoot, pmRoot, ref string, skErr, pmErr error) {
	rng := fmt.Sprintf("%d-%d:%d-%d", netPortBase, netPortBase+netPorts-1, netPortBase, netPortBase+netPorts-1)
	fmt.Printf("\nmemory while %d ports are published (-p %s, tcp), VmRSS\n", netPorts, rng)
	line := func(name string, kb int, err error) {
		if err != nil {
			fmt.Printf("  %-40s FAILED: %s\n", name, oneLine(err.Error()))
			return
		}
		fmt.Printf("  %-40s %.1f MB\n", name, float64(kb)/1024)
	}
	none, noneErr := e.idleMonitorRSS(skRoot, ref, skErr, "--network", "none")
	line("skiff monitor, --network none", none, noneErr)
	ports, portsErr := e.idleMonitorRSS(skRoot, ref, skErr, "--network", "bridge", "-p", rng)
	line(fmt.Sprintf("skiff monitor, bridge, %d ports", netPorts), ports, portsErr)
	if noneErr == nil && portsErr == nil {
		fmt.Printf("  %-40s %+.1f MB (%.1f kB a port), 1 process\n", "skiff: what the ports cost", float64(ports-none)/1024, float64(ports-none)/netPorts)
	}
	pm, pmRSSErr := e.conmonPortsRSS(pmRoot, ref, pmErr, rng)
	line(fmt.Sprintf("podman conmon, %d ports", netPorts), pm, pmRSSErr)
	fmt.Println("  - docker (userland-proxy, its default) starts one docker-proxy process per published port and address family:")
	fmt.Println("    100 ports took 116 MB in moby/moby#34328 (docker 17.06; -p 65435-65535:65435-65535/udp, `free` before and after),")
	fmt.Println("    a 1,000-port range thousands of processes and GBs in moby/moby#11185 and #16284; no docker here to measure beside")
	fmt.Println("  - skiff: one monitor per container holds the host ports' reservations (sockets) and the ::1 forwarders; no process per port")
}

// idleMonitorRSS starts `sleep` with the given flags and returns its
// monitor's VmRSS once it has settled; the container is removed.
func (e *env) idleMonitorRSS(root, ref string, err error, flags ...string) (int, error) {
	if err != nil {
		return 0, err
	}
	id, err := output(e.skiffCmd(root, append(append([]string{"run", "-d"}, flags...), ref, "sleep", "3600")...))
	if err != nil {
		return 0, err
	}
	defer e.skiffCmd(root, "rm", "-f", id).Run()
	time.Sleep(500 * time.Millisecond) // the monitor's start-up garbage collected
	out, err := output(e.skiffCmd(root, "inspect", "-f", "{{.State.Pid}}", id))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("inspect State.Pid %q", out)
	}
	mon, err := parentOf(pid)
	if err != nil {
		return 0, err
	}
	return vmRSS(mon)
}

func (e *env) conmonPortsRSS(root, ref string, err error, rng string) (int, error) {
	if err != nil {
		return 0, err
	}
	id, err := output(e.podmanCmd(root, "run", "-d", "-p", rng, ref, "sleep", "3600"))
	if err != nil {
		return 0, err
	}
	defer e.podmanCmd(root, "rm", "-f", "-t", "0", id).Run()
	time.Sleep(500 * time.Millisecond)
	out, err := output(e.podmanCmd(root, "inspect", "-f", "{{.State.ConmonPid}}", id))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, errors.New("inspect State.ConmonPid " + strconv.Quote(out))
	}
	return vmRSS(pid)
}
