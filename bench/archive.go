package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// archiveSection times moving the generated image between machines as an
// archive: save from a store that holds it, then load into an empty store,
// skiff beside podman. Each iteration saves to a new file and loads into a
// new store on st's filesystem, after a sync; the source stores are pulled
// once, untimed.
func (e *env) archiveSection(st store) *section {
	iter := func(kind string, i int) (file, dst string) {
		return filepath.Join(st.dir, fmt.Sprintf("%s-archive-%d.tar", kind, i)),
			filepath.Join(st.dir, fmt.Sprintf("%s-load-%d", kind, i))
	}
	prep := func(kind string) func(int) error {
		return func(i int) error {
			syncFS()
			_, dst := iter(kind, i)
			return os.MkdirAll(dst, 0o755)
		}
	}
	cleanup := func(kind string) func(int) {
		return func(i int) {
			file, dst := iter(kind, i)
			os.Remove(file)
			e.removeAll(dst)
		}
	}

	skSrc := filepath.Join(st.dir, "skiff-archive-src")
	sk := &bcase{name: "skiff save + load", err: e.skiffErr, prep: prep("skiff"), cleanup: cleanup("skiff")}
	if sk.err == nil {
		_, sk.err = timeCmd(e.skiffCmd(skSrc, "pull", e.fatRef))
	}
	sk.step = func(i int) (time.Duration, error) {
		file, dst := iter("skiff", i)
		ds, err := timeCmd(e.skiffCmd(skSrc, "save", "-o", file, e.fatRef))
		if err != nil {
			return ds, err
		}
		dl, err := timeCmd(e.skiffCmd(dst, "load", "-q", "-i", file))
		return ds + dl, e.checkUnpacked(i, dst, err)
	}

	pmSrc := filepath.Join(st.dir, "podman-archive-src")
	pm := &bcase{name: "podman save + load", err: e.missing(e.podman), prep: prep("podman"), cleanup: cleanup("podman")}
	if pm.err == nil {
		_, pm.err = timeCmd(e.podmanCmd(pmSrc, "pull", "-q", "--tls-verify=false", e.fatRef))
	}
	pm.step = func(i int) (time.Duration, error) {
		file, dst := iter("podman", i)
		ds, err := timeCmd(e.podmanCmd(pmSrc, "save", "-q", "-o", file, e.fatRef))
		if err != nil {
			return ds, err
		}
		dl, err := timeCmd(e.podmanCmd(dst, "load", "-q", "-i", file))
		return ds + dl, e.checkUnpacked(i, dst, err)
	}

	e.logf("archive: %d iterations of each", e.o.pullN)
	measure([]*bcase{sk, pm}, 0, e.o.pullN, e.progress)
	defer e.removeAll(skSrc)
	defer e.removeAll(pmSrc)
	return &section{
		title:  fmt.Sprintf("save the %d-layer image to a file, then load it into an empty store (median of %d)", len(e.fat), e.o.pullN),
		fmtDur: secs,
		skiff:  sk,
		peers:  []peerRow{{c: pm, short: "podman", target: 2.0 / 3}},
		notes: []string{
			"each iteration: save from a store holding the image (pulled once, untimed) to a new file, then load into an empty store on this filesystem, after a sync",
			"podman: docker-archive (its default), overlay store; each tool's loaded store is checked to hold every file after its first load",
		},
	}
}
