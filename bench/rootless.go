package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Issue 20's measurement: `run --rm --network none busybox true` by an
// unprivileged user (rootless) beside the same run as root, and beside
// podman's rootless run as the same user (and podman's as root), all
// alternating, the stores on one filesystem, as ratios. Under the table:
// where the rootless run's extra goes, its -D marks beside root's run's,
// and newuidmap + newgidmap for a fresh namespace timed on their own.
//
// The user is the bench's own (rootless_user.go). A line that cannot run
// as that user at all (rootless skiff not wired yet, podman lacking what
// it needs) reads "skipped" with the reason, found by one untimed pull and
// run before the timed ones.

// errSkipped marks a case that was not measured because it cannot run
// here; its error says why.
var errSkipped = errors.New("skipped")

func skipped(err error) error { return fmt.Errorf("%w: %w", errSkipped, err) }

// skiffCmd is the user's copy of skiff; its store is the user's default
// ($HOME/.local/share/skiff, $XDG_RUNTIME_DIR/skiff), as a user's would be.
func (u *rootlessUser) skiffCmd(e *env, args ...string) *exec.Cmd {
	return u.cmd(u.skiff, append([]string{"--insecure-registry", e.registry}, args...)...)
}

// podmanCmd is podman as the user, with its default rootless store under
// the user's home.
func (u *rootlessUser) podmanCmd(e *env, args ...string) *exec.Cmd {
	return u.cmd(e.podman, args...)
}

// rootlessSections makes the user, measures, and removes the user.
func (e *env) rootlessSections(st store) {
	u, err := e.newRootlessUser()
	if u != nil {
		defer u.remove()
	}
	if err != nil {
		err = fmt.Errorf("rootless user: %w", err)
	}
	fmt.Println()
	e.rootlessRunSection(st, u, err).print(os.Stdout)
}

// probe pulls the image and runs it once, untimed; a failure means the
// tool cannot run here, and its lines are skipped with the reason.
func probe(pull, run *exec.Cmd) error {
	if _, err := output(pull); err != nil {
		return skipped(fmt.Errorf("pull: %w", err))
	}
	if _, err := output(run); err != nil {
		return skipped(fmt.Errorf("run: %w", err))
	}
	return nil
}

func (e *env) rootlessRunSection(st store, u *rootlessUser, userErr error) *section {
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-rootful"), filepath.Join(st.dir, "podman-rootful")
	run := skiffRunArgs(e.bbRef)
	pmRun := []string{"run", "--rm", "--network", "none", e.bbRef, "true"}
	pmPull := []string{"pull", "-q", "--tls-verify=false", e.bbRef}

	rl := &bcase{name: "skiff run --rm --network none, rootless", err: firstErr(e.skiffErr, userErr)}
	if rl.err == nil {
		rl.err = probe(u.skiffCmd(e, "pull", e.bbRef), u.skiffCmd(e, run...))
	}
	rl.step = func(int) (time.Duration, error) { return timeCmd(u.skiffCmd(e, run...)) }
	rf := &bcase{name: "skiff run --rm --network none, root", err: e.skiffErr}
	if rf.err == nil {
		rf.err = probe(e.skiffCmd(skRoot, "pull", e.bbRef), e.skiffCmd(skRoot, run...))
	}
	rf.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skRoot, run...)) }
	prl := &bcase{name: "podman run --rm --network none, rootless", err: firstErr(e.missing(e.podman), userErr)}
	if prl.err == nil {
		prl.err = probe(u.podmanCmd(e, pmPull...), u.podmanCmd(e, pmRun...))
	}
	prl.step = func(int) (time.Duration, error) { return timeCmd(u.podmanCmd(e, pmRun...)) }
	prf := &bcase{name: "podman run --rm --network none, root", err: e.missing(e.podman)}
	if prf.err == nil {
		prf.err = probe(e.podmanCmd(pmRoot, pmPull...), e.podmanCmd(pmRoot, pmRun...))
	}
	prf.step = func(int) (time.Duration, error) { return timeCmd(e.podmanCmd(pmRoot, pmRun...)) }
	spawn := e.spawnCases(u, userErr)
	reexec := e.reexecCases(u, skRoot, rl.err, rf.err)

	e.logf("rootless: %d+1 warm-up iterations of each", e.o.rootlessN)
	measure(append(append([]*bcase{rl, rf, prl, prf}, spawn...), reexec...), 1, e.o.rootlessN, e.progress)
	return &section{
		title:  fmt.Sprintf("rootless: run `true` in busybox, image present (median of %d, after 1 warm-up, all alternating)", e.o.rootlessN),
		fmtDur: ms,
		skiff:  rl,
		lhs:    "rootless",
		peers: []peerRow{
			{c: rf, short: "root"},
			{c: prl, short: "podman-rootless"},
			{c: prf, short: "podman-root"},
		},
		notes: append([]string{
			podmanRootlessCost(prl, prf),
			e.podmanRootlessNote(u, prl.err),
			e.rootlessUserNote(u, st),
			spawnNote(spawn),
			reexecNote(reexec),
		}, u.mapNote()...),
		tail: e.rootlessTimeline(skRoot, u, rl.err, rf.err),
	}
}

// podmanRootlessCost is podman's own rootless/root ratio: what going
// rootless costs the peer.
func podmanRootlessCost(rl, rf *bcase) string {
	r, ok, _ := ratioTarget(rl, rf, 0)
	if !ok {
		return "podman rootless/root: not measured"
	}
	return fmt.Sprintf("podman rootless/root %.2fx (skiff's is the first ratio above)", r)
}

// podmanRootlessNote says how podman ran as the user: its store driver
// (native overlay or fuse-overlayfs), runtime, cgroups, and its pause
// process, the user namespace every rootless podman command joins.
func (e *env) podmanRootlessNote(u *rootlessUser, err error) string {
	if err != nil {
		return "podman rootless: not measured (see below)"
	}
	info, err := output(u.podmanCmd(e, "info", "--format",
		"storage {{.Store.GraphDriverName}} {{.Store.GraphOptions}}, runtime {{.Host.OCIRuntime.Name}}, cgroups {{.Host.CgroupsVersion}} {{.Host.CgroupManager}}"))
	if err != nil {
		info = "podman info: " + oneLineErr(err)
	}
	info = strings.Replace(info, " map[]", " (kernel overlay, no mount_program)", 1)
	pause := "no pause process found"
	if b, err := os.ReadFile(filepath.Join(u.runtimeDir, "libpod", "tmp", "pause.pid")); err == nil {
		pause = "its pause process (pid " + strings.TrimSpace(string(b)) + ", made by the untimed first command) holds the user namespace every podman command joins; skiff makes a fresh one per command"
	}
	return "podman rootless: " + info + "; " + pause + "; no setup-peers.sh tweak needed beyond the user's containers.conf (cgroupfs, file events, runc) and XDG_RUNTIME_DIR, as it gives rless"
}

func (e *env) rootlessUserNote(u *rootlessUser, st store) string {
	if u == nil {
		return "rootless user: none (see the skipped lines)"
	}
	return fmt.Sprintf("rootless: user %s (uid %d), made for this run with /etc/subuid and /etc/subgid lines %d:%d and removed after; its stores under %s (%s, the root lines' filesystem), XDG_RUNTIME_DIR %s; skiff and podman at their rootless defaults; root's stores in %s",
		u.name, u.uid, u.sub, rootlessSubCount, u.home, fsName(u.home), u.runtimeDir, st.dir)
}

// spawnCases time /bin/true spawned as root and as the user, and
// `skiff --version` as the user: every rootless command here is forked by
// the bench and drops to the user between fork and exec, so the first two
// show what the drop costs (no runuser in the timed path, nothing
// subtracted), the third what each extra skiff start-up (the re-exec) costs
// at least.
func (e *env) spawnCases(u *rootlessUser, userErr error) []*bcase {
	tr := lookPath("true")
	trErr := error(nil)
	if tr == "" {
		trErr = fmt.Errorf("true: %w", errNotInstalled)
	}
	root := &bcase{name: "true as root", err: trErr}
	root.step = func(int) (time.Duration, error) { return timeCmd(exec.Command(tr)) }
	user := &bcase{name: "true as the user", err: firstErr(trErr, userErr)}
	user.step = func(int) (time.Duration, error) { return timeCmd(u.cmd(tr)) }
	ver := &bcase{name: "skiff --version as the user", err: firstErr(e.skiffErr, userErr)}
	ver.step = func(int) (time.Duration, error) { return timeCmd(u.cmd(u.skiff, "--version")) }
	return []*bcase{root, user, ver}
}

func spawnNote(c []*bcase) string {
	med := func(b *bcase) string {
		if b.err != nil || len(b.durs) == 0 {
			return "not measured"
		}
		return ms(b.median())
	}
	return fmt.Sprintf("runner: each command is forked by the bench, the rootless ones dropping to the user (setgroups, setgid, setuid) between fork and exec; no runuser, nothing subtracted. Spawn of /bin/true as root %s, as the user %s; `skiff --version` as the user %s (the least a re-exec's second skiff start costs)",
		med(c[0]), med(c[1]), med(c[2]))
}

// reexecCases time `skiff volume prune -f` (no volumes) as the user and as root: a
// command that runs in the rootless namespace and does next to nothing
// there, so the difference is what entering the namespace costs any
// command (the outer CLI's start, the stub, newuidmap + newgidmap, the
// inner CLI's start).
func (e *env) reexecCases(u *rootlessUser, skRoot string, rlErr, rfErr error) []*bcase {
	args := []string{"volume", "prune", "-f"}
	rl := &bcase{name: "skiff volume prune -f, rootless", err: rlErr}
	rl.step = func(int) (time.Duration, error) { return timeCmd(u.skiffCmd(e, args...)) }
	rf := &bcase{name: "skiff volume prune -f, root", err: rfErr}
	rf.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skRoot, args...)) }
	return []*bcase{rl, rf}
}

func reexecNote(c []*bcase) string {
	if firstErr(c[0].err, c[1].err) != nil || len(c[0].durs) == 0 || len(c[1].durs) == 0 {
		return "the re-exec alone: not measured (" + oneLineErr(firstErr(c[0].err, c[1].err, errors.New("no numbers"))) + ")"
	}
	rl, rf := c[0].median(), c[1].median()
	return fmt.Sprintf("the re-exec alone: `skiff volume prune -f` with no volumes (run in the namespace, next to no work there) rootless %s, root %s: %+.2f ms, what entering the namespace costs any such command (outer CLI start, stub, newuidmap + newgidmap, inner CLI start)",
		ms(rl), ms(rf), float64((rl-rf).Microseconds())/1000)
}

// oneLineErr is err's first line, for the notes.
func oneLineErr(err error) string { return oneLine(strings.TrimSpace(err.Error())) }

// mapNote times newuidmap + newgidmap as the user for a fresh user
// namespace (an `unshare --user sleep`): what a rootless skiff must pay
// for its maps whatever its own code does.
func (u *rootlessUser) mapNote() []string {
	if u == nil {
		return nil
	}
	var ds []time.Duration
	for i := 0; i < mapRuns; i++ {
		d, err := u.mapOnce()
		if err != nil {
			return []string{"newuidmap + newgidmap: not measured: " + oneLineErr(err)}
		}
		ds = append(ds, d)
	}
	return []string{fmt.Sprintf("newuidmap + newgidmap as the user, mapping 0 to the user and 1..%d to its range for a fresh `unshare --user sleep`: %s (median of %d, timed here on their own, one after the other; skiff runs the two at once)",
		rootlessSubCount, ms(median(ds)), mapRuns)}
}

const mapRuns = 10

func (u *rootlessUser) mapOnce() (time.Duration, error) {
	hold := u.cmd("unshare", "--user", "sleep", "60")
	if err := hold.Start(); err != nil {
		return 0, fmt.Errorf("unshare --user: %w", err)
	}
	defer func() { hold.Process.Kill(); hold.Wait() }()
	pid := strconv.Itoa(hold.Process.Pid)
	if err := waitOwnUserns(pid); err != nil {
		return 0, err
	}
	sub := strconv.FormatUint(uint64(u.sub), 10)
	count := strconv.Itoa(rootlessSubCount)
	du, err := timeCmd(u.cmd("newuidmap", pid, "0", strconv.FormatUint(uint64(u.uid), 10), "1", "1", sub, count))
	if err != nil {
		return 0, err
	}
	dg, err := timeCmd(u.cmd("newgidmap", pid, "0", strconv.FormatUint(uint64(u.gid), 10), "1", "1", sub, count))
	return du + dg, err
}

// waitOwnUserns waits until pid is in a user namespace other than ours
// (unshare has unshared and is about to exec sleep).
func waitOwnUserns(pid string) error {
	ours, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		return err
	}
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Microsecond) {
		if ns, err := os.Readlink("/proc/" + pid + "/ns/user"); err == nil && ns != ours {
			return nil
		}
	}
	return fmt.Errorf("unshare --user (pid %s): no new user namespace after 2 s", pid)
}

// rootlessTimelineRuns is timelineRuns for the rootless comparison: two
// timelines' differences are noisier than one timeline's steps.
const rootlessTimelineRuns = 9

// rootlessTimeline runs `skiff -D run ...` rootlessTimelineRuns times as root and
// as the user, alternating, and prints the rootless run's marks beside
// root's: where the rootless run spends its extra.
func (e *env) rootlessTimeline(skRoot string, u *rootlessUser, rlErr, rfErr error) []string {
	title := fmt.Sprintf("\n-D phase timeline of `skiff -D %s`, rootless beside root (median of %d runs each, alternating; ms since the CLI started; step: from the line above; shift: rootless minus root at the same mark, so where it grows is where the extra goes)",
		strings.Join(skiffRunArgs("busybox"), " "), rootlessTimelineRuns)
	if err := firstErr(rlErr, rfErr); errors.Is(err, errSkipped) {
		return []string{title, "  ! timeline " + oneLineErr(err)}
	} else if err != nil {
		return []string{title, "  ! timeline skipped: " + oneLineErr(err)}
	}
	args := append([]string{"-D"}, skiffRunArgs(e.bbRef)...)
	var rootRuns, userRuns [][]phaseMark
	for i := 0; i < rootlessTimelineRuns; i++ {
		r, err := debugMarks(e.skiffCmd(skRoot, args...))
		if err == nil {
			rootRuns = append(rootRuns, r)
			r, err = debugMarks(u.skiffCmd(e, args...))
			userRuns = append(userRuns, r)
		}
		if err != nil {
			return []string{title, "  ! timeline failed: " + oneLineErr(err)}
		}
	}
	root, rootless := medianMarks(rootRuns), medianMarks(userRuns)
	return append(append([]string{title}, compareTimelines(root, rootless)...), extraSummary(root, rootless))
}

// wallKey is the mark debugMarks adds: the command's wall time as the
// bench saw it, fork to reap. It sits an exec later than the marks' clock
// would put it (their origin is the CLI's start), for root and rootless
// alike; what a rootless run spends outside its CLI's marks (a re-exec
// whose inner CLI restarts the clock) shows only on this line.
const wallKey = "bench wall"

// debugMarks runs one `skiff -D ...` and returns its marks and wallKey's.
func debugMarks(cmd *exec.Cmd) ([]phaseMark, error) {
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("skiff -D run: %w: %s", err, lastLine(stderr.String()))
	}
	wall := time.Since(start)
	marks, err := parseMarks(stderr.String())
	return append(marks, phaseMark{key: wallKey, ms: float64(wall.Microseconds()) / 1000}), err
}

// extraSummary splits the rootless run's extra (wallKey's shift) into
// what its marks show (the shift at its last mark root's run also has)
// and the rest: time outside the marks.
func extraSummary(root, rootless []phaseMark) string {
	rootAt := map[string]float64{}
	for _, m := range root {
		rootAt[m.key] = m.ms
	}
	var wall, last float64
	lastKey := ""
	for _, m := range rootless {
		at, ok := rootAt[m.key]
		switch {
		case !ok:
		case m.key == wallKey:
			wall = m.ms - at
		default:
			last, lastKey = m.ms-at, m.key
		}
	}
	if lastKey == "" {
		return "  the rootless run's extra: the two runs share no mark"
	}
	return fmt.Sprintf("  the rootless run's extra: %+.2f ms in all (%s), %+.2f ms by its last shared mark (%s), %+.2f ms outside its marks (before its CLI's clock starts or after its last mark)",
		wall, wallKey, last, lastKey, wall-last)
}

// compareTimelines is the rootless marks in time order, each with root's
// time at the same mark when root's run has it, then root's marks the
// rootless run lacks.
func compareTimelines(root, rootless []phaseMark) []string {
	return compareTimelinesAs(root, rootless, "rootless", "root")
}

// compareTimelinesAs is compareTimelines with the two runs' names in the
// header: other's marks beside base's.
func compareTimelinesAs(base, other []phaseMark, otherName, baseName string) []string {
	root, rootless := base, other
	rootAt := map[string]float64{}
	for _, m := range root {
		rootAt[m.key] = m.ms
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  process\tphase\t%s at\t step\t%s at\t shift\t\n", otherName, baseName)
	prev, seen := 0.0, map[string]bool{}
	for _, m := range rootless {
		proc, phase, _ := strings.Cut(m.key, " ")
		ra, shift := "-", "-"
		if at, ok := rootAt[m.key]; ok {
			ra, shift = fmt.Sprintf("%8.2f", at), fmt.Sprintf("%+8.2f", m.ms-at)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%8.2f\t%+8.2f\t%s\t%s\t\n", proc, phase, m.ms, m.ms-prev, ra, shift)
		prev, seen[m.key] = m.ms, true
	}
	for _, m := range root {
		if !seen[m.key] {
			proc, phase, _ := strings.Cut(m.key, " ")
			fmt.Fprintf(tw, "  %s\t%s\t-\t\t%8.2f\t(%s only)\t\n", proc, phase, m.ms, baseName)
		}
	}
	tw.Flush()
	return strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
}
