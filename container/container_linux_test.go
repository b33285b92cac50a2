package container

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// The whole parent side, as the container's monitor drives it, against the
// real init (dispatched by the test binary's init func): record, exit
// codes, cgroup and --rm.
func TestContainerLifecycle(t *testing.T) {
	img := newTestImage(t)
	image := spec.Image{ID: "sha256:" + strings.Repeat("1", 64), LayerDirs: []string{img.layer},
		Config: v1.Config{Cmd: []string{"sh"}, Env: []string{"PATH=/bin"}}}
	tests := []struct {
		name    string
		opts    spec.Options
		code    int
		started bool // Start succeeded
		status  state.Status
	}{
		{"exit code", spec.Options{Args: []string{"sh", "-c", "exit 3"}}, 3, true, state.Exited},
		{"not found", spec.Options{Args: []string{"nosuch"}}, 127, false, state.Created},
		{"cannot execute", spec.Options{Args: []string{"/notexec"}}, 126, false, state.Created},
		{"bad user", spec.Options{Args: []string{"sh", "-c", ":"}, User: "nobody"}, 125, false, state.Created},
		{"rm", spec.Options{Args: []string{"sh", "-c", ":"}, Remove: true}, 0, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
			c, err := s.Create(image, o)
			if err != nil {
				t.Fatal(err)
			}
			code, err := c.run(t)
			var se *run.StartError
			if tt.started != (err == nil) || (!tt.started && !errors.As(err, &se)) {
				t.Fatalf("start error %v, want started=%v", err, tt.started)
			}
			if code != tt.code {
				t.Fatalf("exit %d, want %d (%v)", code, tt.code, err)
			}
			checkGone(t, c.State.ID)
			got, err := state.Load(s.Root, c.State.ID)
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
		o := spec.Options{Args: []string{"sh", "-c", "sleep 30"}}
		s, c, out := startContainer(t, image, o)
		rec, err := state.Load(s.Root, c.State.ID)
		if err != nil || rec.Status != state.Running || !proc.Alive(rec.Pid, rec.PidStartTime) {
			t.Fatalf("running record %+v, %v", rec, err)
		}
		if b, err := os.ReadFile(filepath.Join("/proc", itoa(rec.Pid), "cgroup")); err != nil || !strings.Contains(string(b), "/skiff/"+c.State.ID) {
			t.Errorf("container not in /skiff/<id>: %s %v", b, err)
		}
		unix.Kill(rec.Pid, unix.SIGKILL)
		code := c.Wait()
		out.drain()
		if err := c.Cleanup(code); err != nil {
			t.Fatal(err)
		}
		if rec, err := state.Load(s.Root, c.State.ID); err != nil || rec.MonitorPid != 0 {
			t.Errorf("record after cleanup %+v, %v: want no monitor", rec, err)
		}
		if code != 137 {
			t.Fatalf("exit %d, want 137", code)
		}
		checkGone(t, c.State.ID)
	})
}

// startContainer creates a container of image with o in a new store and
// starts it as the monitor would, on pipes it hands to the test.
func startContainer(t *testing.T, image spec.Image, o spec.Options) (Store, *Container, *testStdio) {
	t.Helper()
	s := Store{Root: t.TempDir(), RunRoot: t.TempDir()}
	c, err := s.Create(image, o)
	if err != nil {
		t.Fatal(err)
	}
	out := monitorStdio(t)
	if err := c.Start(out.child); err != nil {
		t.Fatal(err)
	}
	out.closeChild()
	return s, c, out
}

// run is what the container's monitor does with a created container:
// start it on pipes, drain them, wait, and clean up.
func (c *Container) run(t *testing.T) (int, error) {
	out := monitorStdio(t)
	err := c.Start(out.child)
	out.closeChild()
	if err != nil {
		code := err.(*run.StartError).Code
		c.Cleanup(code)
		return code, err
	}
	code := c.Wait()
	out.drain()
	return code, c.Cleanup(code)
}

// testStdio is a container's stdio as its monitor makes it: stdin
// /dev/null, stdout and stderr a pipe whose read end the monitor drains.
type testStdio struct {
	child  run.Stdio
	r      *os.File
	copied chan []byte
}

func monitorStdio(t *testing.T) *testStdio {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &testStdio{child: run.Stdio{Out: w, Err: w}, r: r, copied: make(chan []byte, 1)}
	go func() {
		b, _ := io.ReadAll(r)
		s.copied <- b
	}()
	t.Cleanup(func() { r.Close() })
	return s
}

// closeChild closes our copies of the container's ends once Start returned.
func (s *testStdio) closeChild() { s.child.Out.Close() }

// drain waits for the container's output to end and returns it.
func (s *testStdio) drain() []byte { return <-s.copied }

func checkGone(t *testing.T, id string) {
	t.Helper()
	for _, h := range []string{"memory", "pids", "unified"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, "skiff", id)); err == nil {
			t.Errorf("cgroup %s/skiff/%s left behind", h, id)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }
