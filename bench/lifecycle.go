package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/internal/procstat"
)

// Issue 3's measurements, with issue 10's targets: the costs a daemonless
// lifecycle must keep small. `ps -a` over 100 containers (97 created, 3
// running), `run -d` until it returns (its exit means the container
// started), `exec true` into a running container, `run -d` then `rm -f` of
// 50 containers in a loop, and the resident memory of the per-container
// monitor (conmon's for podman). ps and exec are judged against
// `skiff --version`, measured in the same rounds: what they cost beyond
// start-up is what they do. exec is also judged against podman's.

const (
	lifeContainers = 100
	lifeRunning    = 3
	psVersion      = 1.3 // ps -a with 100 containers <= 1.3x skiff --version
	execVersion    = 2.5 // exec true <= 2.5x skiff --version
	execPodman     = 0.2 // and <= 0.2x podman exec
	churnLoop      = 50  // containers per run -d + rm -f loop
	rssTargetKB    = 6 * 1024
)

// lifeTool is one tool's store for the lifecycle tables.
type lifeTool struct {
	name    string
	cmd     func(args ...string) *exec.Cmd
	runArgs []string // run -d flags before the image
	err     error    // why its lines have no numbers
	running []string // ids of its running containers
}

func (e *env) lifecycleSections(st store) {
	o := e.o
	e.logf("lifecycle: preparing %d containers per tool in %s", lifeContainers, st.dir)
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-life"), filepath.Join(st.dir, "podman-life")
	// The bridges would be measured, not the lifecycle: both run with
	// loopback only (--network none); the churn table adds skiff on its
	// default bridge, which the network tables measure on their own.
	sk := &lifeTool{name: "skiff", err: e.skiffErr, runArgs: []string{"--network", "none"},
		cmd: func(a ...string) *exec.Cmd { return e.skiffCmd(skRoot, a...) }}
	pm := &lifeTool{name: "podman", err: e.missing(e.podman), runArgs: []string{"--network", "none"},
		cmd: func(a ...string) *exec.Cmd { return e.podmanCmd(pmRoot, a...) }}
	tools := []*lifeTool{sk, pm}
	defer func() {
		for _, t := range tools {
			t.removeAll()
		}
	}()
	for _, t := range tools {
		if t.err == nil {
			t.err = e.populate(t)
		}
	}

	if o.psN > 0 {
		cases := []*bcase{caseFor(sk, "skiff ps -a", "ps", "-a"), e.versionCase(), caseFor(pm, "podman ps -a", "ps", "-a")}
		measure(cases, 1, o.psN, e.progress)
		e.printLife(fmt.Sprintf("`ps -a` with %d containers, %d running (median of %d, after 1 warm-up)", lifeContainers, lifeRunning, o.psN), "ps",
			cases[0], peerRow{c: cases[1], short: "--version", target: psVersion}, peerRow{c: cases[2], short: "podman"})
	} else {
		fmt.Printf("\n(-ps-n 0: ps section skipped)\n")
	}
	if o.runDN > 0 {
		cases := []*bcase{e.runDCase(sk), e.runDCase(pm)}
		measure(cases, 1, o.runDN, e.progress)
		e.printLife(fmt.Sprintf("`run -d busybox sleep` until the command returns, i.e. started (median of %d, after 1 warm-up)", o.runDN), "",
			cases[0], peerRow{c: cases[1], short: "podman"})
	} else {
		fmt.Printf("\n(-rund-n 0: run -d section skipped)\n")
	}
	if o.execN > 0 {
		cases := []*bcase{execCase(sk), e.versionCase(), execCase(pm)}
		measure(cases, 1, o.execN, e.progress)
		e.printLife(fmt.Sprintf("`exec <running> true` (median of %d, after 1 warm-up)", o.execN), "exec",
			cases[0], peerRow{c: cases[1], short: "--version", target: execVersion}, peerRow{c: cases[2], short: "podman", target: execPodman})
	} else {
		fmt.Printf("\n(-exec-n 0: exec section skipped)\n")
	}
	if o.churnN > 0 {
		bridged := *sk
		bridged.runArgs = nil
		cases := []*bcase{e.churnCase(sk), e.churnCase(pm), e.churnCase(&bridged)}
		cases[2].name = "skiff run -d (default bridge) + rm -f"
		measure(cases, 0, o.churnN, e.progress)
		e.printLife(fmt.Sprintf("`run -d` then `rm -f`, %d containers in a loop: per container (median of %d loops)", churnLoop, o.churnN), "",
			cases[0], peerRow{c: cases[1], short: "podman"}, peerRow{c: cases[2], short: "bridge"})
	} else {
		fmt.Printf("\n(-churn-n 0: run -d + rm -f loop skipped)\n")
	}
	if o.rss {
		e.printRSS(sk, pm)
	} else {
		fmt.Printf("\n(-rss=false: monitor RSS skipped)\n")
	}
}

// populate makes 97 created and 3 running containers (sleep, no network).
func (e *env) populate(t *lifeTool) error {
	if _, err := timeCmd(t.cmd(append(pullArgs(t), e.bbRef)...)); err != nil {
		return err
	}
	for i := 0; i < lifeContainers-lifeRunning; i++ {
		if _, err := timeCmd(t.cmd("create", e.bbRef, "true")); err != nil {
			return fmt.Errorf("create #%d: %w", i, err)
		}
	}
	for i := 0; i < lifeRunning; i++ {
		id, err := output(t.cmd(append(append([]string{"run", "-d"}, t.runArgs...), e.bbRef, "sleep", "3600")...))
		if err != nil {
			return fmt.Errorf("run -d #%d: %w", i, err)
		}
		t.running = append(t.running, id)
	}
	// ps must really walk 100 records, or its time means nothing.
	ids, err := output(t.cmd("ps", "-aq"))
	if err != nil {
		return err
	}
	if n := len(strings.Fields(ids)); n != lifeContainers {
		return fmt.Errorf("ps -aq lists %d containers after making %d", n, lifeContainers)
	}
	return nil
}

func pullArgs(t *lifeTool) []string {
	if t.name == "podman" {
		return []string{"pull", "-q", "--tls-verify=false"}
	}
	return []string{"pull"}
}

// removeAll removes every container of the tool's store (untimed).
func (t *lifeTool) removeAll() {
	if t.name == "podman" {
		if t.err != errNotInstalled && t.err != errPeersOff {
			t.cmd("rm", "-af", "-t", "0").Run()
		}
		return
	}
	ids, err := output(t.cmd("ps", "-aq", "--no-trunc"))
	if err == nil && ids != "" {
		t.cmd(append([]string{"rm", "-f"}, strings.Fields(ids)...)...).Run()
	}
}

func caseFor(t *lifeTool, name string, args ...string) *bcase {
	c := &bcase{name: name, err: t.err}
	c.step = func(int) (time.Duration, error) { return timeCmd(t.cmd(args...)) }
	return c
}

// runDCase times run -d; the container is removed after each iteration,
// untimed, so the store stays at 100.
func (e *env) runDCase(t *lifeTool) *bcase {
	c := &bcase{name: t.name + " run -d " + strings.Join(t.runArgs, " "), err: t.err}
	var id string
	c.step = func(int) (time.Duration, error) {
		var out bytes.Buffer
		cmd := t.cmd(append(append([]string{"run", "-d"}, t.runArgs...), e.bbRef, "sleep", "3600")...)
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		d := time.Since(start)
		id = strings.TrimSpace(out.String())
		if err != nil {
			return d, fmt.Errorf("run -d: %w: %s", err, lastLine(out.String()))
		}
		return d, nil
	}
	c.cleanup = func(int) {
		if id != "" {
			t.cmd(rmForce(t, id)...).Run()
			id = ""
		}
	}
	return c
}

func rmForce(t *lifeTool, id string) []string {
	if t.name == "podman" {
		return []string{"rm", "-f", "-t", "0", id}
	}
	return []string{"rm", "-f", id}
}

func execCase(t *lifeTool) *bcase {
	c := &bcase{name: t.name + " exec true", err: t.err}
	if c.err == nil && len(t.running) == 0 {
		c.err = fmt.Errorf("no running container")
	}
	c.step = func(int) (time.Duration, error) { return timeCmd(t.cmd("exec", t.running[0], "true")) }
	return c
}

// printLife prints skiff's line and its peers' with their ratios; lhs
// names skiff's line in the ratio column.
func (e *env) printLife(title, lhs string, skiff *bcase, peers ...peerRow) {
	sec := &section{title: title, fmtDur: ms, skiff: skiff, peers: peers, lhs: lhs}
	fmt.Println()
	sec.print(os.Stdout)
}

// churnCase times churnLoop rounds of `run -d` then `rm -f` of the same
// container and reports the time per container: what a script that starts
// and removes one container per step pays. The containers run `sleep`, so
// rm -f has a live one to kill, as a script's usually would.
func (e *env) churnCase(t *lifeTool) *bcase {
	c := &bcase{name: t.name + " run -d " + strings.Join(t.runArgs, " ") + " + rm -f", err: t.err}
	if t.name == "podman" {
		c.name = "podman run -d --network none + rm -f -t 0"
	}
	c.step = func(int) (time.Duration, error) {
		var total time.Duration
		for i := 0; i < churnLoop; i++ {
			start := time.Now()
			id, err := output(t.cmd(append(append([]string{"run", "-d"}, t.runArgs...), e.bbRef, "sleep", "3600")...))
			if err != nil {
				return 0, fmt.Errorf("run -d #%d: %w", i, err)
			}
			if _, err := output(t.cmd(rmForce(t, id)...)); err != nil {
				return 0, fmt.Errorf("rm -f #%d: %w", i, err)
			}
			total += time.Since(start)
		}
		return total / churnLoop, nil
	}
	return c
}

// printRSS reports VmRSS of the monitor (skiff) and conmon (podman) of an
// idle sleep container with no network.
func (e *env) printRSS(sk, pm *lifeTool) {
	fmt.Printf("\nmonitor memory of an idle `sleep` container, no network (VmRSS)\n")
	skKB, skErr := skiffMonitorRSS(sk)
	pmKB, pmErr := conmonRSS(pm)
	line := func(name string, kb int, err error) {
		if err != nil {
			fmt.Printf("  %-22s FAILED: %s\n", name, oneLine(err.Error()))
			return
		}
		fmt.Printf("  %-22s %.1f MB\n", name, float64(kb)/1024)
	}
	line("skiff monitor", skKB, skErr)
	line("podman conmon", pmKB, pmErr)
	v := "n/a"
	if skErr == nil {
		v = map[bool]string{true: "PASS", false: "MISS"}[skKB < rssTargetKB]
	}
	fmt.Printf("  target: skiff monitor < %d MB: %s\n", rssTargetKB/1024, v)
	fmt.Println("  - the monitor is the parent of the container's init (State.Pid); conmon from podman's State.ConmonPid")
}

func skiffMonitorRSS(t *lifeTool) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if len(t.running) == 0 {
		return 0, fmt.Errorf("no running container")
	}
	out, err := output(t.cmd("inspect", "-f", "{{.State.Pid}}", t.running[0]))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("inspect State.Pid %q", out)
	}
	ppid, err := parentOf(pid)
	if err != nil {
		return 0, err
	}
	return vmRSS(ppid)
}

func conmonRSS(t *lifeTool) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if len(t.running) == 0 {
		return 0, fmt.Errorf("no running container")
	}
	out, err := output(t.cmd("inspect", "-f", "{{.State.ConmonPid}}", t.running[0]))
	if err != nil {
		return 0, err
	}
	pid, err := strconv.Atoi(out)
	if err != nil || pid <= 0 {
		return 0, fmt.Errorf("inspect State.ConmonPid %q", out)
	}
	return vmRSS(pid)
}

func parentOf(pid int) (int, error) {
	s, err := procstat.Read(pid)
	if err != nil {
		return 0, err
	}
	return s.PPid, nil
}

// vmRSS is /proc/<pid>/status VmRSS in kB.
func vmRSS(pid int) (int, error) {
	v := procStatus(pid, "VmRSS")
	if v == "" {
		return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return strconv.Atoi(strings.TrimSuffix(v, " kB"))
}

// procStatus is the value of /proc/<pid>/status's line name, trimmed;
// "" when the process or the line is not there.
func procStatus(pid int, name string) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, l := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(l, name+":"); ok {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// output runs a command and returns its trimmed stdout.
func output(cmd *exec.Cmd) (string, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s: %w: %s", filepath.Base(cmd.Path), err, lastLine(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}
