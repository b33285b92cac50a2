package main

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// volumesMaxCost is issue 11's target: one bind and one named volume add
// at most 2 ms to `run --rm`.
const volumesMaxCost = 2 * time.Millisecond

// volumesSection times `run --rm` with one bind and one named volume
// beside the plain run on the same store, alternating: what the mounts
// cost is the difference of the medians.
func (e *env) volumesSection(st store) *section {
	e.logf("volumes: preparing store in %s", st.dir)
	skiffRoot := filepath.Join(st.dir, "skiff")
	bind := filepath.Join(st.dir, "bind-src")
	vol := &bcase{name: "skiff run --rm -v DIR:/b -v vol:/v"}
	plain := &bcase{name: "skiff run --rm"}
	vol.err = firstErr(e.skiffErr, os.MkdirAll(bind, 0o755))
	if vol.err == nil {
		_, vol.err = timeCmd(e.skiffCmd(skiffRoot, "pull", e.bbRef)) // already there after the run section
	}
	plain.err = vol.err
	volArgs := []string{"run", "--rm", "--network", "none", "-v", bind + ":/b", "-v", "skiff-bench-vol:/v", e.bbRef, "true"}
	vol.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, volArgs...)) }
	plain.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, skiffRunArgs(e.bbRef)...)) }

	e.logf("volumes: %d+1 warm-up iterations of each", e.o.volN)
	measure([]*bcase{vol, plain}, 1, e.o.volN, e.progress)
	return &section{
		title:  fmt.Sprintf("run `true` in busybox with one bind and one named volume (median of %d, after 1 warm-up)", e.o.volN),
		fmtDur: ms,
		skiff:  vol,
		lhs:    "volumes",
		peers:  []peerRow{{c: plain, short: "plain", maxCost: volumesMaxCost}},
		notes: []string{
			"the line issue 11 holds to at most +2 ms over the plain run (both --network none, same store, alternating)",
			"the named volume is made by the warm-up run and reused, as a service's data volume is",
		},
	}
}
