package cgroup

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This host's freezer is v1 (the unified mount holds only hugetlb), so the
// v2 protocol is tested on a fake cgroupfs: plain files standing for
// cgroup.freeze and cgroup.events, with the kernel's part played by the test.
func TestFreezeFakeTrees(t *testing.T) {
	tests := []struct {
		name      string
		v2        bool
		files     map[string]string
		wantErr   error
		wantFiles map[string]string // after Freeze
	}{
		{name: "v1", files: map[string]string{"freezer.state": "THAWED\n"},
			wantFiles: map[string]string{"freezer.state": "FROZEN"}},
		{name: "v2", v2: true, files: map[string]string{"cgroup.freeze": "0\n", "cgroup.events": "populated 1\nfrozen 1\n"},
			wantFiles: map[string]string{"cgroup.freeze": "1"}},
		{name: "v2 never frozen", v2: true, files: map[string]string{"cgroup.freeze": "0", "cgroup.events": "populated 1\nfrozen 0\n"},
			wantErr: errTimeout, wantFiles: map[string]string{"cgroup.freeze": "0"}},
		{name: "no freezer", files: map[string]string{"cgroup.procs": ""}, wantErr: ErrNoFreezer},
	}
	defer func(d time.Duration) { FreezeTimeout = d }(FreezeTimeout)
	FreezeTimeout = 50 * time.Millisecond
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			cg, err := NewAt([]Hierarchy{{Mount: root, V2: tc.v2}}, "c1")
			if err != nil {
				t.Fatal(err)
			}
			leaf := filepath.Join(root, Parent, "c1")
			for f, s := range tc.files {
				write(t, filepath.Join(leaf, f), s)
			}
			err = cg.Freeze()
			switch {
			case tc.wantErr == errTimeout:
				if err == nil || !strings.Contains(err.Error(), "thawed again") {
					t.Fatalf("Freeze: %v, want a timeout that thaws", err)
				}
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("Freeze: %v, want %v", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			for f, want := range tc.wantFiles {
				if got := read(t, filepath.Join(leaf, f)); got != want {
					t.Errorf("%s = %q after Freeze, want %q", f, got, want)
				}
			}
			if tc.wantErr != nil {
				return
			}
			if frozen, err := cg.Frozen(); err != nil || !frozen {
				t.Errorf("Frozen() = %v, %v after Freeze", frozen, err)
			}
			if err := cg.Thaw(); err != nil {
				t.Fatal(err)
			}
			if frozen, err := cg.Frozen(); err != nil || frozen {
				t.Errorf("Frozen() = %v, %v after Thaw", frozen, err)
			}
		})
	}
}

var errTimeout = errors.New("timeout")

// v2's cgroup.events turns "frozen 1" some time after the write: Freeze
// must wait for it, not return at the write.
func TestFreezeV2Waits(t *testing.T) {
	root := t.TempDir()
	cg, err := NewAt([]Hierarchy{{Mount: root, V2: true}}, "c1")
	if err != nil {
		t.Fatal(err)
	}
	leaf := filepath.Join(root, Parent, "c1")
	write(t, filepath.Join(leaf, "cgroup.freeze"), "0")
	write(t, filepath.Join(leaf, "cgroup.events"), "populated 1\nfrozen 0\n")
	const delay = 30 * time.Millisecond
	// Before the writer starts its delay: measured from after it, a
	// correct Freeze could look early by the goroutine's head start.
	start := time.Now()
	go func() {
		time.Sleep(delay)
		os.WriteFile(filepath.Join(leaf, "cgroup.events.tmp"), []byte("populated 1\nfrozen 1\n"), 0o644)
		os.Rename(filepath.Join(leaf, "cgroup.events.tmp"), filepath.Join(leaf, "cgroup.events"))
	}()
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < delay {
		t.Errorf("Freeze returned after %v, before the cgroup reported frozen (%v)", d, delay)
	}
}

// On the real host (root): a busy process stops using CPU while frozen and
// runs again after Thaw.
func TestFreezeRealHost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	cg, err := New("skiff-test-freeze")
	if err != nil {
		t.Fatal(err)
	}
	defer cg.Delete()
	cmd := exec.Command("/bin/busybox", "sh", "-c", "while :; do :; done")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()
	if err := cg.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cg.freezerDir(); err != nil {
		t.Skip(err)
	}
	// Running first: under load (other packages' tests share 2 cores) a
	// fixed sleep may pass before the loop gets a tick.
	waitTicks(t, cmd.Process.Pid, 0)
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	before := cpuTicks(t, cmd.Process.Pid)
	time.Sleep(200 * time.Millisecond)
	if after := cpuTicks(t, cmd.Process.Pid); after != before {
		t.Errorf("frozen process used CPU: %d -> %d ticks", before, after)
	}
	if err := cg.Thaw(); err != nil {
		t.Fatal(err)
	}
	waitTicks(t, cmd.Process.Pid, cpuTicks(t, cmd.Process.Pid))
	cmd.Process.Kill()
	cmd.Wait()
}

// waitTicks waits up to 5 s for pid's CPU time to pass ticks: it runs.
func waitTicks(t *testing.T, pid, ticks int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cpuTicks(t, pid) > ticks {
			return
		}
	}
	t.Fatalf("process %d did not run: still %d ticks after 5 s", pid, ticks)
}

// cpuTicks is utime+stime from /proc/<pid>/stat.
func cpuTicks(t *testing.T, pid int) int {
	t.Helper()
	s := read(t, filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	k, _ := strconv.Atoi(f[12])
	return u + k
}
