package container

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
)

// The test binary doubles as the container's init and as exec's side,
// as run's own tests do.
func init() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case run.InitArg:
			run.Init()
		case run.ExecArg:
			run.ExecInit()
		}
	}
}

// captureStdout runs fn with os.Stdout redirected (exec passes a
// non-terminal stdout straight to the process) and returns what was written.
func captureStdout(t *testing.T, fn func()) string {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdout
	os.Stdout = f
	defer func() { os.Stdout = saved }()
	fn()
	f.Seek(0, io.SeekStart)
	b, _ := io.ReadAll(f)
	return string(b)
}

// A container started by the real parent, joined by the real exec.
func TestExec(t *testing.T) {
	img := newTestImage(t)
	testenv.NeedStaticSelf(t)
	withApplets(t, img, "sleep", "tr")
	image := spec.Image{ID: "sha256:" + strings.Repeat("2", 64), LayerDirs: []string{img.layer},
		Config: v1.Config{Env: []string{"PATH=/bin", "FROM_IMAGE=1"}, User: "alice", WorkingDir: "/home/alice"}}
	o := spec.Options{Args: []string{"sleep", "100"}, Name: "box1"}
	s, c, _ := startContainer(t, image, o)
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			unix.Kill(c.State.Pid, unix.SIGKILL)
			c.Cleanup(c.Wait())
		}
	}
	defer stop()
	id := c.State.ID
	eo := run.ExecOptions{}

	tests := []struct {
		name string
		args []string
		mod  func(*run.ExecOptions)
		code int
		want []string // lines of output, in order
	}{
		{"hostname", []string{"hostname"}, nil, 0, []string{id[:12]}},
		{"pid namespace", []string{"sh", "-c", `[ $$ != 1 ] && echo notpid1; tr '\0' ' ' </proc/1/cmdline; echo`}, nil, 0,
			[]string{"notpid1", "sleep 100 "}},
		{"every namespace", []string{"sh", "-c", `for n in mnt pid net uts ipc; do [ "$(readlink /proc/self/ns/$n)" = "$(readlink /proc/1/ns/$n)" ] && echo $n; done`},
			nil, 0, []string{"mnt", "pid", "net", "uts", "ipc"}},
		{"cgroup", []string{"sh", "-c", "grep -c /skiff/" + id + " /proc/self/cgroup >/dev/null && echo joined"}, nil, 0, []string{"joined"}},
		{"container's user, workdir and env", []string{"sh", "-c", "id -u; pwd; echo $FROM_IMAGE $HOME"}, nil, 0,
			[]string{"1000", "/home/alice", "1 /home/alice"}},
		{"-u -w -e", []string{"sh", "-c", "id -u; pwd; echo $FROM_IMAGE $X; grep CapEff /proc/self/status"}, func(o *run.ExecOptions) {
			o.User, o.Workdir, o.Env = "0", "/etc", []string{"X=y", "FROM_IMAGE=2"}
		}, 0, []string{"0", "/etc", "2 y", fmt.Sprintf("CapEff:\t%016x", dockerCapMask)}},
		{"no host fds", []string{"ls", "/proc/self/fd"}, nil, 0, []string{"0", "1", "2", "3"}}, // 3: ls's own
		{"exit status", []string{"sh", "-c", "exit 3"}, nil, 3, nil},
		{"killed", []string{"sh", "-c", "kill -9 $$"}, nil, 137, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := eo
			o.Args = tt.args
			if tt.mod != nil {
				tt.mod(&o)
			}
			var code int
			var err error
			out := captureStdout(t, func() { code, err = s.Exec("box1", o) })
			if err != nil || code != tt.code {
				t.Fatalf("exit %d, %v; want %d; output:\n%s", code, err, tt.code, out)
			}
			if got := strings.Fields(out); tt.want != nil && !reflect.DeepEqual(got, strings.Fields(strings.Join(tt.want, "\n"))) {
				t.Errorf("output %q, want %q", got, tt.want)
			}
		})
	}

	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"not found", []string{"nosuch"}, 127},
		{"cannot execute", []string{"/notexec"}, 126},
		{"bad user", []string{"true"}, 126},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := eo
			o.Args = tt.args
			if tt.name == "bad user" {
				o.User = "nobody"
			}
			code, err := s.Exec(id[:10], o)
			var se *run.StartError
			if code != tt.code || !errors.As(err, &se) || se.Code != tt.code {
				t.Fatalf("exit %d, %v; want a StartError %d", code, err, tt.code)
			}
		})
	}

	t.Run("unknown container", func(t *testing.T) {
		o := eo
		o.Args = []string{"true"}
		if code, err := s.Exec("nosuch", o); code != 1 || !errors.Is(err, state.ErrNotFound) {
			t.Fatalf("exit %d, %v; want 1, not found", code, err)
		}
	})
	t.Run("stopped container", func(t *testing.T) {
		stop()
		o := eo
		o.Args = []string{"true"}
		code, err := s.Exec("box1", o)
		var nr *run.NotRunningError
		if code != 1 || !errors.As(err, &nr) || nr.ID != id {
			t.Fatalf("exit %d, %v; want 1, not running", code, err)
		}
	})
}
