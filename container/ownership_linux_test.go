package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// owner is a path's uid:gid, not following a last symlink.
func owner(t *testing.T, p string) [2]uint32 {
	t.Helper()
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		t.Fatal(err)
	}
	return [2]uint32{st.Uid, st.Gid}
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("chowning to other ids needs root")
	}
}

// chownTree is chown -R that never follows a symlink below its top: a
// link to a host file keeps the file's owner (the link itself changes).
func TestChownTree(t *testing.T) {
	needRoot(t)
	dir, outside := t.TempDir(), t.TempDir()
	secret := filepath.Join(outside, "secret")
	for _, d := range []string{"a/b/c", "empty"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{filepath.Join(dir, "top"), filepath.Join(dir, "a/b/c/deep"), secret} {
		if err := os.WriteFile(f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"a/to-file": secret, "a/to-dir": outside} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chownTree(dir, 1000, 1001); err != nil {
		t.Fatal(err)
	}
	want := [2]uint32{1000, 1001}
	for _, p := range []string{".", "top", "a", "a/b", "a/b/c", "a/b/c/deep", "empty", "a/to-file", "a/to-dir"} {
		if got := owner(t, filepath.Join(dir, p)); got != want {
			t.Errorf("%s owned by %v, want %v", p, got, want)
		}
	}
	for _, p := range []string{outside, secret} {
		if got := owner(t, p); got != [2]uint32{0, 0} {
			t.Errorf("%s, outside the tree, owned by %v: a symlink was followed", p, got)
		}
	}
	if err := chownTree(filepath.Join(dir, "missing"), 1, 1); err == nil || !strings.Contains(err.Error(), "missing") {
		t.Errorf("a missing source: %v", err)
	}
}

// -v SRC:DST:U at create: the source, bind or volume, is given to the
// container's user as the init resolves it (-u, else the image's USER,
// names through the image's /etc/passwd and /etc/group); other mounts
// keep their owners.
func TestCreateChownsU(t *testing.T) {
	img := newTestImage(t)
	tests := []struct {
		name     string
		user     string // -u
		imgUser  string // the image's USER
		want     [2]uint32
		wantErrs string
	}{
		{"image user by name", "", "alice", [2]uint32{1000, 1000}, ""},
		{"-u wins", "alice", "root", [2]uint32{1000, 1000}, ""},
		{"numeric, no entry", "4242:4343", "", [2]uint32{4242, 4343}, ""},
		{"named group", "4242:wheel", "", [2]uint32{4242, 10}, ""},
		{"root by default", "", "", [2]uint32{0, 0}, ""},
		{"unknown name", "bob", "", [2]uint32{}, "volume option U on /u: the container's user: unable to find user bob"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			image := spec.Image{ID: "sha256:" + strings.Repeat("1", 64), LayerDirs: []string{img.layer},
				Config: v1.Config{Cmd: []string{"sh"}, User: tt.imgUser}}
			src, kept := t.TempDir(), t.TempDir()
			if err := os.WriteFile(filepath.Join(src, "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{src, filepath.Join(src, "f"), kept} {
				if err := os.Chown(p, 7, 7); err != nil {
					t.Fatal(err)
				}
			}
			o := spec.Options{Args: []string{"true"}, User: tt.user}
			o.Host.Mounts = []state.Mount{
				{Type: "bind", Source: src, Destination: "/u", Origin: spec.OriginBind, Mode: "U", Chown: true},
				{Type: "volume", Name: "vol", Destination: "/v", Origin: spec.OriginBind, Mode: "U", Chown: true},
				{Type: "bind", Source: kept, Destination: "/k", Origin: spec.OriginBind},
			}
			s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
			c, err := s.Create(image, o)
			if tt.wantErrs != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErrs) {
					t.Fatalf("create: %v, want %q", err, tt.wantErrs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			vol := ""
			for _, m := range c.State.Host.Mounts {
				if m.Destination == "/v" {
					vol = m.Source
				}
			}
			for _, p := range []string{src, filepath.Join(src, "f"), vol} {
				if got := owner(t, p); got != tt.want {
					t.Errorf("%s owned by %v, want %v", p, got, tt.want)
				}
			}
			if got := owner(t, kept); got != [2]uint32{7, 7} {
				t.Errorf("a bind without U changed owner: %v", got)
			}
		})
	}
}

// -v's idmap is refused at create, in one line saying why: root's
// containers have no user namespace, and a rootless user may not idmap a
// host filesystem (the kernel's EPERM, seen here in a real user and mount
// namespace, as a rootless skiff's create runs).
func TestIDMapRefused(t *testing.T) {
	if os.Getenv(idmapChildEnv) != "" {
		idmapChild()
		return
	}
	src := t.TempDir()
	ms := []state.Mount{{Type: "bind", Source: src, Destination: "/d", IDMap: true}}
	if err := checkIDMaps(ms, false); err == nil || err.Error() != "volume option idmap on /d: root's containers have no user namespace to map ids to (they are the host's): drop idmap" {
		t.Errorf("root: %v", err)
	}
	vol := []state.Mount{{Type: "volume", Name: "v", Destination: "/d", IDMap: true}}
	if err := checkIDMaps(vol, true); err == nil || !strings.Contains(err.Error(), "only a bind mount can be idmapped") {
		t.Errorf("rootless volume: %v", err)
	}
	if err := checkIDMaps([]state.Mount{{Type: "bind", Source: src, Destination: "/d"}}, true); err != nil {
		t.Errorf("no idmap: %v", err)
	}
	needRoot(t)
	out := runInUserNS(t, src, idmapChildEnv, "^TestIDMapRefused$", false)
	want := "volume option idmap on /d: the kernel refuses an unprivileged idmapped mount of " + src +
		" (its filesystem belongs to the host's user namespace): drop idmap (the bind keeps the host's owners as the user namespace maps them), or use U to give it to the container's user"
	if !strings.Contains(out, want) {
		t.Errorf("rootless, in a user namespace: %q, want %q", out, want)
	}
}

const idmapChildEnv = "SKIFF_TEST_IDMAP_CHILD"

// idmapChild checks an idmap bind of the directory named in its env, as a
// rootless create does, and prints the refusal.
func idmapChild() {
	src := os.Getenv(idmapChildEnv)
	err := checkIDMaps([]state.Mount{{Type: "bind", Source: src, Destination: "/d", IDMap: true}}, true)
	os.Stdout.WriteString("\nchild: " + strings.ReplaceAll(errString(err), "\n", " ") + "\n")
	os.Exit(0)
}

func errString(err error) string {
	if err == nil {
		return "<nil>"
	}
	return err.Error()
}

// testUID is the host uid the test namespaces map 0 to, testRange the
// start of their subordinate range when they have one.
const (
	testUID   = 4242
	testRange = 300000
)

// runInUserNS runs the test run as the root of a user namespace (ranged:
// with a subordinate range) with env=dir, as a rootless skiff's CLI runs.
func runInUserNS(t *testing.T, dir, env, run string, ranged bool) string {
	t.Helper()
	ns := testenv.UserNS{UID: testUID}
	if ranged {
		ns.Range = testRange
	}
	out, err := ns.RunTest(dir, env, run)
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	return out
}

// Rootless, -v's U runs inside the user namespace: the container's user's
// ids land on the host ids the user's range maps them to; without a range
// the chown is refused, saying what to add. And a bind keeps the host's
// owners: what the container's root makes there is the user's on the host.
func TestChownUInUserNS(t *testing.T) {
	if os.Getenv(chownChildEnv) != "" {
		chownChild()
		return
	}
	needRoot(t)
	for _, ranged := range []bool{true, false} {
		t.Run(map[bool]string{true: "subordinate range", false: "single id"}[ranged], func(t *testing.T) {
			src := t.TempDir()
			if err := os.WriteFile(filepath.Join(src, "f"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{src, filepath.Join(src, "f")} {
				if err := os.Chown(p, testUID, testUID); err != nil {
					t.Fatal(err)
				}
			}
			out := runInUserNS(t, src, chownChildEnv, "^TestChownUInUserNS$", ranged)
			if got := owner(t, filepath.Join(src, "made-by-root")); got != [2]uint32{testUID, testUID} {
				t.Errorf("a file the namespace's root made on the bind is owned by %v on the host, want the user's %d", got, testUID)
			}
			if !ranged {
				want := "(the user namespace maps no host id to the container's user: add the user's ranges to /etc/subuid and /etc/subgid)"
				if !strings.Contains(out, want) {
					t.Errorf("single id: %q, want the hint %q", out, want)
				}
				return
			}
			if !strings.Contains(out, "child: <nil>") {
				t.Fatalf("child: %s", out)
			}
			want := [2]uint32{testRange + 999, testRange + 999} // 1000 inside
			for _, p := range []string{src, filepath.Join(src, "f")} {
				if got := owner(t, p); got != want {
					t.Errorf("%s owned by %v on the host, want %v", p, got, want)
				}
			}
		})
	}
}

const chownChildEnv = "SKIFF_TEST_CHOWN_CHILD"

// chownChild gives the directory named in its env to uid 1000 as -v's U
// does, then makes a file there as the namespace's root.
func chownChild() {
	dir := os.Getenv(chownChildEnv)
	f := &filler{}
	err := f.chownSources([]state.Mount{{Type: "bind", Source: dir, Destination: "/d", Chown: true}}, "1000:1000")
	if werr := os.WriteFile(filepath.Join(dir, "made-by-root"), nil, 0o644); werr != nil {
		err = errors.Join(err, werr)
	}
	os.Stdout.WriteString("\nchild: " + strings.ReplaceAll(errString(err), "\n", " ") + "\n")
	os.Exit(0)
}
