package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

var (
	errNotInstalled = errors.New("not installed")
	errPeersOff     = errors.New("skipped: -peers=false")
)

// skiffCmd is skiff with its store under root.
func (e *env) skiffCmd(root string, args ...string) *exec.Cmd {
	g := []string{"--root", filepath.Join(root, "root"), "--runroot", e.runroot(root), "--insecure-registry", e.registry}
	return exec.Command(e.skiff, append(g, args...)...)
}

// podmanCmd is podman with a private store under root, so the host's podman
// store is neither used nor disturbed.
func (e *env) podmanCmd(root string, args ...string) *exec.Cmd {
	g := []string{"--root", filepath.Join(root, "root"), "--runroot", e.runroot(root), "--storage-driver", "overlay"}
	return exec.Command(e.podman, append(g, args...)...)
}

// runroot is a short runtime dir for the store at root: podman refuses a
// runroot over 50 bytes (its sockets' paths must fit in sun_path).
func (e *env) runroot(root string) string {
	sum := sha256.Sum256([]byte(root))
	return filepath.Join(e.runDir, hex.EncodeToString(sum[:6]))
}

// skiffRunArgs is the run every run line measures: the start-up figure,
// loopback only (later features, a bridge or seccomp, get lines of their own).
func skiffRunArgs(ref string) []string {
	return []string{"run", "--rm", "--network", "none", ref, "true"}
}

// runSection times `true` in busybox, the image already in each store.
func (e *env) runSection(st store) *section {
	e.logf("run: preparing stores in %s", st.dir)
	skiffRoot, podmanRoot := filepath.Join(st.dir, "skiff"), filepath.Join(st.dir, "podman")
	bundle := filepath.Join(st.dir, "bundle")

	sk := &bcase{name: "skiff run --rm --network none"}
	sk.err = e.skiffErr
	if sk.err == nil {
		_, sk.err = timeCmd(e.skiffCmd(skiffRoot, "pull", e.bbRef))
	}
	sk.step = func(int) (time.Duration, error) {
		return timeCmd(e.skiffCmd(skiffRoot, skiffRunArgs(e.bbRef)...))
	}

	var bundleErr error
	switch {
	case e.runc != "":
		bundleErr = makeBundle(bundle, e.runc, e.bbTar)
	case e.crun != "":
		bundleErr = makeBundle(bundle, e.crun, e.bbTar)
	}

	cr := &bcase{name: "crun run (bare bundle)", err: firstErr(e.missing(e.crun), e.crunErr, bundleErr)}
	cr.step = func(i int) (d time.Duration, err error) {
		err = e.crunNS.Do(func() error {
			d, err = timeCmd(exec.Command(e.crun, "--root", filepath.Join(st.dir, "crun-state"),
				"run", "--bundle", bundle, fmt.Sprintf("bench-crun-%d", i+100)))
			return err
		})
		return d, err
	}
	rc := &bcase{name: "runc run (bare bundle)", err: firstErr(e.missing(e.runc), bundleErr)}
	rc.step = func(i int) (time.Duration, error) {
		return timeCmd(exec.Command(e.runc, "--root", filepath.Join(st.dir, "runc-state"),
			"run", "--bundle", bundle, fmt.Sprintf("bench-runc-%d", i+100)))
	}
	pm := &bcase{name: "podman run --rm", err: e.missing(e.podman)}
	if pm.err == nil {
		_, pm.err = timeCmd(e.podmanCmd(podmanRoot, "pull", "-q", "--tls-verify=false", e.bbRef))
	}
	pm.step = func(int) (time.Duration, error) {
		return timeCmd(e.podmanCmd(podmanRoot, "run", "--rm", e.bbRef, "true"))
	}
	// podman's default bridge (netavark, iptables) costs ~200 ms a run here;
	// skiff's line is the start-up figure, with loopback only, as podman's
	// with none (the target's peer).
	pmNone := &bcase{name: "podman run --rm --network none", err: pm.err}
	pmNone.step = func(int) (time.Duration, error) {
		return timeCmd(e.podmanCmd(podmanRoot, "run", "--rm", "--network", "none", e.bbRef, "true"))
	}

	e.logf("run: %d+1 warm-up iterations of each", e.o.runN)
	measure([]*bcase{sk, cr, rc, pm, pmNone}, 1, e.o.runN, e.progress)
	// Back to back, each alone: moving a process into a cgroup waits for an
	// RCU grace period (5-20 ms here) unless another move happened within
	// about one, so crun run in a loop mostly finds the kernel's lock warm
	// from its own previous run, and alternating with other tools it mostly
	// does not (skiff moves nothing: docs/design.md). Both are printed.
	skB := &bcase{name: "skiff run, back to back", err: sk.err, step: sk.step}
	crB := &bcase{name: "crun run, back to back", err: cr.err}
	crB.step = func(i int) (time.Duration, error) { return cr.step(i + 1000) }
	e.logf("run: back to back: %d+1 warm-up iterations of skiff, then of crun", e.o.runN)
	measure([]*bcase{skB}, 1, e.o.runN, e.progress)
	measure([]*bcase{crB}, 1, e.o.runN, e.progress)
	return &section{
		tail:   e.timelineTail(skiffRoot),
		title:  fmt.Sprintf("run `true` in busybox, image present (median of %d, after 1 warm-up)", e.o.runN),
		fmtDur: ms,
		skiff:  sk,
		peers: []peerRow{
			{c: cr, short: "crun", target: 1.5},
			{c: rc, short: "runc"},
			{c: pm, short: "podman"},
			{c: pmNone, short: "podman"},
			{c: crB, short: "crun b2b"},
		},
		notes: []string{
			backToBack(skB, crB),
			"skiff: store on this filesystem; the line issue 10 holds to <= 1.5x bare crun (aim 1.0x), both measured alternating with the other tools",
			"back to back: each tool alone in a loop; crun's cgroup moves then mostly find the kernel's lock warm from its previous run (no RCU grace period); skiff moves no process",
			"crun, runc: `runc spec` bundle of the same busybox rootfs, args [true], no terminal, skiff's namespaces (mount pid uts ipc net), rlimits dropped",
			"crun runs from a thread in a private mount namespace without " + unifiedMount + " (crun 1.8 refuses this hybrid cgroup host)",
			"podman: runc, cgroupfs, overlay store on this filesystem; its default network is a netavark bridge",
		},
	}
}

// pullSection times a cold pull of the generated image: every iteration
// starts from an empty store on st's filesystem and after a sync.
func (e *env) pullSection(st store) *section {
	fresh := func(kind string) (func(int) string, func(int) error, func(int)) {
		dir := func(i int) string { return filepath.Join(st.dir, fmt.Sprintf("%s-pull-%d", kind, i)) }
		prep := func(i int) error {
			syncFS()
			return os.MkdirAll(dir(i), 0o755)
		}
		return dir, prep, func(i int) { e.removeAll(dir(i)) }
	}

	skDir, skPrep, skClean := fresh("skiff")
	sk := &bcase{name: "skiff pull", err: e.skiffErr, prep: skPrep, cleanup: skClean}
	sk.step = func(i int) (time.Duration, error) {
		d, err := timeCmd(e.skiffCmd(skDir(i), "pull", e.fatRef))
		return d, e.checkUnpacked(i, skDir(i), err)
	}

	pmDir, pmPrep, pmClean := fresh("podman")
	pm := &bcase{name: "podman pull", err: e.missing(e.podman), prep: pmPrep, cleanup: pmClean}
	pm.step = func(i int) (time.Duration, error) {
		d, err := timeCmd(e.podmanCmd(pmDir(i), "pull", "-q", "--tls-verify=false", e.fatRef))
		return d, e.checkUnpacked(i, pmDir(i), err)
	}

	flDir, flPrep, flClean := fresh("floor")
	fl := &bcase{name: filepath.Base(e.pigz) + " -dc | tar -x (floor)", prep: flPrep, cleanup: flClean}
	if e.pigz == "" { // not a peer: -peers=false still measures the floor
		fl.err = fmt.Errorf("neither pigz nor gzip on PATH: %w", errNotInstalled)
	}
	fl.step = func(i int) (time.Duration, error) {
		d, err := e.unpackFloor(flDir(i))
		return d, e.checkUnpacked(i, flDir(i), err)
	}

	e.logf("pull: %d cold iterations of each", e.o.pullN)
	measure([]*bcase{sk, pm, fl}, 0, e.o.pullN, e.progress)
	return &section{
		title:  fmt.Sprintf("cold pull of the %d-layer image into an empty store (median of %d)", len(e.fat), e.o.pullN),
		fmtDur: secs,
		skiff:  sk,
		peers: []peerRow{
			{c: pm, short: "podman", target: 2.0 / 3},
			{c: fl, short: "floor"},
		},
		notes: []string{
			"each iteration: an empty store on this filesystem after a sync; each tool's store is checked to hold every file after its first pull",
			"floor: `" + filepath.Base(e.pigz) + " -dc layer.tar.gz | tar -x` per layer in order, blobs already local",
		},
	}
}

// checkUnpacked makes sure, after the first timed pull (untimed), that the
// store really holds every file of the image: a tool that skipped or
// deferred the unpack would otherwise win with a meaningless time.
func (e *env) checkUnpacked(i int, dir string, err error) error {
	if err != nil || i != 0 {
		return err
	}
	want := 0
	for _, l := range e.fat {
		want += l.files
	}
	got, err := countFiles(dir)
	if err != nil {
		return fmt.Errorf("count unpacked files: %w", err)
	}
	if got < want {
		return fmt.Errorf("store holds %d regular files, the image has %d: not a full unpack", got, want)
	}
	return nil
}

func countFiles(dir string) (int, error) {
	n := 0
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			n++
		}
		return err
	})
	return n, err
}

// unpackFloor unpacks the layers in order into dir the plainest way there
// is: what a pull can at best approach, given the blobs are already local.
func (e *env) unpackFloor(dir string) (time.Duration, error) {
	var total time.Duration
	for _, l := range e.fat {
		d, err := timeCmd(exec.Command("sh", "-c", `"$0" -dc "$1" | tar -x -C "$2"`, e.pigz, l.path, dir))
		total += d
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// missing is why a peer's lines have no numbers, nil when it is there.
func (e *env) missing(path string) error {
	switch {
	case path != "":
		return nil
	case !e.o.peers:
		return errPeersOff
	}
	return errNotInstalled
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// backToBack is the note comparing skiff and crun each run alone in a loop.
func backToBack(sk, cr *bcase) string {
	if sk.err != nil || cr.err != nil || len(sk.durs) == 0 || len(cr.durs) == 0 {
		return "back to back: not measured"
	}
	s, c := sk.median(), cr.median()
	return fmt.Sprintf("back to back, each alone in a loop: skiff %s, crun %s, skiff/crun %.2fx", ms(s), ms(c), float64(s)/float64(c))
}
