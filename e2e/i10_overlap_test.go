package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// run spawns the container's monitor before it looks up the image and
// creates the record (docs/design.md, "Overlap"): a run that fails after
// the spawn, or whose CLI is killed at any moment, leaves no monitor, no
// run directory and no container behind, and --rm still removes the
// container before the CLI returns.

// i10overlapRunDirs lists what is left under the run root's containers/.
func i10overlapRunDirs(s *store) []string {
	ents, _ := os.ReadDir(filepath.Join(s.runroot, "containers"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// i10overlapCgroups lists the container cgroups (/skiff/<id>) of every
// mounted hierarchy, and the container inits running (their argv is the
// re-exec'd skiff's, in the pid namespace they start).
func i10overlapCgroups() map[string]bool {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/skiff/*")
	top, _ := filepath.Glob("/sys/fs/cgroup/skiff/*")
	out := map[string]bool{}
	for _, d := range append(dirs, top...) {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() && len(filepath.Base(d)) == 64 {
			out[d] = true
		}
	}
	return out
}

// i10overlapInits lists the pids of processes running as a container init
// that has not exec'd yet ("skiff __skiff_init").
func i10overlapInits() []int {
	var out []int
	for _, pid := range allPids() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err == nil && strings.HasPrefix(string(b), "skiff\x00__skiff_init\x00") {
			out = append(out, pid)
		}
	}
	return out
}

func TestI10OverlapFailedRunLeavesNothing(t *testing.T) {
	requireEnv(t)
	s := faultStore(t)
	s.must(t, "create", "--name", "i10-taken", fx.busybox, "true")
	t.Cleanup(func() { s.skiff(nil, "rm", "-f", "i10-taken") })
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"image missing, --pull=never", []string{"run", "--pull", "never", "--rm", "i10-no-such-image"}},
		{"name taken", []string{"run", "--name", "i10-taken", "--rm", fx.busybox, "true"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cgroupsBefore, initsBefore := i10overlapCgroups(), i10overlapInits()
			r := s.skiff(nil, tt.args...)
			if r.code != 125 || !strings.HasPrefix(r.stderr, "skiff: ") {
				t.Fatalf("%s: %v; want 125 and skiff's error", strings.Join(tt.args, " "), r)
			}
			// At once, not eventually: the monitor run spawned is gone
			// when run returns, and so is everything it made.
			if procs := s.storeProcs(); len(procs) > 0 {
				t.Errorf("processes %v still hold the store after the failed run returned", procs)
			}
			if left := i10overlapRunDirs(s); len(left) > 0 {
				t.Errorf("run directories left behind by the failed run: %q", left)
			}
			// The monitor starts the init before the CLI's Go (issue 10):
			// an abandoned start kills it and removes its cgroup.
			for d := range i10overlapCgroups() {
				// Another container's cgroup (a restart) has processes; a
				// leaked one is empty.
				procs, _ := os.ReadFile(filepath.Join(d, "cgroup.procs"))
				if !cgroupsBefore[d] && len(strings.TrimSpace(string(procs))) == 0 {
					t.Errorf("cgroup %s left behind by the failed run", d)
				}
			}
			if inits := i10overlapInits(); len(inits) > len(initsBefore) {
				t.Errorf("container inits %v (before the run: %v) left behind by the failed run", inits, initsBefore)
			}
			s.assertQuiet(t)
			if ids := strings.Fields(s.must(t, "ps", "-aq").stdout); len(ids) != 1 {
				t.Errorf("ps -aq %q: want only i10-taken", ids)
			}
		})
	}
}

// kill -9 of `run` at any moment: the container is either not there, or
// created, or running (stop works), never half-made, and nothing lingers.
func TestI10OverlapKillRunCLI(t *testing.T) {
	requireEnv(t)
	s := faultStore(t)
	for _, delay := range []time.Duration{0, 1, 2, 4, 6, 8, 12, 20, 40} {
		name := fmt.Sprintf("i10-killrun-%d", delay)
		cmd, done := s.startCLI(t, nil, "run", "--name", name, fx.busybox, "sleep", "300")
		time.Sleep(delay * time.Millisecond)
		kill9(cmd.Process.Pid)
		<-done
		st := s.status(name)
		t.Logf("kill -9 of run after %dms: status %q", delay, st)
		switch st {
		case "", "created":
		case "running":
			s.fastly(t, "stop", "-t", "1", name)
		default:
			t.Errorf("delay %dms: status %q after kill -9 of run", delay, st)
		}
		s.skiff(nil, "rm", "-f", name) // made or not: either is fine
		s.fastly(t, "run", "--rm", "--name", name, fx.busybox, "true")
	}
	s.stateFilesParse(t)
	s.assertNoContainers(t)
	s.assertQuiet(t)
	if left := i10overlapRunDirs(s); len(left) > 0 {
		t.Errorf("run directories left behind: %q", left)
	}
}

// --rm has removed the container (record and name) when the CLI returns,
// foreground and detached alike: a script reuses the name at once.
func TestI10OverlapRmReusesName(t *testing.T) {
	requireEnv(t)
	s := faultStore(t)
	for i := 0; i < 5; i++ {
		if r := s.skiff(nil, "run", "--rm", "--name", "i10-reuse", fx.busybox, "sh", "-c", "exit 3"); r.code != 3 {
			t.Fatalf("run --rm #%d: %v; want exit 3", i, r)
		}
		if r := s.skiff(nil, "inspect", "i10-reuse"); r.code == 0 {
			t.Fatalf("run --rm #%d returned with the container still there", i)
		}
	}
	s.assertNoContainers(t)
	s.assertQuiet(t)
}
