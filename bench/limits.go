package main

import (
	"fmt"
	"path/filepath"
	"time"
)

// limitsMaxCost is issue 16's target: --cpus, -m and --pids-limit add at
// most 2 ms to `run --rm`.
const limitsMaxCost = 2 * time.Millisecond

// limitsSection times `run --rm` with --cpus 1 -m 64m --pids-limit 100
// beside the plain run on the same store, alternating: what writing the
// limits costs is the difference of the medians.
func (e *env) limitsSection(st store) *section {
	e.logf("limits: preparing store in %s", st.dir)
	skiffRoot := filepath.Join(st.dir, "skiff")
	lim := &bcase{name: "skiff run --rm --cpus 1 -m 64m --pids-limit 100"}
	plain := &bcase{name: "skiff run --rm"}
	lim.err = e.skiffErr
	if lim.err == nil {
		_, lim.err = timeCmd(e.skiffCmd(skiffRoot, "pull", e.bbRef)) // already there after the run section
	}
	plain.err = lim.err
	limArgs := []string{"run", "--rm", "--network", "none", "--cpus", "1", "-m", "64m", "--pids-limit", "100", e.bbRef, "true"}
	lim.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, limArgs...)) }
	plain.step = func(int) (time.Duration, error) { return timeCmd(e.skiffCmd(skiffRoot, skiffRunArgs(e.bbRef)...)) }

	e.logf("limits: %d+1 warm-up iterations of each", e.o.limitsN)
	measure([]*bcase{lim, plain}, 1, e.o.limitsN, e.progress)
	return &section{
		title:  fmt.Sprintf("run `true` in busybox with --cpus 1 -m 64m --pids-limit 100 (median of %d, after 1 warm-up)", e.o.limitsN),
		fmtDur: ms,
		skiff:  lim,
		lhs:    "limits",
		peers:  []peerRow{{c: plain, short: "plain", maxCost: limitsMaxCost}},
		notes: []string{
			"the line issue 16 holds to at most +2 ms over the plain run (both --network none, same store, alternating): the monitor writes the limits while the init builds its root",
		},
	}
}
