package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/skiff-dev/skiff/internal/shortid"
)

// FreezeTimeout bounds how long Freeze waits for every task to stop. A task
// in an uninterruptible sleep (NFS, a FUSE server in the same container)
// can keep a cgroup FREEZING for ever; the cgroup is thawed again rather than
// left half-frozen.
var FreezeTimeout = 10 * time.Second

// ErrNoFreezer is returned when the container has no freezer cgroup we can
// write (rootless without delegation, or no freezer mounted).
var ErrNoFreezer = errors.New("no freezer cgroup")

// Freeze stops every process of the container. The v1 freezer is preferred
// on a hybrid host (as runc does): there the v2 mount is a side hierarchy
// that may hold no controllers. It returns once the kernel reports the whole
// cgroup frozen.
func (c *Cgroup) Freeze() error {
	d, v2, err := c.freezerDir()
	if err != nil {
		return err
	}
	if v2 {
		err = freezeV2(d)
	} else {
		err = freezeV1(d)
	}
	if err != nil {
		return fmt.Errorf("freeze container %s: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// Thaw lets the container's processes run again.
func (c *Cgroup) Thaw() error {
	d, v2, err := c.freezerDir()
	if err != nil {
		return err
	}
	if v2 {
		err = setV2(d, "0")
	} else {
		err = writeFile(filepath.Join(d, "freezer.state"), "THAWED")
	}
	if err != nil {
		return fmt.Errorf("thaw container %s: %w", shortid.Of(c.ID), err)
	}
	return nil
}

// Frozen reports whether the container's freezer says frozen (or freezing).
func (c *Cgroup) Frozen() (bool, error) {
	d, v2, err := c.freezerDir()
	if err != nil {
		return false, err
	}
	if v2 {
		b, err := os.ReadFile(filepath.Join(d, "cgroup.freeze"))
		return strings.TrimSpace(string(b)) == "1", err
	}
	b, err := os.ReadFile(filepath.Join(d, "freezer.state"))
	return strings.TrimSpace(string(b)) != "THAWED", err
}

// freezerDir picks the directory whose freezer acts on the container: a v1
// freezer hierarchy first, else a v2 cgroup (every non-root v2 cgroup has
// cgroup.freeze since 5.2, whatever controllers are enabled).
func (c *Cgroup) freezerDir() (string, bool, error) {
	for _, d := range c.dirs {
		if !d.h.V2 && exists(filepath.Join(d.path, "freezer.state")) {
			return d.path, false, nil
		}
	}
	for _, d := range c.dirs {
		if d.h.V2 && exists(filepath.Join(d.path, "cgroup.freeze")) {
			return d.path, true, nil
		}
	}
	return "", false, fmt.Errorf("container %s: %w (is the freezer controller mounted and writable?)", shortid.Of(c.ID), ErrNoFreezer)
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// freezeV1 writes FROZEN and polls freezer.state until it leaves FREEZING.
// The write is repeated while polling: a task forked during the freeze can
// leave the state at FREEZING until FROZEN is written again (runc retries
// the same way).
func freezeV1(d string) error {
	state := filepath.Join(d, "freezer.state")
	deadline := time.Now().Add(FreezeTimeout)
	for i := 0; ; i++ {
		if i%10 == 0 {
			if err := writeFile(state, "FROZEN"); err != nil {
				return err
			}
		}
		b, err := os.ReadFile(state)
		if err != nil {
			return err
		}
		if strings.TrimSpace(string(b)) == "FROZEN" {
			return nil
		}
		if time.Now().After(deadline) {
			writeFile(state, "THAWED")
			return fmt.Errorf("%s still %s after %v: thawed again", state, strings.TrimSpace(string(b)), FreezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

// freezeV2 writes 1 to cgroup.freeze and waits for cgroup.events to say
// "frozen 1": the write returns before every task has stopped.
func freezeV2(d string) error {
	if err := setV2(d, "1"); err != nil {
		return err
	}
	deadline := time.Now().Add(FreezeTimeout)
	for {
		frozen, err := v2Frozen(d)
		if err != nil {
			return err
		}
		if frozen {
			return nil
		}
		if time.Now().After(deadline) {
			setV2(d, "0")
			return fmt.Errorf("%s: not frozen after %v: thawed again", d, FreezeTimeout)
		}
		time.Sleep(time.Millisecond)
	}
}

func setV2(d, v string) error { return writeFile(filepath.Join(d, "cgroup.freeze"), v) }

func v2Frozen(d string) (bool, error) {
	b, err := os.ReadFile(filepath.Join(d, "cgroup.events"))
	if err != nil {
		return false, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == "frozen" {
			return strings.TrimSpace(v) == "1", nil
		}
	}
	return false, nil
}
