package run

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/ns"
)

// withApplets adds busybox applets the shared test image lacks.
func withApplets(t *testing.T, img *testImage, names ...string) {
	t.Helper()
	for _, n := range names {
		err := os.Symlink("busybox", filepath.Join(img.layer, "bin", n))
		if err != nil && !os.IsExist(err) {
			t.Fatal(err)
		}
	}
}

// lockedBuffer is a bytes.Buffer safe to read while os/exec writes it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startTestInit plays the parent up to the container running: it returns
// once the init reported success (the sync socket closed).
func startTestInit(t *testing.T, cfg *InitConfig) (*exec.Cmd, *lockedBuffer) {
	t.Helper()
	parent, child, err := syncPair()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	out := &lockedBuffer{}
	cmd := exec.Command(os.Args[0], InitArg)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.ExtraFiles = []*os.File{child}
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: ns.ContainerCloneFlags, Pdeathsig: unix.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	child.Close()
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	if res, _ := playParent(t, parent, cfg); res != nil {
		t.Fatalf("init failed: %+v", res)
	}
	return cmd, out
}

// waitExit waits for the init and returns its status as docker reports it.
func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the container did not exit")
	}
	return exitCode(cmd.ProcessState)
}

func TestInitAsPID1(t *testing.T) {
	img := newTestImage(t)
	withApplets(t, img, "sleep", "sed", "kill")
	tests := []struct {
		name   string
		script string
		code   int
		want   []string // in the output
		reject []string // not in the output
	}{
		{"exit status", "exit 5", 5, nil, nil},
		{"killed by a signal", "kill -TERM $$; sleep 1", 128 + 15, nil, nil},
		{"pid 1 is skiff's init", `echo me=$$; tr '\0' ' ' < /proc/1/cmdline; echo`, 0,
			[]string{"__skiff_init"}, []string{"me=1\n"}},
		// An orphan that dies is reparented to pid 1 and must be reaped:
		// no process in the container is left a zombie.
		{"zombies reaped", `sh -c 'sleep 0.1 &'; sleep 0.5; cat /proc/[0-9]*/stat | sed 's/^.*) //' | cut -c1 | tr -d '\n'; echo`, 0,
			nil, []string{"Z"}},
		// Not dumpable and without capabilities: /proc/1/exe (skiff's
		// binary) cannot be reached from the container. (The init drops
		// its capabilities just after starting us: wait for it.)
		{"pid 1 guarded", `sleep 0.2; readlink /proc/1/exe && echo exe=open || echo exe=denied; grep -E '^Cap(Prm|Eff)' /proc/1/status`, 0,
			[]string{"exe=denied", "CapPrm:\t0000000000000000", "CapEff:\t0000000000000000"}, nil},
		{"not found", "", 127, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"sh", "-c", tt.script}
			if tt.script == "" {
				args = []string{"nosuch"}
			}
			cfg := img.config(t, args...)
			cfg.Init = true
			if tt.code == 127 {
				code, res, _ := runInit(t, cfg)
				if code != 127 || res == nil || res.Code != 127 {
					t.Fatalf("exit %d, result %+v, want 127", code, res)
				}
				return
			}
			cmd, out := startTestInit(t, cfg)
			code := waitExit(t, cmd)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; output:\n%s", code, tt.code, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, r := range tt.reject {
				if strings.Contains(out.String(), r) {
					t.Errorf("output has %q:\n%s", r, out)
				}
			}
		})
	}
}

// A signal to the container (to its pid 1, as stop and kill send it)
// reaches the user's process, which may handle it.
func TestInitForwardsSignals(t *testing.T) {
	img := newTestImage(t)
	withApplets(t, img, "sleep")
	cfg := img.config(t, "sh", "-c", `trap 'echo got-term; exit 7' TERM; echo ready; while :; do sleep 0.05; done`)
	cfg.Init = true
	cmd, out := startTestInit(t, cfg)
	for i := 0; !strings.Contains(out.String(), "ready"); i++ {
		if i > 500 {
			t.Fatalf("the process never started: %q", out)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd); code != 7 || !strings.Contains(out.String(), "got-term") {
		t.Fatalf("exit %d, output %q; want 7 after got-term", code, out)
	}
}

func TestForwardedSignals(t *testing.T) {
	got := map[os.Signal]bool{}
	for _, s := range forwardedSignals() {
		got[s] = true
	}
	for _, s := range []unix.Signal{unix.SIGTERM, unix.SIGINT, unix.SIGHUP, unix.SIGUSR1, unix.SIGWINCH, unix.Signal(34)} {
		if !got[s] {
			t.Errorf("%v is not forwarded", s)
		}
	}
	for _, s := range []unix.Signal{unix.SIGCHLD, unix.SIGKILL, unix.SIGSTOP, unix.SIGURG, unix.SIGSEGV} {
		if got[s] {
			t.Errorf("%v is forwarded", s)
		}
	}
}
