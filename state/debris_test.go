package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A directory without a record is debris only when no create holds its lock.
func TestSweepDebris(t *testing.T) {
	for _, tt := range []struct {
		name       string
		locked     bool
		withRecord bool
		wantKept   bool
	}{
		{"killed create", false, false, false},
		{"create in progress", true, false, true},
		{"saved container", false, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, run := t.TempDir(), t.TempDir()
			id := strings.Repeat("e", 64)
			dir := filepath.Join(ContainersDir(root), id)
			if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.withRecord {
				if err := Save(root, &Container{ID: id, Status: Created}); err != nil {
					t.Fatal(err)
				}
			}
			if tt.locked {
				l, err := LockContainer(run, id)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Unlock()
			}
			SweepDebris(root, run)
			_, err := os.Stat(dir)
			if kept := err == nil; kept != tt.wantKept {
				t.Fatalf("directory kept = %v, want %v", kept, tt.wantKept)
			}
		})
	}
}

// A name whose owner is debris of a killed create is taken over.
func TestReserveNameOverDebris(t *testing.T) {
	root, run := t.TempDir(), t.TempDir()
	dead, id := strings.Repeat("a", 64), strings.Repeat("b", 64)
	if err := os.MkdirAll(filepath.Join(ContainersDir(root), dead), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := ReserveName(root, run, "web", dead); err != nil {
		t.Fatal(err)
	}
	if err := ReserveName(root, run, "web", id); err != nil {
		t.Fatalf("reserving over debris: %v", err)
	}
	if _, err := os.Stat(filepath.Join(ContainersDir(root), dead)); !os.IsNotExist(err) {
		t.Fatalf("debris left: %v", err)
	}
}

// A run that abandons its early monitor before its create made anything
// (image missing) leaves a run directory, which goes; a directory of a
// create (killed: debris for the next create's sweep; in progress; saved)
// stays, run directory and all.
func TestRemoveAbandoned(t *testing.T) {
	for _, tt := range []struct {
		name       string
		withDir    bool // the create got as far as the container's directory
		withRecord bool
		wantGone   bool
	}{
		{"failed before the create", false, false, true},
		{"killed inside the create", true, false, false},
		{"record saved", true, true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, run := t.TempDir(), t.TempDir()
			id := strings.Repeat("d", 64)
			dir := filepath.Join(ContainersDir(root), id)
			mon, err := LockMonitor(run, id) // the CLI's, handed to the monitor
			if err != nil {
				t.Fatal(err)
			}
			defer mon.Close()
			if tt.withDir {
				if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			if tt.withRecord {
				if err := Save(root, &Container{ID: id, Status: Created}); err != nil {
					t.Fatal(err)
				}
			}
			if got := RemoveAbandoned(root, run, id); got != tt.wantGone {
				t.Fatalf("RemoveAbandoned = %v, want %v", got, tt.wantGone)
			}
			_, err = os.Stat(RunDir(run, id))
			if gone := os.IsNotExist(err); gone != tt.wantGone {
				t.Errorf("run directory gone = %v, want %v", gone, tt.wantGone)
			}
			if _, err := os.Stat(dir); tt.withDir && err != nil {
				t.Errorf("container directory removed: %v", err)
			}
		})
	}
}

// A run directory with neither a container directory nor a monitor is a
// killed run's; one whose monitor lives, or whose run holds the container
// lock (it is spawning its monitor), or whose container exists, stays.
func TestSweepOrphanRunDirs(t *testing.T) {
	for _, tt := range []struct {
		name                     string
		monitor, locked, withDir bool
		wantKept                 bool
	}{
		{"run killed before its monitor ran", false, false, false, false},
		{"early monitor waiting for Go", true, false, false, true},
		{"run spawning its monitor", false, true, false, true},
		{"container exists", false, false, true, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root, run := t.TempDir(), t.TempDir()
			id := strings.Repeat("f", 64)
			mon, err := LockMonitor(run, id)
			if err != nil {
				t.Fatal(err)
			}
			if !tt.monitor {
				mon.Close()
			} else {
				defer mon.Close()
			}
			if tt.locked {
				l, err := LockContainer(run, id)
				if err != nil {
					t.Fatal(err)
				}
				defer l.Unlock()
			}
			if tt.withDir {
				if err := os.MkdirAll(filepath.Join(ContainersDir(root), id), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := Save(root, &Container{ID: id, Status: Created}); err != nil {
					t.Fatal(err)
				}
			}
			SweepDebris(root, run)
			_, err = os.Stat(RunDir(run, id))
			if kept := err == nil; kept != tt.wantKept {
				t.Fatalf("run directory kept = %v, want %v", kept, tt.wantKept)
			}
		})
	}
}
