package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Issue 21's measurements, as the bench's throwaway rootless user
// (rootless_user.go), in the bench's own network namespace (main re-execs
// into one: the host's loopback here is that namespace's):
//   - TCP throughput container → host: bench/tapnetprog send in a skiff
//     container on tapnet (allow_host_loopback=true) to a sink this bench
//     runs on 127.0.0.1, at 10.0.2.2; beside the same program in a bare
//     slirp4netns namespace (`unshare --user --map-root-user --net`,
//     slirp4netns --configure --mtu=65520) and on the loopback itself (the
//     floor: the sender's and the sink's own cost); pasta when installed;
//   - connect latency container → host: tapnetConnects sequential
//     connects, each to the first byte of a server here that writes one
//     and closes; the median of each burst is one figure;
//   - throughput through a published port (host client → -p → sink in the
//     container) beside slirp4netns's builtin port driver (add_hostfwd on
//     its API socket);
//   - the monitor's VmRSS and Pss with the stack while one connection
//     through the published port is idle (issue 21: <= 20 MB), beside
//     slirp4netns's own;
//   - what tapnet adds to `run --rm true` (the default rootless network)
//     beside --network none, with the two -D timelines mark by mark.

const (
	tapnetBytes    = 256 << 20 // per throughput iteration
	tapnetConnects = 200       // per latency iteration
	tapnetMaxRSS   = 20 << 10  // kB: the budget for the monitor with the stack
	tapnetSinkPort = "5001"    // the sink's port in the container and the slirp namespace
	tapnetProg     = "tapnetprog"
	tapnetTimeline = 5 // -D runs of each of the two run lines
)

// tapnetEnv is what the tapnet tables share: the user, the program, the
// servers here and the two stacks' namespaces.
type tapnetEnv struct {
	e        *env
	u        *rootlessUser
	err      error  // no skiff lines: why
	prog     string // the user's copy of tapnetprog
	progErr  error
	sink     string // host:port of the byte sink on 127.0.0.1
	first    string // host:port of the one-byte server on 127.0.0.1
	sender   string // the container the send and connect lines exec into
	slirp    *slirpNS
	slirpErr error
	slirpRSS string // slirp4netns's memory right after its start, no traffic yet
	pastaErr error
}

func (e *env) tapnetSections(repo string, st store) {
	t := &tapnetEnv{e: e}
	ref, imgErr := e.progImage(repo, "./bench/"+tapnetProg, tapnetProg, "bench/tapnet:latest")
	u, userErr := e.newRootlessUser()
	if u != nil {
		defer u.remove()
	}
	if userErr != nil {
		userErr = fmt.Errorf("rootless user: %w", userErr)
	}
	t.u = u
	t.progErr = firstErr(userErr, imgErr)
	if t.progErr == nil {
		t.prog = filepath.Join(u.home, "bin", tapnetProg)
		if t.progErr = copyFile(filepath.Join(e.work, tapnetProg), t.prog, 0o755); t.progErr == nil {
			t.progErr = os.Lchown(t.prog, int(u.uid), int(u.gid))
		}
	}
	t.err = firstErr(e.skiffErr, t.progErr)
	if t.err == nil {
		t.err = probe(u.skiffCmd(e, "pull", ref), u.skiffCmd(e, "run", "--rm", ref, "true"))
	}

	sink, stopSink, err := serveLoopback(sinkConn)
	if err != nil {
		fmt.Printf("\n! tapnet tables: the sink on 127.0.0.1: %v\n", err)
		return
	}
	defer stopSink()
	first, stopFirst, err := serveLoopback(func(c net.Conn) { c.Write([]byte{'x'}) })
	if err != nil {
		fmt.Printf("\n! tapnet tables: the one-byte server on 127.0.0.1: %v\n", err)
		return
	}
	defer stopFirst()
	t.sink, t.first = sink, first

	if t.err == nil {
		t.sender, t.err = output(u.skiffCmd(e, "run", "-d", "--network", "tapnet:allow_host_loopback=true", ref, "sleep", "3600"))
		if t.err == nil {
			defer u.skiffCmd(e, "rm", "-f", t.sender).Run()
		}
	}
	t.slirpErr = t.progErr
	if t.slirpErr == nil && lookPath("slirp4netns") == "" {
		t.slirpErr = skipped(fmt.Errorf("slirp4netns: %w", errNotInstalled))
	}
	if t.slirpErr == nil {
		t.slirp, t.slirpErr = u.startSlirp()
		if t.slirp != nil {
			defer t.slirp.stop()
			time.Sleep(200 * time.Millisecond)
			t.slirpRSS = procMem(t.slirp.proc.Process.Pid)
		}
	}
	if p := lookPath("pasta"); p == "" {
		t.pastaErr = skipped(fmt.Errorf("pasta: %w (Debian's podman 4.3 cannot drive it either)", errNotInstalled))
	} else {
		t.pastaErr = skipped(fmt.Errorf("pasta is at %s but this bench does not drive it yet", p))
	}

	fmt.Println()
	t.sendSection().print(os.Stdout)
	fmt.Println()
	t.connectSection().print(os.Stdout)
	fmt.Println()
	pub := t.publishedSection(ref)
	pub.sec.print(os.Stdout)
	fmt.Println()
	t.printRSS(pub)
	pub.close()
	fmt.Println()
	t.runSection().print(os.Stdout)
}

// serveLoopback listens on 127.0.0.1 (a free port) and runs handle on
// each connection, closing it after; stop closes the listener and waits
// for the handlers.
func serveLoopback(handle func(net.Conn)) (addr string, stop func(), err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(2 * time.Minute))
				handle(c)
			}()
		}
	}()
	return l.Addr().String(), func() { l.Close(); wg.Wait() }, nil
}

// sinkConn reads to EOF and replies the count, as tapnetprog sink does.
func sinkConn(c net.Conn) {
	n, _ := io.Copy(io.Discard, c)
	fmt.Fprintf(c, "%d\n", n)
}

// progNanos runs a tapnetprog and returns the duration it printed.
func progNanos(cmd *exec.Cmd) (time.Duration, error) {
	out, err := output(cmd)
	if err != nil {
		return 0, err
	}
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != "ns" {
		return 0, fmt.Errorf("tapnetprog printed %q", out)
	}
	ns, err := strconv.ParseInt(f[1], 10, 64)
	return time.Duration(ns), err
}

// gatewayAddr is addr's port at the gateway both stacks give the host's
// loopback: 10.0.2.2.
func gatewayAddr(addr string) string {
	_, port, _ := net.SplitHostPort(addr)
	return net.JoinHostPort("10.0.2.2", port)
}

// progCases are one line each: tapnet (exec in the sender container),
// slirp4netns (nsenter into its namespace), pasta, and the floor (the
// program as the user on the loopback here, no stack).
func (t *tapnetEnv) progCases(target string, args ...string) (sk, sl, pa, floor *bcase) {
	gw := gatewayAddr(target)
	sk = &bcase{name: "skiff tapnet (in the monitor)", err: t.err}
	sk.step = func(int) (time.Duration, error) {
		return progNanos(t.u.skiffCmd(t.e, append([]string{"exec", t.sender, "/bin/" + tapnetProg}, append([]string{args[0], gw}, args[1:]...)...)...))
	}
	sl = &bcase{name: "slirp4netns " + slirpVersion(), err: t.slirpErr}
	sl.step = func(int) (time.Duration, error) {
		return progNanos(t.slirp.cmd(t.u, t.prog, append([]string{args[0], gw}, args[1:]...)...))
	}
	pa = &bcase{name: "pasta", err: t.pastaErr}
	floor = &bcase{name: "floor: the same program on the loopback, no stack", err: t.progErr}
	floor.step = func(int) (time.Duration, error) {
		return progNanos(t.u.cmd(t.prog, append([]string{args[0], target}, args[1:]...)...))
	}
	return sk, sl, pa, floor
}

func (t *tapnetEnv) sendSection() *section {
	sk, sl, pa, floor := t.progCases(t.sink, "send", strconv.Itoa(tapnetBytes))
	n := t.e.o.tapnetN
	t.e.logf("tapnet: %d+1 warm-up iterations of each %d MB transfer, container → host", n, tapnetBytes>>20)
	measure([]*bcase{sk, sl, floor}, 1, n, t.e.progress)
	return &section{
		title:  fmt.Sprintf("rootless TCP throughput container → host (10.0.2.2 → 127.0.0.1), %d MB per connection (median of %d, after 1 warm-up, alternating)", tapnetBytes>>20, n),
		fmtDur: gbps,
		rate:   true,
		skiff:  sk,
		lhs:    "tapnet",
		peers:  []peerRow{{c: sl, short: "slirp4netns", target: 1}, {c: pa, short: "pasta"}, {c: floor, short: "floor"}},
		notes: []string{
			"ratios are of the transfer times (the inverse of the rates'): <= 1.00x against slirp4netns is issue 21's target, at least its throughput; published anchors (RootlessKit's iperf3, MTU 65520): slirp4netns 8.1, gvisor-tap-vsock 8.8, pasta 31.9 Gbps",
			"sender: bench/tapnetprog send (static Go, 64 KiB writes, half close, times dial to the sink's byte count), the same binary in all three; sink: this bench on 127.0.0.1 of its own network namespace",
			"skiff: `run -d --network tapnet:allow_host_loopback=true` then `exec` per iteration (the program times itself, exec's start is not in the figure); slirp4netns: `unshare --user --map-root-user --net` as the user, `slirp4netns --configure --mtu=65520` (host loopback allowed, its default), the program run by nsenter",
			"floor: the program as the user straight to 127.0.0.1: what the sender and sink cost with no stack between",
		},
	}
}

func (t *tapnetEnv) connectSection() *section {
	sk, sl, pa, floor := t.progCases(t.first, "connect", strconv.Itoa(tapnetConnects))
	n := t.e.o.tapnetN
	t.e.logf("tapnet: %d+1 warm-up bursts of %d connects, container → host", n, tapnetConnects)
	measure([]*bcase{sk, sl, floor}, 1, n, t.e.progress)
	return &section{
		title:  fmt.Sprintf("rootless TCP connect latency container → host, dial to the first byte (median of %d bursts of %d sequential connects)", n, tapnetConnects),
		fmtDur: micros,
		skiff:  sk,
		lhs:    "tapnet",
		peers:  []peerRow{{c: sl, short: "slirp4netns"}, {c: pa, short: "pasta"}, {c: floor, short: "floor"}},
		notes: []string{
			"bench/tapnetprog connect: dial 10.0.2.2:PORT, read to EOF (a server here on 127.0.0.1 writes one byte and closes), one after the other; each burst's median is one figure",
			"both stacks dial the host's side first and answer the container's SYN after (a refused port is a RST), so the dial already holds the host's connect; the byte adds one trip back through the stack",
		},
	}
}

// publishedTargets are the two sinks behind published ports and the
// skiff container holding one idle connection, for the RSS lines.
type publishedTargets struct {
	sec      *section
	ref      string   // the image
	id       string   // skiff's sink container
	idle     net.Conn // one connection through skiff's published port, idle
	rssFresh string   // the monitor's memory before the throughput runs
	slirpRSS string   // slirp4netns's then
	close    func()
}

func (t *tapnetEnv) publishedSection(ref string) *publishedTargets {
	p := &publishedTargets{ref: ref}
	var closers []func()
	p.close = func() {
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	skErr := t.err
	var skAddr, slAddr string
	if skErr == nil {
		var port int
		if port, skErr = freePort(); skErr == nil {
			skAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			p.id, skErr = output(t.u.skiffCmd(t.e, "run", "-d", "-p", fmt.Sprintf("%d:%s", port, tapnetSinkPort), ref, "/bin/"+tapnetProg, "sink", ":"+tapnetSinkPort))
		}
		if skErr == nil {
			id := p.id
			closers = append(closers, func() { t.u.skiffCmd(t.e, "rm", "-f", id).Run() })
			skErr = waitSink(skAddr)
		}
		if skErr == nil {
			if p.idle, skErr = net.DialTimeout("tcp", skAddr, 5*time.Second); skErr == nil {
				idle := p.idle
				closers = append(closers, func() { idle.Close() })
			}
		}
		if skErr == nil {
			time.Sleep(500 * time.Millisecond) // the monitor's start-up garbage collected
			p.rssFresh = t.monitorMem(p.id)
		}
	}
	slErr := t.slirpErr
	if slErr == nil {
		var port int
		if port, slErr = freePort(); slErr == nil {
			slAddr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
			slErr = t.slirp.startSink(t.u, t.prog)
		}
		if slErr == nil {
			slErr = t.slirp.hostfwd(port, tapnetSinkPort)
		}
		if slErr == nil {
			slErr = waitSink(slAddr)
		}
		if slErr == nil {
			p.slirpRSS = procMem(t.slirp.proc.Process.Pid)
		}
	}
	send := func(name string, err error, addr string) *bcase {
		c := &bcase{name: name, err: err}
		c.step = func(int) (time.Duration, error) { return sendBytes(addr, tapnetBytes) }
		return c
	}
	sk := send("skiff tapnet -p (the monitor's forwarder)", skErr, skAddr)
	sl := send("slirp4netns builtin port driver (add_hostfwd)", slErr, slAddr)
	pa := &bcase{name: "pasta", err: t.pastaErr}
	floor := send("floor: the bench's sink on the loopback, no stack", nil, t.sink)
	n := t.e.o.tapnetN
	t.e.logf("tapnet: %d+1 warm-up iterations of each %d MB transfer through a published port", n, tapnetBytes>>20)
	measure([]*bcase{sk, sl, floor}, 1, n, t.e.progress)
	p.sec = &section{
		title:  fmt.Sprintf("rootless TCP throughput host → published port → container, %d MB per connection (median of %d, after 1 warm-up, alternating)", tapnetBytes>>20, n),
		fmtDur: gbps,
		rate:   true,
		skiff:  sk,
		lhs:    "tapnet",
		peers:  []peerRow{{c: sl, short: "slirp4netns", target: 1}, {c: pa, short: "pasta"}, {c: floor, short: "floor"}},
		notes: []string{
			"ratios are of the transfer times: <= 1.00x against slirp4netns is issue 21's target; published anchors (RootlessKit, through ports): gvisor-tap-vsock 4.0, slirp4netns 9.4 Gbps",
			"client: this bench (root) on 127.0.0.1, 64 KiB writes, half close, dial to the count; sink: bench/tapnetprog sink in the container (skiff `run -d -p PORT:5001`) and in the slirp4netns namespace (`add_hostfwd` 127.0.0.1:PORT → :5001 on its --api-socket)",
			"skiff keeps the client's source address (it injects the connection into the stack; a loopback client shows as 10.0.2.2); slirp4netns's shows the gateway for every client",
		},
	}
	return p
}

// printRSS is the monitor's memory with the stack and one idle
// connection, before and after the throughput runs, beside slirp4netns's.
func (t *tapnetEnv) printRSS(p *publishedTargets) {
	fmt.Printf("memory with the stack while one connection through the published port is idle (issue 21: the monitor <= %d MB)\n", tapnetMaxRSS>>10)
	line := func(name, v string) {
		if v == "" {
			v = "not measured (see the table above)"
		}
		fmt.Printf("  %-62s %s\n", name, v)
	}
	line("skiff monitor, rootless --network none (no stack), idle", t.noneMonitorMem(p.ref))
	line("skiff monitor, tapnet, after start-up (no traffic yet)", p.rssFresh)
	after := ""
	if p.id != "" && p.idle != nil {
		after = t.monitorMem(p.id)
	}
	line(fmt.Sprintf("skiff monitor, tapnet, after the -p runs above (%d MB each)", tapnetBytes>>20), after)
	if t.slirp != nil {
		line("slirp4netns, right after its start (no traffic yet)", t.slirpRSS)
		line("slirp4netns, after the container → host tables, before -p", p.slirpRSS)
		line("slirp4netns, after the -p runs too", procMem(t.slirp.proc.Process.Pid))
	}
	fmt.Println("  - the monitor: the parent of the container's init (inspect State.Pid), as the other RSS lines find it; VmRSS from /proc/PID/status, Pss from smaps_rollup (the binary's pages shared with other skiff processes counted in part)")
	fmt.Println("  - slirp4netns is a process beside the runtime's monitor (podman's conmon); skiff's stack is inside its monitor: the --network none line is the monitor without it")
}

// monitorMem is "VmRSS X MB, Pss Y MB" for the monitor of the user's
// container id, judged against the budget.
func (t *tapnetEnv) monitorMem(id string) string { return t.monitorMemAs(id, true) }

func (t *tapnetEnv) monitorMemAs(id string, judge bool) string {
	out, err := output(t.u.skiffCmd(t.e, "inspect", "-f", "{{.State.Pid}}", id))
	if err != nil {
		return "FAILED: " + oneLineErr(err)
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return fmt.Sprintf("FAILED: inspect State.Pid %q", out)
	}
	mon, err := parentOf(pid)
	if err != nil {
		return "FAILED: " + oneLineErr(err)
	}
	s := procMem(mon)
	if kb, err := vmRSS(mon); err == nil && judge {
		verdict := "PASS"
		if kb > tapnetMaxRSS {
			verdict = "MISS"
		}
		s += fmt.Sprintf(" (pid %d) <= %d MB %s", mon, tapnetMaxRSS>>10, verdict)
	}
	return s
}

// noneMonitorMem is the memory of an idle rootless monitor with no stack
// (`run -d --network none sleep`), the container removed after.
func (t *tapnetEnv) noneMonitorMem(ref string) string {
	if t.err != nil {
		return ""
	}
	id, err := output(t.u.skiffCmd(t.e, "run", "-d", "--network", "none", ref, "sleep", "3600"))
	if err != nil {
		return "FAILED: " + oneLineErr(err)
	}
	defer t.u.skiffCmd(t.e, "rm", "-f", id).Run()
	time.Sleep(500 * time.Millisecond)
	return t.monitorMemAs(id, false)
}

// procMem is "VmRSS X MB, Pss Y MB" of pid.
func procMem(pid int) string {
	kb, err := vmRSS(pid)
	if err != nil {
		return "FAILED: " + oneLineErr(err)
	}
	pss := "?"
	if p, err := smapsPss(pid); err == nil {
		pss = fmt.Sprintf("%.1f MB", float64(p)/1024)
	}
	return fmt.Sprintf("VmRSS %.1f MB, Pss %s", float64(kb)/1024, pss)
}

// smapsPss is /proc/<pid>/smaps_rollup's Pss in kB.
func smapsPss(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	if err != nil {
		return 0, err
	}
	return parsePss(string(b))
}

func parsePss(rollup string) (int, error) {
	for _, l := range strings.Split(rollup, "\n") {
		if rest, ok := strings.CutPrefix(l, "Pss:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, errors.New("smaps_rollup: no Pss line")
}

// runSection times rootless `run --rm true` on tapnet (the default)
// beside --network none, alternating, with the -D marks of both.
func (t *tapnetEnv) runSection() *section {
	e, u := t.e, t.u
	err := firstErr(e.skiffErr, t.progErr)
	if err == nil {
		err = probe(u.skiffCmd(e, "pull", e.bbRef), u.skiffCmd(e, "run", "--rm", e.bbRef, "true"))
	}
	tap := &bcase{name: "skiff run --rm (tapnet, the rootless default), rootless", err: err}
	tap.step = func(int) (time.Duration, error) { return timeCmd(u.skiffCmd(e, "run", "--rm", e.bbRef, "true")) }
	none := &bcase{name: "skiff run --rm --network none, rootless", err: err}
	none.step = func(int) (time.Duration, error) { return timeCmd(u.skiffCmd(e, skiffRunArgs(e.bbRef)...)) }
	n := t.runN()
	e.logf("tapnet: %d+1 warm-up iterations of each rootless run line", n)
	measure([]*bcase{tap, none}, 1, n, e.progress)
	return &section{
		title:  fmt.Sprintf("added to skiff run: rootless `run --rm true` in busybox on tapnet beside --network none (median of %d, after 1 warm-up, alternating)", n),
		fmtDur: ms,
		skiff:  tap,
		lhs:    "tapnet",
		peers:  []peerRow{{c: none, short: "none"}},
		notes: []string{
			"what tapnet adds to each run: " + strings.TrimPrefix(costOf("tapnet", tap, none), "tapnet ") + " (the TAP made and configured in the container's namespace, the stack started in the monitor, resolv.conf; no helper process)",
			fmt.Sprintf("iterations: 4x -tapnet-n (at least 10): a run's difference is noisier than a transfer; the timeline below is the median of %d -D runs of each", tapnetTimeline),
		},
		tail: t.runTimeline(tap.err),
	}
}

func (t *tapnetEnv) runN() int { return max(4*t.e.o.tapnetN, 10) }

// runTimeline is the -D marks of the tapnet run beside the none run's.
func (t *tapnetEnv) runTimeline(err error) []string {
	title := fmt.Sprintf("\n-D phase timeline of rootless `skiff -D run --rm busybox true`, tapnet beside --network none (median of %d runs each, alternating; shift: tapnet minus none at the same mark)", tapnetTimeline)
	if err != nil {
		return []string{title, "  ! timeline skipped: " + oneLineErr(err)}
	}
	e, u := t.e, t.u
	var noneRuns, tapRuns [][]phaseMark
	for i := 0; i < tapnetTimeline; i++ {
		r, err := debugMarks(u.skiffCmd(e, "-D", "run", "--rm", "--network", "none", e.bbRef, "true"))
		if err == nil {
			noneRuns = append(noneRuns, r)
			r, err = debugMarks(u.skiffCmd(e, "-D", "run", "--rm", e.bbRef, "true"))
			tapRuns = append(tapRuns, r)
		}
		if err != nil {
			return []string{title, "  ! timeline failed: " + oneLineErr(err)}
		}
	}
	none, tap := medianMarks(noneRuns), medianMarks(tapRuns)
	return append(append([]string{title}, compareTimelinesAs(none, tap, "tapnet", "none")...), biggestShift(none, tap))
}

// biggestShift names the mark where other's shift over base grows most
// from the shared mark before it: where the extra is spent.
func biggestShift(base, other []phaseMark) string {
	at := map[string]float64{}
	for _, m := range base {
		at[m.key] = m.ms
	}
	prevShift, best, bestKey, seen := 0.0, 0.0, "", false
	for _, m := range other {
		b, ok := at[m.key]
		if !ok || m.key == wallKey {
			continue
		}
		shift := m.ms - b
		if seen && shift-prevShift > best {
			best, bestKey = shift-prevShift, m.key
		}
		prevShift, seen = shift, true
	}
	if bestKey == "" {
		return "  the shift grows at no shared mark"
	}
	return fmt.Sprintf("  the shift grows most at %q: %+.2f ms over the shared mark before it", bestKey, best)
}

// gbps shows a tapnetBytes transfer's time as its rate.
func gbps(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f Gbps", float64(tapnetBytes)*8/1e9/d.Seconds())
}

// freePort is a port nothing listens on on 127.0.0.1 now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitSink sends one byte to the sink at addr until a count comes back:
// a published port accepts before the container's sink listens.
func waitSink(addr string) error {
	var err error
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err = sendBytes(addr, 1); err == nil {
			return nil
		}
	}
	return fmt.Errorf("the sink behind %s: %w", addr, err)
}

// slirpNS is a user+net namespace of the user's (held by a sleep)
// wired by slirp4netns with its API socket.
type slirpNS struct {
	hold *exec.Cmd // unshare ... sleep: the namespaces
	proc *exec.Cmd // slirp4netns
	sink *exec.Cmd // tapnetprog sink in the namespace, once started
	pid  string    // hold's
	api  string    // slirp4netns's API socket
}

// startSlirp makes the namespace and starts slirp4netns on it.
func (u *rootlessUser) startSlirp() (*slirpNS, error) {
	s := &slirpNS{api: filepath.Join(u.runtimeDir, "bench-slirp.sock")}
	s.hold = u.cmd("unshare", "--user", "--map-root-user", "--net", "sleep", "3600")
	if err := s.hold.Start(); err != nil {
		return nil, fmt.Errorf("unshare --user --map-root-user --net: %w", err)
	}
	s.pid = strconv.Itoa(s.hold.Process.Pid)
	// unshare writes the maps, then execs sleep: sleep running means both.
	if err := waitComm(s.hold.Process.Pid, "sleep"); err != nil {
		s.stop()
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		s.stop()
		return nil, err
	}
	defer r.Close()
	var stderr bytes.Buffer
	s.proc = u.cmd("slirp4netns", "--configure", "--mtu=65520", "--api-socket", s.api, "--ready-fd=3", s.pid, "tap0")
	s.proc.ExtraFiles = []*os.File{w}
	s.proc.Stdout, s.proc.Stderr = &stderr, &stderr
	err = s.proc.Start()
	w.Close()
	if err != nil {
		s.proc = nil
		s.stop()
		return nil, fmt.Errorf("slirp4netns: %w", err)
	}
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 16))
		got <- string(b)
	}()
	select {
	case b := <-got:
		if b != "1" {
			s.stop()
			return nil, fmt.Errorf("slirp4netns did not get ready (wrote %q): %s", b, lastLine(stderr.String()))
		}
	case <-time.After(10 * time.Second):
		s.stop()
		return nil, fmt.Errorf("slirp4netns: not ready after 10 s: %s", lastLine(stderr.String()))
	}
	return s, nil
}

// waitComm waits until pid's command name is comm.
func waitComm(pid int, comm string) error {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
		if err != nil {
			return fmt.Errorf("pid %d gone before it ran %s", pid, comm)
		}
		if strings.TrimSpace(string(b)) == comm {
			return nil
		}
	}
	return fmt.Errorf("pid %d: no %s after 5 s", pid, comm)
}

// cmd runs path in the namespace as the user (root there, by the map).
func (s *slirpNS) cmd(u *rootlessUser, path string, args ...string) *exec.Cmd {
	return u.cmd("nsenter", append([]string{"--preserve-credentials", "--user", "--net", "--target", s.pid, path}, args...)...)
}

// startSink runs tapnetprog sink on :tapnetSinkPort in the namespace and
// waits for its "listening".
func (s *slirpNS) startSink(u *rootlessUser, prog string) error {
	s.sink = s.cmd(u, prog, "sink", ":"+tapnetSinkPort)
	out, err := s.sink.StdoutPipe()
	if err != nil {
		return err
	}
	if err := s.sink.Start(); err != nil {
		s.sink = nil
		return fmt.Errorf("tapnetprog sink in the slirp4netns namespace: %w", err)
	}
	line := make(chan string, 1)
	go func() {
		l, _ := bufio.NewReader(out).ReadString('\n')
		line <- l
		io.Copy(io.Discard, out)
	}()
	select {
	case l := <-line:
		if strings.TrimSpace(l) != "listening" {
			return fmt.Errorf("tapnetprog sink in the slirp4netns namespace: %q", l)
		}
		return nil
	case <-time.After(5 * time.Second):
		return errors.New("tapnetprog sink in the slirp4netns namespace: not listening after 5 s")
	}
}

// hostfwd asks slirp4netns (its API socket) to forward 127.0.0.1:port
// to the namespace's guestPort.
func (s *slirpNS) hostfwd(port int, guestPort string) error {
	gp, _ := strconv.Atoi(guestPort)
	req, _ := json.Marshal(map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": "tcp", "host_addr": "127.0.0.1", "host_port": port, "guest_port": gp}})
	c, err := net.DialTimeout("unix", s.api, 5*time.Second)
	if err != nil {
		return fmt.Errorf("slirp4netns API socket: %w", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("slirp4netns add_hostfwd: %w", err)
	}
	c.(*net.UnixConn).CloseWrite()
	b, err := io.ReadAll(c)
	if err != nil {
		return fmt.Errorf("slirp4netns add_hostfwd: %w", err)
	}
	var reply struct {
		Return map[string]any `json:"return"`
		Error  any            `json:"error"`
	}
	if err := json.Unmarshal(b, &reply); err != nil || reply.Error != nil || reply.Return == nil {
		return fmt.Errorf("slirp4netns add_hostfwd: reply %q", strings.TrimSpace(string(b)))
	}
	return nil
}

// stop kills, by pid, what startSlirp and startSink started, and waits.
func (s *slirpNS) stop() {
	for _, c := range []*exec.Cmd{s.sink, s.proc, s.hold} {
		if c != nil && c.Process != nil {
			c.Process.Signal(syscall.SIGKILL)
			c.Wait()
		}
	}
	os.Remove(s.api)
}

var slirpVer = sync.OnceValue(func() string {
	out, err := exec.Command("slirp4netns", "--version").Output()
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(firstLine(string(out)), "slirp4netns version ")
})

// slirpVersion is "x.y.z" of the installed slirp4netns, "" when none.
func slirpVersion() string { return slirpVer() }
