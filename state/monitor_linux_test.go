package state

import (
	"errors"
	"io"
	"os"
	"path/filepath"
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

// The attach socket works however deep the run root is.
func TestAttachSocketPaths(t *testing.T) {
	id := strings.Repeat("d", 64)
	for _, tt := range []struct{ name, runRoot string }{
		{"short", t.TempDir()},
		{"longer than sun_path", filepath.Join(t.TempDir(), strings.Repeat("x", 80))},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.MkdirAll(tt.runRoot, 0o700); err != nil {
				t.Fatal(err)
			}
			l, err := ListenAttach(tt.runRoot, id)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			go func() {
				c, err := l.Accept()
				if err == nil {
					c.Write([]byte("hi"))
					c.Close()
				}
			}()
			c, err := DialAttach(tt.runRoot, id)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			b, err := io.ReadAll(c)
			if err != nil || string(b) != "hi" {
				t.Fatalf("read %q, %v", b, err)
			}
		})
	}
}
