package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/cgroup"
	"github.com/skiff-dev/skiff/run"
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
	image := spec.Image{ID: "sha256:" + strings.Repeat("1", 64), LayerDirs: []string{img.layer},
		Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}
	options := func(sub testSubtree) spec.Options {
		o := spec.Options{Args: []string{"sh", "-c", "sleep 30"}}
		o.Host.Limits = state.Limits{CgroupMount: sub.mount, CgroupSubtree: sub.dir, PidsLimit: 50}
		return o
	}
	t.Run("started", func(t *testing.T) {
		if os.Getenv(unifiedOnlyEnv) != "" {
			t.Skip("the copy runs the prestarted case only")
		}
		sub := delegatedSubtreeForTest(t)
		s, c, out := startContainer(t, image, options(sub))
		checkDelegatedStart(t, s, c, out, sub, true)
	})
	// The monitor of a run prestarts its init before the record says
	// where its cgroup goes: the start moves it there. Rootless the init
	// was born in no cgroup (none is the user's to write); as root it
	// would be in root's v1 ones too, which the move cannot leave: so the
	// test runs where the v1 hierarchies are not mounted.
	t.Run("prestarted", func(t *testing.T) {
		if !seeOnlyUnifiedHierarchy(t) {
			return
		}
		sub := delegatedSubtreeForTest(t)
		s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
		c, err := s.Create(image, options(sub))
		if err != nil {
			t.Fatal(err)
		}
		out := monitorStdio(t)
		pre, err := run.PrestartInit(c.State.ID, out.child)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.StartPending(pre); err != nil {
			t.Fatal(err)
		}
		out.closeChild()
		checkDelegatedStart(t, s, c, out, sub, false)
	})
}

const unifiedOnlyEnv = "SKIFF_TEST_UNIFIED_ONLY"

// seeOnlyUnifiedHierarchy makes the calling test see only the cgroup2
// hierarchy, as a rootless skiff has only that one to write: with v1
// hierarchies mounted, it runs the test again in a copy of the test binary
// in a mount namespace of its own, where they are unmounted, and reports
// false (the copy's result is the test's); in the copy, or with none, it
// unmounts them if need be and reports true: go on.
func seeOnlyUnifiedHierarchy(t *testing.T) bool {
	t.Helper()
	hs, err := cgroup.Hierarchies()
	if err != nil {
		t.Fatal(err)
	}
	var v1s []string
	for _, h := range hs {
		if !h.V2 {
			v1s = append(v1s, h.Mount)
		}
	}
	if len(v1s) == 0 {
		return true
	}
	if os.Getenv(unifiedOnlyEnv) == "" {
		cmd := exec.Command(os.Args[0], "-test.run=^"+strings.ReplaceAll(t.Name(), "/", "$/^")+"$", "-test.v")
		cmd.Env = append(os.Environ(), unifiedOnlyEnv+"=1")
		cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: "+t.Name()) {
			t.Fatalf("in a mount namespace without the v1 hierarchies: %v\n%s", err, out)
		}
		return false
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		t.Fatal(err)
	}
	for _, m := range v1s {
		if err := unix.Unmount(m, unix.MNT_DETACH); err != nil {
			t.Fatal(err)
		}
	}
	return true
}

// checkDelegatedStart checks that started container c's init is in its
// cgroup below sub, that CgroupOf finds it there, that it goes at cleanup,
// and, in no root's v1 cgroup, when v1 is set (the v1 hierarchies are
// mounted).
func checkDelegatedStart(t *testing.T, s Store, c *Container, out *testStdio, sub testSubtree, v1 bool) {
	t.Helper()
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
		case !isV2 && v1 && strings.Contains(line, c.State.ID):
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
