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
