package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// The baseline tables put this skiff beside another build of itself (a
// binary, or a git revision built here), so a change that is meant to keep
// speed (a restructure) shows it: the same commands alternate between the
// two, each on its own store on the same filesystem, and the ratio column
// reads this/baseline.

// baselineTarget is how much slower than the baseline a line may be before
// it reads MISS: medians on this VM drift a few percent between runs.
const baselineTarget = 1.10

// buildBaseline resolves -baseline: an executable file is used as it is,
// anything else is a git revision of repo, exported and built.
func (e *env) buildBaseline(repo string) (bin, label string, err error) {
	ref := e.o.baseline
	if st, err := os.Stat(ref); err == nil && st.Mode().IsRegular() {
		v, _ := exec.Command(ref, "--version").Output()
		return ref, strings.TrimPrefix(firstLine(string(v)), "skiff version ") + " (" + ref + ")", nil
	}
	src := filepath.Join(e.work, "baseline-src")
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", "", err
	}
	cmd := exec.Command("sh", "-c", `git -C "$0" archive "$1" | tar -x -C "$2"`, repo, ref, src)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("-baseline %s: neither a file nor a revision: %w: %s", ref, err, lastLine(string(b)))
	}
	bin = filepath.Join(e.work, "skiff-baseline")
	if err := goBuild(src, bin); err != nil {
		return "", "", fmt.Errorf("-baseline %s: %w", ref, err)
	}
	rev, _ := exec.Command("git", "-C", repo, "rev-parse", "--short", ref).Output()
	return bin, ref + " " + strings.TrimSpace(string(rev)), nil
}

// baselineSections measures run, a cold pull and cp for this skiff and the
// baseline on store st, and prints a table each.
func (e *env) baselineSections(repo string, st store) {
	base, label, err := e.buildBaseline(repo)
	fmt.Printf("\n\n=== skiff beside the baseline %s, store on %s: %s\n", label, st.label, fsName(st.dir))
	this := &env{o: e.o, work: e.work, runDir: e.runDir, skiff: e.skiff, skiffErr: e.skiffErr, registry: e.registry, bbRef: e.bbRef, fatRef: e.fatRef, fat: e.fat}
	other := *this
	other.skiff, other.skiffErr = base, err
	tools := []*env{this, &other}
	names := []string{"skiff", "baseline"}
	var secs []*section
	secs = append(secs, baselineRun(tools, names, st))
	secs = append(secs, baselinePull(tools, names, st))
	secs = append(secs, baselineCp(tools, names, st)...)
	for _, sec := range secs {
		if sec == nil || interrupted.Load() {
			continue
		}
		sec.notes = append(sec.notes, fmt.Sprintf("the two alternate, each on its own store; target: no slower than %.2fx the baseline (a few %% is this VM's drift)", baselineTarget))
		fmt.Println()
		sec.print(os.Stdout)
	}
}

func baselineSection(title string, fmtDur func(time.Duration) string, cases []*bcase, names []string) *section {
	return &section{title: title, fmtDur: fmtDur, skiff: cases[0],
		peers: []peerRow{{c: cases[1], short: names[1], target: baselineTarget}}}
}

func baselineRun(tools []*env, names []string, st store) *section {
	var cases []*bcase
	for i, t := range tools {
		root := filepath.Join(st.dir, names[i]+"-run")
		c := &bcase{name: names[i] + " run --rm true", err: t.skiffErr}
		if c.err == nil {
			_, c.err = timeCmd(t.skiffCmd(root, "pull", t.bbRef))
		}
		c.step = func(int) (time.Duration, error) { return timeCmd(t.skiffCmd(root, "run", "--rm", t.bbRef, "true")) }
		cases = append(cases, c)
	}
	n := tools[0].o.runN
	measure(cases, 1, n, tools[0].progress)
	return baselineSection(fmt.Sprintf("run `true` in busybox (median of %d, after 1 warm-up)", n), ms, cases, names)
}

func baselinePull(tools []*env, names []string, st store) *section {
	if tools[0].fatRef == "" || tools[0].o.pullN <= 0 {
		fmt.Printf("\n(-pull-n %d: no pull or cp beside the baseline)\n", tools[0].o.pullN)
		return nil
	}
	var cases []*bcase
	for i, t := range tools {
		dir := func(it int) string { return filepath.Join(st.dir, fmt.Sprintf("%s-pull-%d", names[i], it)) }
		c := &bcase{name: names[i] + " pull", err: t.skiffErr,
			prep:    func(it int) error { syncFS(); return os.MkdirAll(dir(it), 0o755) },
			cleanup: func(it int) { t.removeAll(dir(it)) }}
		c.step = func(it int) (time.Duration, error) { return timeCmd(t.skiffCmd(dir(it), "pull", t.fatRef)) }
		cases = append(cases, c)
	}
	n := tools[0].o.pullN
	measure(cases, 0, n, tools[0].progress)
	return baselineSection(fmt.Sprintf("cold pull of the %d-layer image into an empty store (median of %d)", len(tools[0].fat), n), secs, cases, names)
}

// baselineCp copies one layer's tree (~1200 small files and 30 MB) out of a
// stopped container and back into it at a new path.
func baselineCp(tools []*env, names []string, st store) []*section {
	if tools[0].fatRef == "" || tools[0].o.pullN <= 0 {
		return nil
	}
	const tree = "/opt/l1"
	var cases []*bcase
	for i, t := range tools {
		root := filepath.Join(st.dir, names[i]+"-cp")
		out := func(it int) string { return filepath.Join(st.dir, fmt.Sprintf("%s-cp-out-%d", names[i], it)) }
		ctr := "bench-cp-" + names[i]
		cOut := &bcase{name: names[i] + " cp CTR:" + tree + " DIR", err: t.skiffErr, cleanup: func(it int) { t.removeAll(out(it)) }}
		if cOut.err == nil {
			if _, cOut.err = timeCmd(t.skiffCmd(root, "pull", t.fatRef)); cOut.err == nil {
				_, cOut.err = timeCmd(t.skiffCmd(root, "create", "--name", ctr, t.fatRef, "true"))
			}
		}
		cOut.step = func(it int) (time.Duration, error) {
			return timeCmd(t.skiffCmd(root, "cp", ctr+":"+tree, out(it)))
		}
		cIn := &bcase{name: names[i] + " cp DIR CTR:/opt/in-N", err: cOut.err,
			prep:    func(it int) error { _, err := timeCmd(t.skiffCmd(root, "cp", ctr+":"+tree, out(it))); return err },
			cleanup: func(it int) { t.removeAll(out(it)) }}
		cIn.step = func(it int) (time.Duration, error) {
			return timeCmd(t.skiffCmd(root, "cp", out(it), fmt.Sprintf("%s:/opt/in-%d", ctr, it)))
		}
		cases = append(cases, cOut, cIn)
	}
	n := max(tools[0].o.pullN, 3)
	measure(cases, 1, n, tools[0].progress)
	return []*section{
		baselineSection(fmt.Sprintf("cp of a 30 MB, 1200-file tree out of a stopped container (median of %d)", n), ms, []*bcase{cases[0], cases[2]}, names),
		baselineSection(fmt.Sprintf("cp of the same tree into the stopped container, a new path each time (median of %d)", n), ms, []*bcase{cases[1], cases[3]}, names),
	}
}
