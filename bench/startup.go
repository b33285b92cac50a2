package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// The start-up floor (issue 10): every skiff process, the re-exec'd init and
// monitor too, pays Go's start-up and every linked package's initialisation
// before it does any work. `skiff --version` does nothing else; a minimal
// static Go binary built here, with the same toolchain and flags, is what no
// Go program can go below.

// versionTarget is how much slower than the floor `skiff --version` may be.
const versionTarget = 1.5

// minimalGo builds `package main; func main() {}` as skiff is built (static,
// no cgo, stripped) in a temp dir under the work dir.
func (e *env) minimalGo() (string, error) {
	dir := filepath.Join(e.work, "minimal-go")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "minimal")
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", bin, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build of a minimal main: %w: %s", err, oneLine(string(out)))
	}
	return bin, nil
}

// versionCase times `skiff --version`: no store, no flags, start-up only.
func (e *env) versionCase() *bcase {
	c := &bcase{name: "skiff --version", err: e.skiffErr}
	c.step = func(int) (time.Duration, error) { return timeCmd(exec.Command(e.skiff, "--version")) }
	return c
}

// startupSection times `skiff --version` beside the minimal Go binary.
func (e *env) startupSection() *section {
	floor := &bcase{name: "minimal static Go binary (floor)"}
	bin, err := e.minimalGo()
	floor.err = err
	floor.step = func(int) (time.Duration, error) { return timeCmd(exec.Command(bin)) }
	sk := e.versionCase()
	e.logf("start-up: %d+1 warm-up iterations of each", e.o.versionN)
	measure([]*bcase{sk, floor}, 1, e.o.versionN, e.progress)
	return &section{
		title:  fmt.Sprintf("start-up floor: `skiff --version` (median of %d, after 1 warm-up)", e.o.versionN),
		fmtDur: ms,
		skiff:  sk,
		peers:  []peerRow{{c: floor, short: "floor", target: versionTarget}},
		notes: []string{
			"floor: `package main; func main() {}` built here with the same go, CGO_ENABLED=0, -trimpath -ldflags '-s -w'",
			"every skiff process (CLI, monitor, init) pays this start-up: GODEBUG=inittrace=1 skiff --version lists the package inits",
		},
	}
}
