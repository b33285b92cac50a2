package proc

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestAlive(t *testing.T) {
	self := os.Getpid()
	start, err := StartTime(self)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		start uint64
		want  bool
	}{
		{"self", self, start, true},
		{"any start", self, 0, true},
		{"pid reused", self, start + 1, false},
		{"gone", 1 << 30, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Alive(tt.pid, tt.start); got != tt.want {
				t.Fatalf("Alive(%d, %d) = %v, want %v", tt.pid, tt.start, got, tt.want)
			}
		})
	}
}

func startSleep(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", append([]string{"-c"}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd
}

// A handle opened on the right start time signals and waits for exactly
// that process; a wrong start time opens nothing.
func TestHandle(t *testing.T) {
	cmd := startSleep(t, "exec sleep 30")
	pid := cmd.Process.Pid
	start, err := StartTime(pid)
	if err != nil {
		t.Fatal(err)
	}
	if h, err := Open(pid, start+1); h != nil || err != nil {
		t.Fatalf("Open with another start time = %v, %v; want nil, nil", h, err)
	}
	h, err := Open(pid, start)
	if err != nil || h == nil {
		t.Fatalf("Open = %v, %v", h, err)
	}
	defer h.Close()
	if h.Wait(50 * time.Millisecond) {
		t.Fatal("Wait reported a running process as exited")
	}
	if err := h.Signal(unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	go cmd.Wait()
	if !h.Wait(5 * time.Second) {
		t.Fatal("Wait did not see the killed process exit")
	}
}

func TestDescendants(t *testing.T) {
	cmd := startSleep(t, "sleep 30 & sleep 30; wait")
	pid := cmd.Process.Pid
	var got []int
	for deadline := time.Now().Add(5 * time.Second); len(got) < 3 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		got = Descendants(pid)
	}
	if len(got) != 3 || got[0] != pid {
		t.Fatalf("Descendants(%d) = %v, want the shell and its two sleeps", pid, got)
	}
	if slices.Contains(got, os.Getpid()) {
		t.Fatalf("Descendants(%d) = %v holds its parent", pid, got)
	}
}
