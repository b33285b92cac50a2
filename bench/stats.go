package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// Issue 16's stats measurement: `stats --no-stream` over running
// containers, skiff beside podman. skiff samples every container over one
// interval (1 s) together; docker takes about two seconds per container
// (moby#40437), so the figure to watch is how little above one interval
// skiff stays as containers are added.

const (
	statsContainers = 20
	statsTarget     = 1500 * time.Millisecond // the bound for --no-stream
)

func (e *env) statsSection(st store) *section {
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-stats"), filepath.Join(st.dir, "podman-stats")
	sk := &lifeTool{name: "skiff", err: e.skiffErr, runArgs: []string{"--network", "none"},
		cmd: func(a ...string) *exec.Cmd { return e.skiffCmd(skRoot, a...) }}
	pm := &lifeTool{name: "podman", err: e.missing(e.podman), runArgs: []string{"--network", "none"},
		cmd: func(a ...string) *exec.Cmd { return e.podmanCmd(pmRoot, a...) }}
	tools := []*lifeTool{sk, pm}
	defer func() {
		for _, t := range tools {
			t.removeAll()
		}
		e.removeAll(skRoot)
		e.removeAll(pmRoot)
	}()
	e.logf("stats: starting %d containers per tool in %s", statsContainers, st.dir)
	for _, t := range tools {
		if t.err == nil {
			t.err = e.startRunning(t, statsContainers)
		}
	}
	cases := []*bcase{statsCase(sk), statsCase(pm)}
	measure(cases, 1, e.o.statsN, e.progress)
	return &section{
		title:  fmt.Sprintf("`stats --no-stream` with %d running containers (median of %d, after 1 warm-up)", statsContainers, e.o.statsN),
		fmtDur: secs,
		skiff:  cases[0],
		peers:  []peerRow{{c: cases[1], short: "podman"}},
		notes: []string{
			fmt.Sprintf("skiff samples all containers over one 1 s interval (CPU %% needs two readings); target: at most %s", secs(statsTarget)),
			"podman reads once: its CPU % is the average since the container started, where docker's and skiff's are over the last interval",
			"containers: busybox sleep, --network none, in each tool's own store",
		},
	}
}

// startRunning pulls busybox into the tool's store and starts n sleeping
// containers.
func (e *env) startRunning(t *lifeTool, n int) error {
	if _, err := timeCmd(t.cmd(append(pullArgs(t), e.bbRef)...)); err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err := output(t.cmd(append(append([]string{"run", "-d"}, t.runArgs...), e.bbRef, "sleep", "3600")...)); err != nil {
			return fmt.Errorf("run -d #%d: %w", i, err)
		}
	}
	return nil
}

// statsCase times one `stats --no-stream` and checks it listed every
// container.
func statsCase(t *lifeTool) *bcase {
	c := &bcase{name: t.name + " stats --no-stream", err: t.err}
	c.step = func(int) (time.Duration, error) {
		cmd := t.cmd("stats", "--no-stream", "--format", "{{.ID}}")
		start := time.Now()
		out, err := output(cmd)
		d := time.Since(start)
		if err != nil {
			return d, err
		}
		if n := len(strings.Fields(out)); n != statsContainers {
			return d, fmt.Errorf("stats listed %d containers, want %d", n, statsContainers)
		}
		return d, nil
	}
	return c
}
