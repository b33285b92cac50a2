package main

import (
	"fmt"
	"path/filepath"
	"time"
)

// seccompMaxCost is issue 17's target: docker's default seccomp filter
// (compiled once, then read from the cache by its profile's hash) adds at
// most 1 ms to `run --rm`.
const seccompMaxCost = time.Millisecond

// seccompSection times the plain `run --rm`, which loads docker's default
// filter, beside the same run with --security-opt seccomp=unconfined on
// the same store, alternating: what the filter costs (resolving the
// profile, the cached program, loading it) is the difference of the
// medians.
func (e *env) seccompSection(st store) *section {
	e.logf("seccomp: preparing store in %s", st.dir)
	skiffRoot := filepath.Join(st.dir, "skiff")
	filtered := &bcase{name: "skiff run --rm (default seccomp filter)"}
	unconfined := &bcase{name: "skiff run --rm --security-opt seccomp=unconfined"}
	filtered.err = e.skiffErr
	if filtered.err == nil {
		_, filtered.err = timeCmd(e.skiffCmd(skiffRoot, "pull", e.bbRef)) // already there after the run section
	}
	unconfined.err = filtered.err
	unconfinedArgs := []string{"run", "--rm", "--network", "none", "--security-opt", "seccomp=unconfined", e.bbRef, "true"}
	filtered.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, skiffRunArgs(e.bbRef)...)) }
	unconfined.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, unconfinedArgs...)) }

	e.logf("seccomp: %d+1 warm-up iterations of each", e.o.seccompN)
	measure([]*bcase{filtered, unconfined}, 1, e.o.seccompN, e.progress)
	return &section{
		title:  fmt.Sprintf("run `true` in busybox under docker's default seccomp filter vs seccomp=unconfined (median of %d, after 1 warm-up)", e.o.seccompN),
		fmtDur: ms,
		skiff:  filtered,
		lhs:    "seccomp",
		peers:  []peerRow{{c: unconfined, short: "unconfined", maxCost: seccompMaxCost}},
		notes: []string{
			"the line issue 17 holds to at most +1 ms over the unconfined run (both --network none, same store, alternating); the warm-up run fills the compiled-filter cache, as the first run after boot does",
		},
	}
}
