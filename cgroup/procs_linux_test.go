package cgroup

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"
)

// fakeCgroup makes container id's cgroup in one fake hierarchy per entry
// of v2s, each with cgroup.procs listing pids.
func fakeCgroup(t *testing.T, id string, pids string, v2s ...bool) *Cgroup {
	t.Helper()
	var hs []Hierarchy
	for _, v2 := range v2s {
		hs = append(hs, Hierarchy{Mount: t.TempDir(), V2: v2})
	}
	cg, err := NewAt(hs, id)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range cg.Paths() {
		write(t, filepath.Join(p, "cgroup.procs"), pids)
	}
	return cg
}

func TestProcs(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run("v2="+strconv.FormatBool(v2), func(t *testing.T) {
			cg := fakeCgroup(t, "c1", "12\n345\n", v2, v2)
			got, err := cg.Procs()
			if err != nil || !slices.Equal(got, []int{12, 345}) {
				t.Fatalf("Procs() = %v, %v; want [12 345]", got, err)
			}
		})
	}
	t.Run("first hierarchy with processes", func(t *testing.T) {
		cg := fakeCgroup(t, "c2", "", false, true)
		write(t, filepath.Join(cg.Paths()[1], "cgroup.procs"), "77\n")
		got, err := cg.Procs()
		if err != nil || !slices.Equal(got, []int{77}) {
			t.Fatalf("Procs() = %v, %v; want [77]", got, err)
		}
	})
	t.Run("none", func(t *testing.T) {
		if got, err := fakeCgroup(t, "c3", "", true).Procs(); err != nil || got != nil {
			t.Fatalf("Procs() = %v, %v; want nil", got, err)
		}
	})
}

// v2 kills through cgroup.kill: the kernel does it, no pid is read.
func TestKillV2WritesCgroupKill(t *testing.T) {
	cg := fakeCgroup(t, "c1", "", true)
	kill := filepath.Join(cg.Paths()[0], "cgroup.kill")
	write(t, kill, "")
	if err := cg.Kill(); err != nil {
		t.Fatal(err)
	}
	if got := read(t, kill); got != "1" {
		t.Fatalf("cgroup.kill %q, want 1", got)
	}
}

// v1, and v2 on a kernel without cgroup.kill, signal each listed pid.
func TestKillSignalsListedPids(t *testing.T) {
	for _, v2 := range []bool{false, true} {
		t.Run("v2="+strconv.FormatBool(v2), func(t *testing.T) {
			cmd := exec.Command("sleep", "30")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			cg := fakeCgroup(t, "c1", strconv.Itoa(cmd.Process.Pid)+"\n", v2)
			if err := cg.Kill(); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if ws, ok := cmd.ProcessState.Sys().(interface{ Signaled() bool }); !ok || !ws.Signaled() {
					t.Fatalf("sleep ended with %v, want killed by a signal", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the listed process is still alive")
			}
			if _, err := os.Stat(filepath.Join(cg.Paths()[0], "cgroup.kill")); !os.IsNotExist(err) {
				t.Fatalf("Kill created cgroup.kill: %v", err)
			}
		})
	}
}
