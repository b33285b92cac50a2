package run

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/state"
)

// The whole parent side against the real init (dispatched by the test
// binary's init func): record, exit codes, cgroup and --rm.
func TestContainerLifecycle(t *testing.T) {
	img := newTestImage(t)
	image := Image{ID: "sha256:" + strings.Repeat("1", 64), LayerDirs: []string{img.layer},
		Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}
	tests := []struct {
		name    string
		opts    Options
		code    int
		started bool // Start succeeded
		status  state.Status
	}{
		{"exit code", Options{Args: []string{"sh", "-c", "exit 3"}}, 3, true, state.Exited},
		{"not found", Options{Args: []string{"nosuch"}}, 127, false, state.Created},
		{"cannot execute", Options{Args: []string{"/notexec"}}, 126, false, state.Created},
		{"bad user", Options{Args: []string{"sh", "-c", ":"}, User: "nobody"}, 125, false, state.Created},
		{"rm", Options{Args: []string{"sh", "-c", ":"}, Remove: true}, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Root, o.RunRoot = t.TempDir(), t.TempDir()
			c, err := Create(image, o)
			if err != nil {
				t.Fatal(err)
			}
			code, err := c.run()
			var se *StartError
			if tt.started != (err == nil) || (!tt.started && !errors.As(err, &se)) {
				t.Fatalf("start error %v, want started=%v", err, tt.started)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d", code, tt.code)
			}
			checkGone(t, c.State.ID)
			got, err := state.Load(o.Root, c.State.ID)
			if tt.status == "" {
				if !errors.Is(err, state.ErrNotFound) {
					t.Fatalf("--rm left the record: %v", err)
				}
				if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
					t.Fatalf("--rm left the directory: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.status || got.ExitCode != tt.code || got.Pid != 0 {
				t.Fatalf("record status %s exit %d pid %d, want %s %d 0", got.Status, got.ExitCode, got.Pid, tt.status, tt.code)
			}
		})
	}
	t.Run("killed by a signal", func(t *testing.T) {
		o := Options{Root: t.TempDir(), RunRoot: t.TempDir(), Args: []string{"sh", "-c", "sleep 30"}}
		c, err := Create(image, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		rec, err := state.Load(o.Root, c.State.ID)
		if err != nil || rec.Status != state.Running || !state.Alive(rec.Pid, rec.PidStartTime) {
			t.Fatalf("running record %+v, %v", rec, err)
		}
		if b, err := os.ReadFile(filepath.Join("/proc", itoa(rec.Pid), "cgroup")); err != nil || !strings.Contains(string(b), "/skiff/"+c.State.ID) {
			t.Errorf("container not in /skiff/<id>: %s %v", b, err)
		}
		unix.Kill(rec.Pid, unix.SIGKILL)
		code := c.Wait()
		if err := c.Cleanup(code); err != nil {
			t.Fatal(err)
		}
		if code != 137 {
			t.Fatalf("exit %d, want 137", code)
		}
		checkGone(t, c.State.ID)
	})
}

// run is Run for an already created container.
func (c *Container) run() (int, error) {
	if err := c.Start(); err != nil {
		code := err.(*StartError).Code
		c.Cleanup(code)
		return code, err
	}
	code := c.Wait()
	return code, c.Cleanup(code)
}

func checkGone(t *testing.T, id string) {
	t.Helper()
	for _, h := range []string{"memory", "pids", "unified"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, "skiff", id)); err == nil {
			t.Errorf("cgroup %s/skiff/%s left behind", h, id)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
