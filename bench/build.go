package main

// The build line (issue 12): a 6-step Dockerfile (FROM, a COPY of ~2,000
// files, RUN, ENV, WORKDIR, CMD) built by skiff, `podman build` and
// `buildah bud`, each on its own store with busybox present: the first
// build (--no-cache) and the all-cache rebuild. Targets: the all-cache
// rebuild <= 100 ms and <= 0.25x podman's, the first build <= 0.5x
// podman's.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// buildFiles is the COPY's file count: 20 directories of 100.
const buildDirs, buildFilesPerDir = 20, 100

// buildContext writes the benchmark's context under dir.
func (e *env) buildContext(dir string) error {
	for d := 0; d < buildDirs; d++ {
		sub := filepath.Join(dir, "files", fmt.Sprintf("d%02d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return err
		}
		for f := 0; f < buildFilesPerDir; f++ {
			body := strings.Repeat(fmt.Sprintf("file %d/%d\n", d, f), 40)
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%03d.txt", f)), []byte(body), 0o644); err != nil {
				return err
			}
		}
	}
	df := fmt.Sprintf(`FROM %s
COPY files /app/files
RUN find /app/files -type f | wc -l > /app/count
ENV MODE=bench
WORKDIR /app
CMD ["cat", "/app/count"]
`, e.bbRef)
	return os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644)
}

// buildahCmd is buildah on a private store under root, as podmanCmd.
func (e *env) buildahCmd(root string, args ...string) *exec.Cmd {
	g := []string{"--root", filepath.Join(root, "root"), "--runroot", e.runroot(root), "--storage-driver", "overlay"}
	return exec.Command(lookPath("buildah"), append(g, args...)...)
}

// buildSections measures the first build and the all-cache rebuild.
func (e *env) buildSections(st store) []*section {
	ctxDir := filepath.Join(st.dir, "build-context")
	ctxErr := e.buildContext(ctxDir)
	skRoot, pmRoot, baRoot := filepath.Join(st.dir, "skiff-build"), filepath.Join(st.dir, "podman-build"), filepath.Join(st.dir, "buildah-build")

	skErr := firstErr(ctxErr, e.skiffErr)
	if skErr == nil {
		_, skErr = timeCmd(e.skiffCmd(skRoot, "pull", "-q", e.bbRef))
	}
	pmErr := firstErr(ctxErr, e.missing(e.podman))
	if pmErr == nil {
		_, pmErr = timeCmd(e.podmanCmd(pmRoot, "pull", "-q", "--tls-verify=false", e.bbRef))
	}
	buildah := lookPath("buildah")
	baErr := firstErr(ctxErr, e.missing(buildah))
	if baErr == nil {
		_, baErr = timeCmd(e.buildahCmd(baRoot, "pull", "-q", "--tls-verify=false", e.bbRef))
	}
	skiffBuild := func(extra ...string) func(int) (time.Duration, error) {
		return func(int) (time.Duration, error) {
			return timeCmd(e.skiffCmd(skRoot, append(append([]string{"build", "-q", "-t", "bench-build"}, extra...), ctxDir)...))
		}
	}
	podmanBuild := func(extra ...string) func(int) (time.Duration, error) {
		return func(int) (time.Duration, error) {
			return timeCmd(e.podmanCmd(pmRoot, append(append([]string{"build", "-q", "--layers", "-t", "bench-build"}, extra...), ctxDir)...))
		}
	}
	buildahBuild := func(extra ...string) func(int) (time.Duration, error) {
		return func(int) (time.Duration, error) {
			return timeCmd(e.buildahCmd(baRoot, append(append([]string{"bud", "-q", "--layers", "-t", "bench-build"}, extra...), ctxDir)...))
		}
	}

	first := []*bcase{
		{name: "skiff build --no-cache", err: skErr, step: skiffBuild("--no-cache")},
		{name: "podman build --no-cache", err: pmErr, step: podmanBuild("--no-cache")},
		{name: "buildah bud --no-cache", err: baErr, step: buildahBuild("--no-cache")},
	}
	e.logf("build: %d+1 warm-up first builds of each", e.o.buildN)
	measure(first, 1, e.o.buildN, e.progress)
	cached := []*bcase{
		{name: "skiff build (all cache)", err: first[0].err, step: skiffBuild()},
		{name: "podman build (all cache)", err: first[1].err, step: podmanBuild()},
		{name: "buildah bud (all cache)", err: first[2].err, step: buildahBuild()},
	}
	e.logf("build: %d+1 warm-up all-cache rebuilds of each", e.o.buildN)
	measure(cached, 1, e.o.buildN, e.progress)
	// The ms target: a peer row of a fixed 100 ms.
	limit := &bcase{name: "(100 ms)", durs: []time.Duration{100 * time.Millisecond}}
	notes := []string{
		fmt.Sprintf("Dockerfile: FROM busybox, COPY of %d files (%d KB), RUN find|wc, ENV, WORKDIR, CMD; busybox already in each store", buildDirs*buildFilesPerDir, buildDirs*buildFilesPerDir*len(strings.Repeat("file 00/000\n", 40))/1000),
		"podman and buildah: --layers, overlay store on this filesystem, their default RUN isolation and network; skiff: RUN on the default bridge, as docker's",
	}
	return []*section{
		{
			title:  fmt.Sprintf("build, first (--no-cache) (median of %d, after 1 warm-up)", e.o.buildN),
			fmtDur: ms, skiff: first[0],
			peers: []peerRow{{c: first[1], short: "podman", target: 0.5}, {c: first[2], short: "buildah"}},
			notes: notes,
		},
		{
			title:  fmt.Sprintf("build, all-cache rebuild (median of %d, after 1 warm-up)", e.o.buildN),
			fmtDur: ms, skiff: cached[0],
			peers: []peerRow{{c: cached[1], short: "podman", target: 0.25}, {c: cached[2], short: "buildah"}, {c: limit, short: "100ms", target: 1}},
		},
	}
}
