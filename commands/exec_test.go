package commands

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/state"
)

// captureStderr returns what fn wrote to os.Stderr.
func captureStderr(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stderr
	os.Stderr = f
	defer func() { os.Stderr = saved }()
	fn()
	b, _ := os.ReadFile(f.Name())
	return string(b)
}

// Everything exec refuses before touching a container: docker's status
// and one line naming the cause.
func TestExecRefusals(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	stopped := &state.Container{ID: strings.Repeat("ab", 32), Name: "stopped", Status: state.Exited, Created: time.Now()}
	if err := os.MkdirAll(filepath.Join(state.ContainersDir(root), stopped.ID), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := state.Save(root, stopped); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		code int
		msg  string // in stderr
	}{
		{"no command", []string{"exec", "x"}, 1, `"exec" requires at least 2 arguments`},
		{"privileged, unknown container", []string{"exec", "--privileged", "x", "true"}, 1, "Error response from daemon: No such container: x"},
		{"unknown flag", []string{"exec", "--nosuch", "x", "true"}, 125, "unknown flag: --nosuch\nSee 'skiff exec --help'.\n"},
		{"unknown container", []string{"exec", "nosuch", "true"}, 1, "Error response from daemon: No such container: nosuch"},
		{"stopped container", []string{"exec", "stopped", "true"}, 1, "Error response from daemon: container " + stopped.ID + " is not running"},
		{"env file missing", []string{"exec", "--env-file", "/nonexistent", "stopped", "true"}, 1, "open env file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			out := captureStderr(t, func() {
				code = Main(append([]string{"skiff", "--root", root, "--runroot", runRoot, "--config", "/nonexistent"}, tt.args...))
			})
			if code != tt.code || !strings.Contains(out, tt.msg) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, out, tt.code, tt.msg)
			}
			if n := strings.Count(strings.TrimSpace(out), "\n"); n != strings.Count(tt.msg, "See") {
				t.Errorf("want one line, got %d:\n%s", n+1, out)
			}
		})
	}
}

func TestExecErrorStatus(t *testing.T) {
	var ee *ExitError
	if err := execError(5, nil); !errors.As(err, &ee) || ee.Code != 5 || ee.Err != nil {
		t.Fatalf("the command's own status: %v", err)
	}
	if err := execError(0, nil); err != nil {
		t.Fatalf("status 0: %v", err)
	}
}
