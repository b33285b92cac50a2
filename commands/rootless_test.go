package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Which commands a rootless skiff runs in its namespace: by verb, through
// global flags and aliases, and which of them print the range warnings.
func TestRootlessVerbRouting(t *testing.T) {
	app := NewApp()
	for _, tc := range []struct {
		args   string
		path   string
		onHost bool
		image  bool
		debug  bool
	}{
		{"skiff run --rm busybox", "run", false, true, false},
		{"skiff -D --root /r pull busybox", "pull", false, true, true},
		{"skiff --runroot /x ps -a", "ps", true, false, false},
		{"skiff container ls", "container ls", true, false, false},
		{"skiff image rm busybox", "image rm", false, false, false},
		{"skiff image ls", "image ls", true, false, false},
		{"skiff network create n", "network create", true, false, false},
		{"skiff exec -it c sh", "exec", true, false, false},
		{"skiff stop c", "stop", true, false, false},
		{"skiff cp a c:/b", "cp", false, false, false},
		{"skiff volume rm v", "volume rm", false, false, false},
		{"skiff build .", "build", false, true, false},
		{"skiff", "", true, false, false},
	} {
		path, debug := verbPath(app, strings.Fields(tc.args))
		if got := strings.Join(path, " "); got != tc.path || debug != tc.debug {
			t.Errorf("%s: path %q debug %v, want %q %v", tc.args, got, debug, tc.path, tc.debug)
			continue
		}
		onHost := len(path) == 0 || hostVerb(path[len(path)-1]) || path[0] == "network"
		if onHost != tc.onHost {
			t.Errorf("%s: on the host %v, want %v", tc.args, onHost, tc.onHost)
		}
		if !onHost && imageVerb(path[len(path)-1]) != tc.image {
			t.Errorf("%s: image verb %v, want %v", tc.args, !tc.image, tc.image)
		}
	}
}

// A store is used only by its owner: root refuses a user's, a rootless
// skiff (here as root, the namespace's uid 0, so a store of uid 0 is its
// own) refuses another's; a store not made yet is anyone's.
func TestCheckStoreOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to chown")
	}
	dir := t.TempDir()
	mine, users := filepath.Join(dir, "mine"), filepath.Join(dir, "users")
	for _, d := range []string{mine, users} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(users, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		root     string
		rootless bool
		want     string
	}{
		{mine, false, ""},
		{mine, true, ""},
		{users, false, "is the store of uid 4242, a rootless one"},
		{users, true, "is not this user's store"},
		{filepath.Join(dir, "absent"), false, ""},
	} {
		err := checkStoreOwner(tc.root, tc.rootless)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%s rootless=%v: %v, want %q", tc.root, tc.rootless, err, tc.want)
		}
	}
}

// The /tmp fallback run dir is made 0700, and refused when it is a link,
// someone else's, or open to others; a --runroot elsewhere is not checked.
func TestCheckFallbackRunDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("XDG_RUNTIME_DIR", "")
	run := func(name string) string { return filepath.Join(tmp, name, "skiff") }
	if err := os.Mkdir(filepath.Join(tmp, "skiff-run-open"), 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(tmp, "skiff-run-open"), 0o777)
	if err := os.Symlink(tmp, filepath.Join(tmp, "skiff-run-link")); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		runRoot string
		ok      bool
	}{
		{run("skiff-run-new"), true},
		{run("skiff-run-new"), true}, // made by the line above: ours, 0700
		{run("skiff-run-open"), false},
		{run("skiff-run-link"), false},
		{"/elsewhere/skiff", true},
	} {
		err := checkFallbackRunDir(tc.runRoot)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok %v", tc.runRoot, err, tc.ok)
		}
	}
	if st, err := os.Stat(filepath.Join(tmp, "skiff-run-new")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("made dir: %v %v, want mode 0700", st, err)
	}
}
