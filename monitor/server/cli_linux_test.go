package server

import (
	"bufio"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/container"
	"github.com/skiff-dev/skiff/internal/testenv"
	"github.com/skiff-dev/skiff/monitor"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/spec"
	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/userns"
)

// The test binary doubles as the container's init (run's tests do the
// same), as the binary RunInside hands the monitor (/proc/self/exe: with
// argv[0] trampoline it execs argv[1], so a test chooses what the monitor
// runs: sh, or the real skiff), and as a RunInside client in a session of
// its own (clientArg).
const (
	trampoline = "skiff-test-trampoline"
	clientArg  = "__test_run_inside" // ROOT RUNROOT ID ARGS...
)

func init() {
	switch {
	case len(os.Args) > 1 && os.Args[1] == run.InitArg:
		run.Init()
	case len(os.Args) > 1 && os.Args[1] == run.ExecArg:
		run.ExecInit()
	case len(os.Args) > 1 && os.Args[0] == trampoline:
		err := syscall.Exec(os.Args[1], os.Args[1:], os.Environ())
		fmt.Fprintln(os.Stderr, "trampoline:", err)
		os.Exit(126)
	case len(os.Args) > 5 && os.Args[1] == clientArg:
		rec, err := state.Load(os.Args[2], os.Args[4])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(125)
		}
		code, err := monitor.RunInside(os.Args[3], rec, os.Args[5:])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		os.Exit(code)
	}
}

// running is a real container (the test binary as its init) and an
// in-process monitor serving its socket, as Main's would.
type running struct {
	m   *server
	ctr *container.Container
	rec *state.Container
	out *bufio.Scanner // the container's stdout and stderr
}

// startRunning starts a container running script under sh, with busybox
// and the extra applets, and serves its monitor socket until the test ends.
func startRunning(t *testing.T, script string, applets ...string) *running {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("a container's init needs root")
	}
	testenv.NeedStaticSelf(t)
	layer := t.TempDir()
	if err := testenv.WriteRootfs(layer); err != nil {
		t.Skip(err)
	}
	for _, a := range applets {
		if err := os.Symlink("busybox", filepath.Join(layer, "bin", a)); err != nil {
			t.Fatal(err)
		}
	}
	// What we inherited (go test's caller's fds) is no monitor's: skiff's
	// main marks it close-on-exec before any monitor is spawned.
	unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	s := container.Store{Root: t.TempDir(), RunRoot: t.TempDir()}
	image := spec.Image{ID: "sha256:" + strings.Repeat("3", 64), LayerDirs: []string{layer},
		Config: v1.Config{Env: []string{"PATH=/bin"}}}
	c, err := s.Create(image, spec.Options{Args: []string{"sh", "-c", script}})
	if err != nil {
		t.Fatal(err)
	}
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.Close() })
	err = c.Start(run.Stdio{Out: w, Err: w})
	w.Close()
	if err != nil {
		t.Fatal(err)
	}
	r := &running{m: newMonitor(s.Root, s.RunRoot, c.State.ID), ctr: c, out: bufio.NewScanner(out)}
	r.m.pid = c.Pid()
	close(r.m.started)
	ln, err := attach.Listen(state.SocketPath(s.RunRoot, c.State.ID))
	if err != nil {
		t.Fatal(err)
	}
	go r.m.accept(ln)
	t.Cleanup(func() {
		ln.Close()
		r.stop(t, unix.SIGKILL)
		r.m.awaitCLIs()
	})
	if r.rec, err = state.Load(s.Root, c.State.ID); err != nil {
		t.Fatal(err)
	}
	return r
}

// stop ends the container with sig (once) and returns its exit status.
func (r *running) stop(t *testing.T, sig unix.Signal) int {
	r.m.mu.Lock()
	pid := r.m.pid
	r.m.pid = 0
	r.m.mu.Unlock()
	if pid == 0 {
		return -1
	}
	unix.Kill(pid, sig)
	code := r.ctr.Wait()
	r.ctr.Cleanup(code)
	return code
}

// withStdio runs fn with os.Stdin reading in and os.Stdout, os.Stderr
// going to files (RunInside hands over those), and returns what was
// written to each.
func withStdio(t *testing.T, in string, fn func()) (stdout, stderr string) {
	t.Helper()
	dir := t.TempDir()
	files := make([]*os.File, 3)
	for i, name := range []string{"in", "out", "err"} {
		p := filepath.Join(dir, name)
		if i == 0 {
			os.WriteFile(p, []byte(in), 0o600)
		}
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i] = f
	}
	saved := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	os.Stdin, os.Stdout, os.Stderr = files[0], files[1], files[2]
	fn()
	os.Stdin, os.Stdout, os.Stderr = saved[0], saved[1], saved[2]
	out, _ := os.ReadFile(filepath.Join(dir, "out"))
	errOut, _ := os.ReadFile(filepath.Join(dir, "err"))
	return string(out), string(errOut)
}

// What the monitor runs for RunInside gets the client's stdio, argv,
// environment and working directory, our marker of the container, exactly
// fds 0, 1 and 2, and its exit status goes back.
func TestRunInside(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep")
	t.Setenv("SKIFF_TEST_FROM_CLIENT", "yes")
	t.Setenv(userns.ContainerEnvVar, "not-this-one")
	wd, _ := os.Getwd()
	tests := []struct {
		name, stdin, script    string
		code                   int
		wantStdout, wantStderr string
	}{
		{"stdout and stderr", "", "echo out; echo err >&2", 0, "out\n", "err\n"},
		{"stdin", "hello\n", "read x; echo got $x", 0, "got hello\n", ""},
		{"exit status", "", "exit 3", 3, "", ""},
		{"killed", "", "kill -9 $$", 137, "", ""},
		{"only fds 0 1 2", "", "exec ls /proc/self/fd", 0, "0\n1\n2\n3\n", ""}, // 3: ls's own
		{"argv", "", `echo "$0" "$1"`, 0, "zero one\n", ""},
		{"environment", "", `echo $SKIFF_TEST_FROM_CLIENT $` + userns.ContainerEnvVar, 0, "yes " + r.rec.ID + "\n", ""},
		{"working directory", "", "pwd", 0, wd + "\n", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var err error
			stdout, stderr := withStdio(t, tt.stdin, func() {
				code, err = monitor.RunInside(r.m.runRoot, r.rec, []string{trampoline, "/bin/sh", "-c", tt.script, "zero", "one"})
			})
			if err != nil || code != tt.code {
				t.Fatalf("RunInside() = %d, %v; want %d (stderr %q)", code, err, tt.code, stderr)
			}
			if stdout != tt.wantStdout || stderr != tt.wantStderr {
				t.Errorf("stdout %q, stderr %q; want %q, %q", stdout, stderr, tt.wantStdout, tt.wantStderr)
			}
		})
	}
}

// A closed stdin reads as /dev/null, as for a process we start.
func TestRunInsideClosedStdin(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep")
	var code int
	var err error
	stdout, _ := withStdio(t, "", func() {
		os.Stdin.Close()
		code, err = monitor.RunInside(r.m.runRoot, r.rec, []string{trampoline, "/bin/sh", "-c", "readlink /proc/self/fd/0"})
	})
	if err != nil || code != 0 || stdout != "/dev/null\n" {
		t.Fatalf("RunInside() = %d, %v, stdout %q; want 0, /dev/null", code, err, stdout)
	}
}

// A working directory the monitor cannot enter (here: removed) is /.
func TestRunInsideWorkdirFallback(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep")
	dir := t.TempDir()
	t.Chdir(dir)
	os.Remove(dir)
	var code int
	var err error
	stdout, _ := withStdio(t, "", func() {
		code, err = monitor.RunInside(r.m.runRoot, r.rec, []string{trampoline, "/bin/sh", "-c", "pwd"})
	})
	if err != nil || code != 0 || stdout != "/\n" {
		t.Fatalf("RunInside() = %d, %v, stdout %q; want 0, /", code, err, stdout)
	}
}

// The signals RunInside catches reach the CLI the monitor runs.
func TestRunInsideRelaysSignals(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	script := `trap 'echo caught; kill $!; exit 7' USR1; sleep 1000 & echo ready; wait`
	saved := os.Stdout
	os.Stdout = pw
	done := make(chan error, 1)
	var code int
	go func() {
		var err error
		code, err = monitor.RunInside(r.m.runRoot, r.rec, []string{trampoline, "/bin/sh", "-c", script})
		done <- err
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() || lines.Text() != "ready" {
		t.Fatalf("first line %q, want ready", lines.Text())
	}
	os.Stdout = saved
	unix.Kill(os.Getpid(), unix.SIGUSR1) // RunInside has caught it since before the CLI started
	if err := <-done; err != nil || code != 7 {
		t.Fatalf("RunInside() = %d, %v; want 7 (the trap's)", code, err)
	}
	pw.Close()
	if !lines.Scan() || lines.Text() != "caught" {
		t.Fatalf("after the signal %q, want caught", lines.Text())
	}
}

// SignalContainer's signal reaches the container's process; one for a
// container that does not run, or has no monitor, is a one-line error.
func TestSignalContainer(t *testing.T) {
	r := startRunning(t, `trap 'exit 9' TERM; sleep 1000 & echo ready; wait`, "sleep")
	if !r.out.Scan() || r.out.Text() != "ready" { // pid 1 ignores TERM until it traps it
		t.Fatalf("container said %q, want ready", r.out.Text())
	}
	if err := monitor.SignalContainer(r.m.runRoot, r.rec, unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := r.ctr.Wait(); code != 9 {
		t.Fatalf("container exited %d, want 9 (its TERM trap)", code)
	}
	r.m.mu.Lock()
	r.m.pid = 0
	r.m.mu.Unlock()
	r.ctr.Cleanup(9)
	tests := []struct {
		name    string
		runRoot string
		want    string
	}{
		{"not running", r.m.runRoot, "signal container " + r.rec.ID[:12] + ": it is not running"},
		{"no monitor", t.TempDir(), "container " + r.rec.ID[:12] + " has no monitor to ask (is it running?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := monitor.SignalContainer(tt.runRoot, r.rec, unix.SIGTERM)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("SignalContainer() = %v, want one line starting %q", err, tt.want)
			}
		})
	}
}

// skiffBin is the real skiff (make's bin/skiff, or $SKIFF_BIN) for the
// tests that have the monitor run its exec, or a skip.
func skiffBin(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SKIFF_BIN")
	if p == "" {
		p, _ = filepath.Abs("../../bin/skiff")
	}
	if _, err := os.Stat(p); err != nil {
		t.Skipf("needs skiff built (make): %v", err)
	}
	return p
}

// The real `skiff exec` run by the monitor joins the container: its
// output, input and status come back.
func TestRunInsideExec(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep", "tr")
	skiff := skiffBin(t)
	var code int
	var err error
	stdout, stderr := withStdio(t, "hello", func() {
		code, err = monitor.RunInside(r.m.runRoot, r.rec, []string{trampoline, skiff, "--root", r.m.root, "--runroot", r.m.runRoot,
			"exec", "-i", r.rec.ID, "sh", "-c", "tr a-z A-Z; echo; hostname; echo err >&2; exit 4"})
	})
	want := "HELLO\n" + r.rec.ID[:12] + "\n"
	if err != nil || code != 4 || stdout != want || stderr != "err\n" {
		t.Fatalf("RunInside(skiff exec) = %d, %v, stdout %q, stderr %q; want 4, %q, err", code, err, stdout, stderr, want)
	}
}

// exec -it through the monitor on a real terminal: the client holds it as
// its controlling terminal in the foreground; the CLI the monitor runs,
// outside that session, still reads it, makes it raw, gives the
// container's pty its size, and restores it.
func TestRunInsideExecTerminal(t *testing.T) {
	r := startRunning(t, "sleep 1000", "sleep", "stty")
	skiff := skiffBin(t)
	master, slave, err := testenv.OpenPty()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 33, Col: 77}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/proc/self/exe", clientArg, r.m.root, r.m.runRoot, r.rec.ID, trampoline, skiff,
		"--root", r.m.root, "--runroot", r.m.runRoot, "exec", "-it", r.rec.ID, "sh", "-c", `echo ready; read x; stty size; echo "got-$x"; exit 5`)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	seen := make(chan string, 1)
	var all strings.Builder
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			all.Write(buf[:n])
			if strings.Contains(all.String(), "ready") {
				select {
				case seen <- all.String():
				default:
				}
			}
			if err != nil {
				close(seen)
				return
			}
		}
	}()
	if out, ok := <-seen; !ok {
		t.Fatalf("terminal showed %q, want ready", out)
	}
	master.WriteString("hi\r")
	err = cmd.Wait()
	tio, terr := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	slave.Close() // the last holder: the master reads EIO after the output
	for range seen {
	}
	var ee *exec.ExitError
	// The size is read after the input: exec sets it on the container's
	// pty when it takes the pty, which may be after sh started, but
	// before it relays any input.
	if !errors.As(err, &ee) || ee.ExitCode() != 5 || !strings.Contains(all.String(), "33 77\r\ngot-hi") {
		t.Fatalf("client exit %v, want 5; terminal showed %q, want the size 33 77 and got-hi", err, all.String())
	}
	if terr != nil || tio.Lflag&unix.ICANON == 0 {
		t.Errorf("terminal left raw (%+v, %v)", tio, terr)
	}
}
