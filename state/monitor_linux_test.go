package state

import (
	"errors"
	"strings"
	"testing"
)

func TestMonitorLock(t *testing.T) {
	run := t.TempDir()
	id := strings.Repeat("c", 64)
	if MonitorAlive(run, id) {
		t.Fatal("alive before any monitor")
	}
	f, err := LockMonitor(run, id)
	if err != nil {
		t.Fatal(err)
	}
	if !MonitorAlive(run, id) {
		t.Fatal("not alive while the lock is held")
	}
	if _, err := LockMonitor(run, id); !errors.Is(err, ErrMonitorAlive) {
		t.Fatalf("second LockMonitor: %v, want ErrMonitorAlive", err)
	}
	f.Close()
	if MonitorAlive(run, id) {
		t.Fatal("alive after the holder closed the lock")
	}
}
