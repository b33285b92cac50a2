package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Issue 19's measurements, in the bench's own network namespace:
//   - `run --rm` on a user network beside the default bridge, alternating
//     on one store: a user network adds <= 3 ms (its bridge, the member
//     record, the monitor's DNS responder and redirect);
//   - DNS query latency from inside a container to its resolver for
//     another member's name: skiff's monitor at 127.0.0.11 (through the
//     container's nat redirect to its port) beside podman's aardvark-dns
//     on its network's gateway, each the median of dnsQueries one-at-a-time
//     UDP round trips of e2e/testdata/i19dnsprog, in a container of the
//     network; then that container's monitor's VmRSS beside an idle one on
//     the default bridge (the budget with DNS serving: 8 MB).

const (
	usernetMaxCost = 3 * time.Millisecond
	dnsQueries     = 200 // per timed iteration; its median is the iteration's figure
)

func (e *env) usernetSections(repo string, st store) {
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-usernet"), filepath.Join(st.dir, "podman-usernet")
	ref, imgErr := e.testProgImage(repo, "i19dnsprog", "bench/dns:latest")
	skErr := firstErr(e.skiffErr, imgErr)
	if skErr == nil {
		_, skErr = timeCmd(e.skiffCmd(skRoot, "pull", ref))
	}
	const netName = "benchnet"
	if skErr == nil {
		if _, skErr = output(e.skiffCmd(skRoot, "network", "create", netName)); skErr == nil {
			defer e.skiffCmd(skRoot, "network", "rm", netName).Run()
		}
	}
	pmErr := firstErr(e.missing(e.podman), imgErr)
	if pmErr == nil {
		_, pmErr = timeCmd(e.podmanCmd(pmRoot, "pull", "-q", "--tls-verify=false", ref))
	}
	if pmErr == nil && lookPath("aardvark-dns") == "" && !exists("/usr/lib/podman/aardvark-dns") && !exists("/usr/libexec/podman/aardvark-dns") {
		pmErr = fmt.Errorf("aardvark-dns: %w (apt-get install aardvark-dns, or ../shared/peers/setup-peers.sh)", errNotInstalled)
	}
	if pmErr == nil {
		if _, pmErr = output(e.podmanCmd(pmRoot, "network", "create", netName)); pmErr == nil {
			defer e.podmanCmd(pmRoot, "network", "rm", "-f", netName).Run()
		}
	}
	fmt.Println()
	e.usernetRunSection(skRoot, ref, netName, skErr).print(os.Stdout)
	fmt.Println()
	e.dnsLatencySection(skRoot, pmRoot, ref, netName, skErr, pmErr).print(os.Stdout)
}

// usernetRunSection times `run --rm true` on a user network beside the
// default bridge, alternating.
func (e *env) usernetRunSection(skRoot, ref, netName string, skErr error) *section {
	run := func(name, network string) *bcase {
		c := &bcase{name: name, err: skErr}
		c.step = func(int) (time.Duration, error) {
			return timeCmd(e.skiffCmd(skRoot, "run", "--rm", "--network", network, ref, "true"))
		}
		return c
	}
	user := run("skiff run --rm --network "+netName+" (user network)", netName)
	bridge := run("skiff run --rm --network bridge", "bridge")
	e.logf("user network: %d+1 warm-up iterations of each run line", e.o.usernetN)
	measure([]*bcase{user, bridge}, 1, e.o.usernetN, e.progress)
	return &section{
		title:  fmt.Sprintf("run `true` in busybox: a user network beside the default bridge (median of %d, after 1 warm-up)", e.o.usernetN),
		fmtDur: ms,
		skiff:  user,
		lhs:    "user",
		peers:  []peerRow{{c: bridge, short: "bridge", maxCost: usernetMaxCost}},
		notes: []string{
			"the line issue 19 holds to at most +3 ms over the default bridge (same store, alternating): the network's bridge and rules exist already; the member record, the veth in the network's bridge, the monitor's DNS responder and its redirect are per run",
			"skiff only: podman's netavark bridge costs ~200 ms a run on its own (the issue-14 table)",
		},
	}
}

// dnsLatencySection times, from inside a container, queries of another
// member's name: each iteration one exec of `i19dnsprog bench`, whose
// median round trip is the iteration's figure.
func (e *env) dnsLatencySection(skRoot, pmRoot, ref, netName string, skErr, pmErr error) *section {
	const target, client = "bench-dns-target", "bench-dns-client"
	sk := &bcase{name: "skiff: the monitor's responder at 127.0.0.11", err: skErr}
	if sk.err == nil {
		sk.err = e.usernetPair(func(args ...string) *exec.Cmd { return e.skiffCmd(skRoot, args...) }, ref, netName, target, client)
		defer e.skiffCmd(skRoot, "rm", "-f", target, client).Run()
	}
	sk.step = func(int) (time.Duration, error) {
		return queryMedian(e.skiffCmd(skRoot, "exec", client, "i19dnsprog", "bench", target, strconv.Itoa(dnsQueries)))
	}
	pm := &bcase{name: "podman: aardvark-dns on the network's gateway", err: pmErr}
	if pm.err == nil {
		pm.err = e.usernetPair(func(args ...string) *exec.Cmd { return e.podmanCmd(pmRoot, args...) }, ref, netName, target, client)
		defer e.podmanCmd(pmRoot, "rm", "-f", "-t", "0", target, client).Run()
	}
	pm.step = func(int) (time.Duration, error) {
		return queryMedian(e.podmanCmd(pmRoot, "exec", client, "i19dnsprog", "bench", target, strconv.Itoa(dnsQueries)))
	}
	n := max(e.o.usernetN/4, 3)
	e.logf("user network: %d+1 warm-up bursts of %d DNS queries each", n, dnsQueries)
	measure([]*bcase{sk, pm}, 1, n, e.progress)
	rss := e.dnsMonitorRSS(skRoot, ref, client, sk.err, (n+1)*dnsQueries)
	return &section{
		title:  fmt.Sprintf("DNS: an A query of another member's name from inside a container, one round trip (median of %d bursts of %d)", n, dnsQueries),
		fmtDur: micros,
		skiff:  sk,
		peers:  []peerRow{{c: pm, short: "aardvark"}},
		notes: []string{
			"client: e2e/testdata/i19dnsprog bench, UDP to resolv.conf's first name server, one query at a time; each burst's median is one figure",
			"skiff: the container's own monitor answers on a random port, reached through the nat redirect of 127.0.0.11:53 in the container's namespace; podman: one aardvark-dns for the host, on the network's gateway address",
			rss,
		},
	}
}

// dnsMonitorRSS is the note on the memory of the client's monitor after
// it answered queries, beside an idle monitor on the default bridge
// (issue 19's budget: 8 MB with DNS serving).
func (e *env) dnsMonitorRSS(root, ref, client string, err error, queries int) string {
	kb := 0
	if err == nil {
		var out string
		if out, err = output(e.skiffCmd(root, "inspect", "-f", "{{.State.Pid}}", client)); err == nil {
			var pid, mon int
			if pid, err = strconv.Atoi(out); err == nil {
				if mon, err = parentOf(pid); err == nil {
					kb, err = vmRSS(mon)
				}
			}
		}
	}
	bridge, bridgeErr := e.idleMonitorRSS(root, ref, err, "--network", "bridge")
	if err = firstErr(err, bridgeErr); err != nil {
		return "the monitor's VmRSS serving DNS: not measured: " + oneLine(err.Error())
	}
	return fmt.Sprintf("the client's monitor after answering %d queries: VmRSS %.1f MB (an idle monitor on the default bridge: %.1f MB); issue 19's budget with DNS serving: 8 MB",
		queries, float64(kb)/1024, float64(bridge)/1024)
}

// usernetPair starts target and client (`sleep`) on network netName.
func (e *env) usernetPair(cmd func(args ...string) *exec.Cmd, ref, netName, target, client string) error {
	for _, name := range []string{target, client} {
		if _, err := output(cmd("run", "-d", "--name", name, "--network", netName, ref, "sleep", "3600")); err != nil {
			return err
		}
	}
	return nil
}

// queryMedian runs an `i19dnsprog bench` and returns its median round
// trip; every query must have been answered with an address.
func queryMedian(cmd *exec.Cmd) (time.Duration, error) {
	out, err := output(cmd)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(out) // median US p90 US answers N
	if len(f) != 6 || f[0] != "median" || f[5] != strconv.Itoa(dnsQueries) {
		return 0, fmt.Errorf("i19dnsprog bench: %q, want %d answers", out, dnsQueries)
	}
	us, err := strconv.Atoi(f[1])
	return time.Duration(us) * time.Microsecond, err
}

func micros(d time.Duration) string { return fmt.Sprintf("%d µs", d.Microseconds()) }
