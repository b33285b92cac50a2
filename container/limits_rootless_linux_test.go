package container

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// A rootless container whose create recorded a delegated cgroup is born
// in <subtree>/skiff/<id> by the start, is found there by every command
// (CgroupOf), and its cgroup goes at cleanup; a limit the subtree's
// controllers cannot hold does not fail the start (the create warned).
// Run as root on a subtree the test makes in the real cgroup2 hierarchy
// (on this hybrid host the unified mount, without controllers), with the
// test process moved into it, as a rootless skiff runs inside its user's
// delegation: root's code is what runs inside the user namespace.
func TestDelegatedCgroupStart(t *testing.T) {
	img := newTestImage(t)
	sub := delegatedSubtreeForTest(t)
	image := spec.Image{ID: "sha256:" + strings.Repeat("1", 64), LayerDirs: []string{img.layer},
		Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}
	o := spec.Options{Args: []string{"sh", "-c", "sleep 30"}}
	o.Host.Limits = state.Limits{CgroupMount: sub.mount, CgroupSubtree: sub.dir, PidsLimit: 50}
	s, c, out := startContainer(t, image, o)
	rec, err := state.Load(s.Root, c.State.ID)
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(sub.dir, "skiff", c.State.ID)
	b, err := os.ReadFile("/proc/" + strconv.Itoa(rec.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		p, isV2 := strings.CutPrefix(line, "0::")
		switch {
		case isV2 && filepath.Join(sub.mount, p) != leaf:
			t.Errorf("the init's cgroup2 is %s, want %s", p, leaf)
		case !isV2 && strings.Contains(line, c.State.ID):
			t.Errorf("the init is in root's v1 cgroup %s too", line)
		}
	}
	cg, err := CgroupOf(rec)
	if err != nil || !slices.Equal(cg.Paths(), []string{leaf}) {
		t.Errorf("CgroupOf: %v, %v; want [%s]", cg.Paths(), err, leaf)
	}
	unix.Kill(rec.Pid, unix.SIGKILL)
	code := c.Wait()
	out.drain()
	if err := c.Cleanup(code); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(leaf); !os.IsNotExist(err) {
		t.Errorf("the container's cgroup is left: %v", err)
	}
	checkGone(t, c.State.ID)
}

// testSubtree is a directory of the real cgroup2 hierarchy standing for
// a user's delegated subtree.
type testSubtree struct{ mount, dir string }

// delegatedSubtreeForTest makes a subtree in the cgroup2 hierarchy and
// moves the test process into a leaf of it, as a rootless skiff runs
// inside its delegation; all is undone at cleanup.
func delegatedSubtreeForTest(t *testing.T) testSubtree {
	t.Helper()
	hs, err := cgroup.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(hs, func(h cgroup.Hierarchy) bool { return h.V2 })
	if i < 0 {
		t.Skip("no cgroup2 hierarchy mounted")
	}
	mount := hs[i].Mount
	self, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var own string
	for _, line := range strings.Split(string(self), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			own = p
		}
	}
	if own == "" {
		t.Skip("no cgroup2 line in /proc/self/cgroup")
	}
	dir := filepath.Join(mount, "skiff-i20-test-"+strconv.Itoa(os.Getpid()))
	test := filepath.Join(dir, "test")
	for _, d := range []string{dir, test} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	t.Cleanup(func() {
		if err := os.WriteFile(filepath.Join(mount, own, "cgroup.procs"), pid, 0o644); err != nil {
			t.Errorf("moving the test back to %s: %v", own, err)
		}
		for _, d := range []string{test, filepath.Join(dir, "skiff"), dir} {
			if err := os.Remove(d); err != nil && !os.IsNotExist(err) {
				t.Errorf("removing %s: %v", d, err)
			}
		}
	})
	if err := os.WriteFile(filepath.Join(test, "cgroup.procs"), pid, 0o644); err != nil {
		t.Fatal(err)
	}
	return testSubtree{mount: mount, dir: dir}
}
