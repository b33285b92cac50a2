package container

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/attach"
	"github.com/skiff-dev/skiff/state"
)

// terminateArg has the test binary, run as an unprivileged user, call
// terminate (stop's) with SIGTERM on a process of root: RUNROOT ID PID.
const terminateArg = "__test_terminate"

func init() {
	if len(os.Args) != 5 || os.Args[1] != terminateArg {
		return
	}
	pid, _ := strconv.Atoi(os.Args[4])
	c := &state.Container{ID: os.Args[3], Pid: pid}
	if err := terminate(os.Args[2], c, unix.SIGTERM, -1, nil); err != nil {
		fmt.Print(err)
		os.Exit(1)
	}
	os.Exit(0)
}

// A rootless skiff may not signal a container process that runs as
// another of its ids (EPERM, here: a process of root's signalled by
// nobody): the container's monitor is asked to, and the stop goes on;
// without a monitor the error says so.
func TestTerminateFallsBackToTheMonitor(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: to run a process another user may not signal")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		os.Chmod(d, 0o755) // nobody must reach the socket and the binary
	}
	self := filepath.Join(dir, "container.test")
	if b, err := os.ReadFile("/proc/self/exe"); err != nil || os.WriteFile(self, b, 0o755) != nil {
		t.Fatalf("copy the test binary where nobody may run it: %v", err)
	}
	tests := []struct {
		name    string
		monitor bool
		wantErr string
	}{
		{"through the monitor", true, ""},
		{"no monitor", false, "has no monitor to ask (is it running?)"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runRoot, id := filepath.Join(dir, "run"+strconv.Itoa(i)), strings.Repeat(strconv.Itoa(i), 64)
			target := exec.Command("sleep", "1000")
			if err := target.Start(); err != nil {
				t.Fatal(err)
			}
			defer target.Process.Kill()
			got := make(chan unix.Signal, 1)
			if tt.monitor {
				fakeMonitor(t, runRoot, id, target.Process.Pid, got)
			}
			cmd := exec.Command(self, terminateArg, runRoot, id, strconv.Itoa(target.Process.Pid))
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			out, err := cmd.Output()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(string(out), tt.wantErr) {
					t.Fatalf("terminate as nobody: %v, %q; want an error with %q", err, out, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("terminate as nobody: %v, %q", err, out)
			}
			target.Wait()
			if ws := target.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != unix.SIGTERM || <-got != unix.SIGTERM {
				t.Fatalf("target ended %v; want SIGTERM, sent by the monitor", target.ProcessState)
			}
		})
	}
}

// fakeMonitor answers one Kill request on id's socket, as a container's monitor
// does: it signals pid, reports the signal on got, and answers Done.
func fakeMonitor(t *testing.T, runRoot, id string, pid int, got chan<- unix.Signal) {
	socket := state.SocketPath(runRoot, id)
	t.Helper()
	l, err := attach.Listen(socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for d := filepath.Dir(socket); strings.HasPrefix(d, runRoot); d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
	os.Chmod(socket, 0o777)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		f, err := attach.Read(c)
		sig, ok := attach.ParseUint32(f.Payload)
		if err != nil || f.Kind != attach.Kill || !ok {
			attach.Write(c, attach.Failed, []byte("not a Kill request"))
			return
		}
		unix.Kill(pid, unix.Signal(sig))
		got <- unix.Signal(sig)
		attach.Write(c, attach.Done, attach.Uint32(0))
	}()
}
