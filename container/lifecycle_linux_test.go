package container

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/state"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		err  bool
	}{
		{"KILL", unix.SIGKILL, false},
		{"SIGKILL", unix.SIGKILL, false},
		{"sigterm", unix.SIGTERM, false},
		{"hup", unix.SIGHUP, false},
		{"9", unix.SIGKILL, false},
		{"12", unix.SIGUSR2, false},
		{"RTMIN+3", unix.Signal(37), false},
		{"0", 0, true},
		{"65", 0, true},
		{"-1", 0, true},
		{"NOSUCHSIG", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSignal(tt.in)
			if (err != nil) != tt.err || got != tt.want {
				t.Errorf("ParseSignal(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.err)
			}
		})
	}
}

// fakeRunning records a host process as a running container with no
// monitor (as after its monitor was killed), so stop, kill and wait act
// on it by pid alone.
func fakeRunning(t *testing.T, root string, argv ...string) (*state.Container, *exec.Cmd) {
	t.Helper()
	cmd := exec.Command(argv[0], argv[1:]...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() // reap it, as its monitor would
	t.Cleanup(func() { cmd.Process.Kill(); <-done })
	start, err := proc.StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c := fakeRecord(t, root, state.Running)
	c.Pid, c.PidStartTime, c.StartedAt = cmd.Process.Pid, start, time.Now()
	if err := state.Save(root, c); err != nil {
		t.Fatal(err)
	}
	return c, cmd
}

func fakeRecord(t *testing.T, root string, st state.Status) *state.Container {
	t.Helper()
	id, _ := state.NewID()
	c := &state.Container{ID: id, Name: "n" + id[:6], Status: st, Created: time.Now()}
	if err := os.MkdirAll(filepath.Join(state.ContainersDir(root), id), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := state.Save(root, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStop(t *testing.T) {
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep binary")
	}
	one, zero := 1, 0
	tests := []struct {
		name    string
		argv    []string
		o       StopOptions
		minTime time.Duration // SIGKILL only after the grace period
		maxTime time.Duration
	}{
		{"SIGTERM ends it", []string{sleep, "100"}, StopOptions{Timeout: &one}, 0, 900 * time.Millisecond},
		// SIG_IGN survives exec: this sleep ignores SIGTERM.
		{"ignored SIGTERM, SIGKILL after -t", []string{"sh", "-c", "trap '' TERM; exec " + sleep + " 100"}, StopOptions{Timeout: &one}, time.Second, 3 * time.Second},
		{"-t 0 kills at once", []string{"sh", "-c", "trap '' TERM; exec " + sleep + " 100"}, StopOptions{Timeout: &zero}, 0, 900 * time.Millisecond},
		{"-s KILL", []string{"sh", "-c", "trap '' TERM; exec " + sleep + " 100"}, StopOptions{Timeout: &one, Signal: unix.SIGKILL}, 0, 900 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, runRoot := t.TempDir(), t.TempDir()
			s := Store{Root: root, RunRoot: runRoot}
			c, _ := fakeRunning(t, root, tt.argv...)
			time.Sleep(50 * time.Millisecond) // let sh set its trap
			t0 := time.Now()
			got, err := s.Stop(c.Name, tt.o)
			d := time.Since(t0)
			if err != nil {
				t.Fatal(err)
			}
			if d < tt.minTime || d > tt.maxTime {
				t.Errorf("stop took %v, want %v..%v", d, tt.minTime, tt.maxTime)
			}
			if got.Status != state.Exited || got.ExitCode != state.UnknownExit {
				t.Errorf("after stop with no monitor: %s (%d), want exited (-1)", got.Status, got.ExitCode)
			}
			rec, _ := state.Load(root, c.ID)
			if !rec.ManuallyStopped || rec.Status != state.Exited || rec.Orphaned {
				t.Errorf("record on disk: status %s, manually stopped %v, orphaned %v", rec.Status, rec.ManuallyStopped, rec.Orphaned)
			}
		})
	}
}

func TestStopNotRunning(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	s := Store{Root: root, RunRoot: runRoot}
	for _, st := range []state.Status{state.Created, state.Exited} {
		c := fakeRecord(t, root, st)
		got, err := s.Stop(c.ID[:12], StopOptions{})
		if err != nil || got.Status != st || got.ManuallyStopped {
			t.Errorf("stop of a %s container: %v, %+v; want it left alone", st, err, got)
		}
	}
	if _, err := s.Stop("nosuch", StopOptions{}); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("stop nosuch: %v, want not found", err)
	}
}

func TestKillAndWait(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	s := Store{Root: root, RunRoot: runRoot}
	c, _ := fakeRunning(t, root, "sleep", "100")
	waited := make(chan int, 1)
	go func() {
		code, err := s.Wait(c.Name)
		if err != nil {
			t.Error(err)
		}
		waited <- code
	}()
	select {
	case code := <-waited:
		t.Fatalf("wait returned %d while the container runs", code)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := s.Kill(c.Name, unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	select {
	case code := <-waited:
		// Nobody reaped it with a status (no monitor): unknown, as documented.
		if code != state.UnknownExit {
			t.Errorf("wait: %d, want %d", code, state.UnknownExit)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("wait did not return after the process died")
	}
	_, err := s.Kill(c.Name, unix.SIGKILL)
	var nr *run.NotRunningError
	if !errors.As(err, &nr) || nr.ID != c.ID {
		t.Errorf("kill of an exited container: %v, want NotRunningError for %s", err, c.ID)
	}
	if code, err := s.Wait(fakeRecord(t, root, state.Created).ID); err != nil || code != 0 {
		t.Errorf("wait on a created container: %d, %v; want 0 at once", code, err)
	}
}

func TestRemoveRunning(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	s := Store{Root: root, RunRoot: runRoot}
	c, cmd := fakeRunning(t, root, "sleep", "100")
	if _, err := s.Remove(c.Name, false); !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "/"+c.Name) {
		t.Fatalf("rm without -f: %v, want docker's refusal naming /%s", err, c.Name)
	}
	if !proc.Alive(cmd.Process.Pid, c.PidStartTime) {
		t.Fatal("a refused rm killed the container")
	}
	if _, err := s.Remove(c.Name, true); err != nil {
		t.Fatal(err)
	}
	if proc.Alive(cmd.Process.Pid, c.PidStartTime) {
		t.Error("rm -f left the process alive")
	}
	if _, err := state.Load(root, c.ID); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("record after rm -f: %v", err)
	}
}

func TestPidsWithoutCgroup(t *testing.T) {
	root := t.TempDir()
	c, cmd := fakeRunning(t, root, "sh", "-c", "sleep 100 & wait")
	time.Sleep(100 * time.Millisecond)
	pids, err := Pids(c)
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 2 || pids[0] != cmd.Process.Pid {
		t.Errorf("pids %v, want the shell %d and its sleep", pids, cmd.Process.Pid)
	}
	for _, p := range pids[1:] {
		unix.Kill(p, unix.SIGKILL)
	}
}
