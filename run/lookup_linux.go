package run

import (
	"time"

	"github.com/skiff-dev/skiff/state"
)

// Lookup finds ref (name, id or unique id prefix) and returns its true
// record: a dead monitor's leftovers reconciled, and an exit its live
// monitor is recording waited for, so callers never see a stale status.
func Lookup(root, runRoot, ref string) (*state.Container, error) {
	return current(root, runRoot, ref)
}

func current(root, runRoot, ref string) (*state.Container, error) {
	c, err := state.Lookup(root, ref)
	if err != nil {
		return nil, err
	}
	if c.Orphaned && state.MonitorAlive(runRoot, c.ID) {
		// The process is gone and its monitor is about to record how;
		// a monitor that takes longer is stuck, and shown as it is.
		deadline := time.Now().Add(monitorLinger)
		for c.Orphaned && time.Now().Before(deadline) && state.MonitorAlive(runRoot, c.ID) {
			time.Sleep(2 * time.Millisecond)
			if c, err = state.Load(root, c.ID); err != nil {
				return nil, err
			}
		}
	}
	return Reconcile(root, runRoot, c)
}
