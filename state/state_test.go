package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/proc"
)

func mkContainer(t *testing.T, root, id, name string, created time.Time) *Container {
	t.Helper()
	dir, err := Dir(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &Container{ID: id, Name: name, Created: created, Status: Created}
	if err := Save(root, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSaveIsAtomicAndRoundTrips(t *testing.T) {
	root := t.TempDir()
	id := strings.Repeat("ab", 32)
	c := mkContainer(t, root, id, "one", time.Unix(100, 0))
	c.Status, c.ExitCode = Exited, 3
	if err := Save(root, c); err != nil {
		t.Fatal(err)
	}
	got, err := Load(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != Exited || got.ExitCode != 3 || got.Name != "one" {
		t.Fatalf("round trip: got %+v", got)
	}
	ents, _ := os.ReadDir(filepath.Join(root, "containers", id))
	for _, e := range ents {
		if e.Name() != "state.json" {
			t.Errorf("temp file left behind: %s", e.Name())
		}
	}
}

func TestListNewestFirst(t *testing.T) {
	root := t.TempDir()
	old := mkContainer(t, root, strings.Repeat("1", 64), "old", time.Unix(1, 0))
	young := mkContainer(t, root, strings.Repeat("2", 64), "young", time.Unix(2, 0))
	os.MkdirAll(filepath.Join(root, "containers", strings.Repeat("3", 64)), 0o700) // no record yet
	all, err := List(root)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != young.ID || all[1].ID != old.ID {
		t.Fatalf("got %d containers, want [young old]", len(all))
	}
}

func TestNameConflict(t *testing.T) {
	root, run := t.TempDir(), t.TempDir()
	a := mkContainer(t, root, strings.Repeat("a", 64), "", time.Now())
	b := mkContainer(t, root, strings.Repeat("b", 64), "", time.Now())
	if err := ReserveName(root, run, "x", a.ID); err != nil {
		t.Fatal(err)
	}
	err := ReserveName(root, run, "x", b.ID)
	want := `Conflict. The container name "/x" is already in use by container "` + a.ID + `". You have to remove (or rename) that container to be able to reuse that name.`
	if err == nil || err.Error() != want {
		t.Fatalf("got %v, want %q", err, want)
	}
	// Once a is gone, its name is free again.
	a.Name = "x"
	if err := Delete(root, run, a); err != nil {
		t.Fatal(err)
	}
	if err := ReserveName(root, run, "x", b.ID); err != nil {
		t.Fatalf("name of a deleted container: %v", err)
	}
	// An entry whose container dir vanished (crash) is taken over.
	if err := ReserveName(root, run, "y", strings.Repeat("c", 64)); err != nil {
		t.Fatal(err)
	}
	if err := ReserveName(root, run, "y", b.ID); err != nil {
		t.Fatalf("stale name entry: %v", err)
	}
}

func TestCheckName(t *testing.T) {
	for _, tt := range []struct {
		in string
		ok bool
	}{{"web", true}, {"/web", true}, {"a.b-c_d", true}, {"x", true}, {"", false}, {"../etc", false}, {"a/b", false}, {"-a", false}} {
		t.Run(tt.in, func(t *testing.T) {
			_, err := CheckName(tt.in)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckName(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}

func TestDeadPidShowsExited(t *testing.T) {
	root := t.TempDir()
	c := mkContainer(t, root, strings.Repeat("d", 64), "d", time.Now())
	start, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		pid   int
		start uint64
		want  Status
	}{
		{"alive", os.Getpid(), start, Running},
		{"pid reused", os.Getpid(), start + 1, Exited},
		{"gone", 1 << 30, 0, Exited},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.Status, c.Pid, c.PidStartTime = Running, tt.pid, tt.start
			if err := Save(root, c); err != nil {
				t.Fatal(err)
			}
			got, err := Load(root, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want {
				t.Fatalf("status %s, want %s", got.Status, tt.want)
			}
		})
	}
}

func TestNameReservationIsExclusive(t *testing.T) {
	root, run := t.TempDir(), t.TempDir()
	const n = 8
	ids := make([]string, n)
	for i := range ids {
		ids[i] = mkContainer(t, root, strings.Repeat(string("0123456789abcdef"[i]), 64), "", time.Now()).ID
	}
	errs := make(chan error, n)
	for _, id := range ids {
		go func() { errs <- ReserveName(root, run, "same", id) }()
	}
	won := 0
	for range ids {
		err := <-errs
		var ce *NameConflictError
		switch {
		case err == nil:
			won++
		case !errors.As(err, &ce):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d reservations of one name succeeded, want 1", won)
	}
}

// TestLoadLegacyLayers: a record written before records held their layers
// (they were in config.json's run.skiff.lowerdirs annotation) still loads
// with its layers, so an upgrade does not start it on its upper dir alone.
func TestLoadLegacyLayers(t *testing.T) {
	root := t.TempDir()
	id := strings.Repeat("cd", 32)
	mkContainer(t, root, id, "old", time.Unix(100, 0))
	dir, _ := Dir(root, id)
	spec := `{"ociVersion":"1.0.2","annotations":{"run.skiff.lowerdirs":"[\"/l/base\",\"/l/top\"]"}}`
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(spec), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := Load(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Layers) != 2 || got.Layers[0] != "/l/base" || got.Layers[1] != "/l/top" {
		t.Errorf("Layers = %q, want the annotation's, bottom first", got.Layers)
	}
	// A record that has its layers keeps them.
	got.Layers = []string{"/l/own"}
	if err := Save(root, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := Load(root, id); len(again.Layers) != 1 || again.Layers[0] != "/l/own" {
		t.Errorf("Layers = %q, want the record's own", again.Layers)
	}
}
