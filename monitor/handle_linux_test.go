package monitor

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// WaitExit is a flock on the monitor lock: free without a monitor, busy
// while one holds it, free again at once when it lets go.
func TestWaitExit(t *testing.T) {
	runRoot, id := t.TempDir(), strings.Repeat("e", 64)
	if !WaitExit(runRoot, id, 0) {
		t.Fatal("no monitor ever: lock not free")
	}
	lock, err := state.LockMonitor(runRoot, id)
	if err != nil {
		t.Fatal(err)
	}
	if WaitExit(runRoot, id, 20*time.Millisecond) {
		t.Fatal("lock reported free while held")
	}
	time.AfterFunc(20*time.Millisecond, func() { lock.Close() })
	if !WaitExit(runRoot, id, -1) {
		t.Fatal("lock not free after its holder closed it")
	}
}

// Signal reaches the recorded monitor only while the pid is still the
// process that started at the recorded time.
func TestSignalRecordedMonitor(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	start, err := proc.StartTime(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	c := &state.Container{ID: strings.Repeat("f", 64), MonitorPid: cmd.Process.Pid, MonitorStartTime: start + 1}
	Signal(t.TempDir(), c, unix.SIGKILL)
	select {
	case <-done:
		t.Fatal("signalled a process whose start time differs from the record")
	case <-time.After(50 * time.Millisecond):
	}
	c.MonitorStartTime = start
	Signal(t.TempDir(), c, unix.SIGKILL)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("the recorded monitor was not signalled")
	}
}
