package commands

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// captureOutput returns what fn wrote to os.Stdout and os.Stderr.
func captureOutput(t *testing.T, fn func()) (stdout, stderr string) {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = saved }()
	stderr = captureStderr(t, fn)
	b, _ := os.ReadFile(f.Name())
	return string(b), stderr
}

// rename, port, pause and unpause as docker answers them, on records
// without processes (exited) and one whose process is this test (running).
func TestContainerVerbRefusals(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	self, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	ex := &state.Container{ID: strings.Repeat("ab", 32), Name: "ex", Status: state.Exited, Created: time.Now()}
	up := &state.Container{ID: strings.Repeat("cd", 32), Name: "up", Status: state.Running, Created: time.Now(), Pid: os.Getpid(), PidStartTime: self}
	for _, ct := range []*state.Container{ex, up} {
		saveRecord(t, root, ct, 0)
		if err := state.ReserveName(root, runRoot, ct.Name, ct.ID); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		args        []string
		code        int
		stdout, msg string // msg: exact stderr
	}{
		{"rename same", []string{"rename", "ex", "ex"}, 1, "", "skiff: Error response from daemon: Renaming a container with the same name as its current name\n"},
		{"rename taken", []string{"rename", "ex", "up"}, 1, "", `skiff: Error response from daemon: Error when allocating new name: Conflict. The container name "/up" is already in use by container "` + up.ID + `". You have to remove (or rename) that container to be able to reuse that name.` + "\n"},
		{"rename unknown", []string{"rename", "nosuch", "x"}, 1, "", "skiff: Error response from daemon: No such container: nosuch\n"},
		{"rename one arg", []string{"rename", "ex"}, 1, "", "skiff: \"rename\" requires exactly 2 arguments: skiff rename CONTAINER NEW_NAME\n"},
		{"port lists nothing", []string{"port", "up"}, 0, "", ""},
		{"port long form", []string{"container", "port", "ex"}, 0, "", ""},
		{"port private", []string{"port", "up", "80"}, 1, "", "skiff: No public port '80/tcp' published for up\n"},
		{"port private udp", []string{"port", "up", "53/udp"}, 1, "", "skiff: No public port '53/udp' published for up\n"},
		{"port unknown", []string{"port", "nosuch"}, 1, "", "skiff: Error response from daemon: No such container: nosuch\n"},
		{"pause exited", []string{"pause", "ex"}, 1, "", "skiff: Error response from daemon: container " + ex.ID + " is not running\n"},
		{"unpause running", []string{"unpause", "up"}, 1, "", "skiff: Error response from daemon: Container " + up.ID + " is not paused\n"},
		{"pause unknown", []string{"container", "pause", "nosuch"}, 1, "", "skiff: Error response from daemon: No such container: nosuch\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			stdout, stderr := captureOutput(t, func() {
				code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, tt.args...))
			})
			if code != tt.code || stdout != tt.stdout || stderr != tt.msg {
				t.Errorf("exit %d, stdout %q, stderr %q\nwant exit %d, stdout %q, stderr %q", code, stdout, stderr, tt.code, tt.stdout, tt.msg)
			}
		})
	}
}

// After a rename every lookup uses the new name and the old one is free.
func TestRenameThenLookup(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	ct := &state.Container{ID: strings.Repeat("ef", 32), Name: "old", Status: state.Exited, Created: time.Now()}
	saveRecord(t, root, ct, 0)
	if err := state.ReserveName(root, runRoot, "old", ct.ID); err != nil {
		t.Fatal(err)
	}
	args := func(a ...string) []string {
		return append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, a...)
	}
	var code int
	if _, stderr := captureOutput(t, func() { code = Main(args("container", "rename", "old", "/new")) }); code != 0 {
		t.Fatalf("rename: exit %d: %s", code, stderr)
	}
	stdout, _ := captureOutput(t, func() { code = Main(args("inspect", "-f", "{{.Name}}", "new")) })
	if code != 0 || stdout != "/new\n" {
		t.Errorf("inspect new: exit %d, %q", code, stdout)
	}
	if _, stderr := captureOutput(t, func() { code = Main(args("inspect", "old")) }); code == 0 || !strings.Contains(stderr, "No such") {
		t.Errorf("inspect old: exit %d, %q", code, stderr)
	}
	if err := state.ReserveName(root, runRoot, "old", strings.Repeat("01", 32)); err != nil {
		t.Errorf("old name not free: %v", err)
	}
}
