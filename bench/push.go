package main

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// pushSection times a push of the generated image to an empty registry:
// every iteration starts a fresh docker-registry (untimed), so nothing is
// there to reuse or mount and the whole image goes over the wire, and each
// tool pushes the image already in its store.
func (e *env) pushSection(st store) *section {
	skRoot, pmRoot := filepath.Join(st.dir, "skiff-push"), filepath.Join(st.dir, "podman-push")
	regs := map[string]*testenv.Registry{}
	// fresh gives iteration i of a tool its own empty registry.
	fresh := func(kind string) (func(int) string, func(int) error, func(int)) {
		key := func(i int) string { return fmt.Sprintf("%s-%d", kind, i) }
		dst := func(i int) string { return regs[key(i)].Addr + "/bench/pushed:latest" }
		prep := func(i int) error {
			r, err := testenv.StartRegistry(filepath.Join(st.dir, "push-registry-"+key(i)))
			if err != nil {
				return err
			}
			regs[key(i)] = r
			syncFS()
			return nil
		}
		cleanup := func(i int) {
			regs[key(i)].Close()
			delete(regs, key(i))
			e.removeAll(filepath.Join(st.dir, "push-registry-"+key(i)))
		}
		return dst, prep, cleanup
	}

	skDst, skPrep, skClean := fresh("skiff")
	sk := &bcase{name: "skiff push", err: e.skiffErr, prep: skPrep, cleanup: skClean}
	if sk.err == nil {
		_, sk.err = timeCmd(e.skiffCmd(skRoot, "pull", e.fatRef))
	}
	sk.step = func(i int) (time.Duration, error) {
		if _, err := timeCmd(e.skiffCmd(skRoot, "tag", e.fatRef, skDst(i))); err != nil {
			return 0, err
		}
		d, err := timeCmd(e.skiffCmd(skRoot, "push", skDst(i)))
		e.skiffCmd(skRoot, "rmi", skDst(i)).Run() // the next iteration mounts from no known repository
		return d, err
	}

	pmDst, pmPrep, pmClean := fresh("podman")
	pm := &bcase{name: "podman push", err: e.missing(e.podman), prep: pmPrep, cleanup: pmClean}
	if pm.err == nil {
		_, pm.err = timeCmd(e.podmanCmd(pmRoot, "pull", "-q", "--tls-verify=false", e.fatRef))
	}
	pm.step = func(i int) (time.Duration, error) {
		return timeCmd(e.podmanCmd(pmRoot, "push", "-q", "--tls-verify=false", e.fatRef, pmDst(i)))
	}

	e.logf("push: %d iterations of each, an empty registry each", e.o.pushN)
	measure([]*bcase{sk, pm}, 0, e.o.pushN, e.progress)
	e.removeAll(skRoot)
	e.removeAll(pmRoot)
	return &section{
		title:  fmt.Sprintf("push of the %d-layer image to an empty registry (median of %d)", len(e.fat), e.o.pushN),
		fmtDur: secs,
		skiff:  sk,
		peers:  []peerRow{{c: pm, short: "podman", target: 0.66}},
		notes: []string{
			"each iteration: a fresh docker-registry on 127.0.0.1 with its storage on this filesystem, started untimed; the image is already in each tool's store",
			"skiff sends the compressed blobs it kept from the pull; podman recompresses the layers its store keeps unpacked",
		},
	}
}
