package commands

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/proc"
	"github.com/skiff-dev/skiff/state"
)

// saveRecord writes a container record (and its upper dir holding size
// bytes) as create would have.
func saveRecord(t *testing.T, root string, ct *state.Container, size int) {
	t.Helper()
	dir := filepath.Join(state.ContainersDir(root), ct.ID)
	if err := os.MkdirAll(filepath.Join(dir, "upper"), 0o700); err != nil {
		t.Fatal(err)
	}
	if size > 0 {
		if err := os.WriteFile(filepath.Join(dir, "upper", "f"), make([]byte, size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := state.Save(root, ct); err != nil {
		t.Fatal(err)
	}
}

func TestParsePruneFilters(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		in      []string
		wantErr string
		until   time.Time
	}{
		{in: nil},
		{in: []string{"until=10m"}, until: now.Add(-10 * time.Minute)},
		{in: []string{"until=1700000000"}, until: time.Unix(1700000000, 0)},
		{in: []string{"until=2025-01-01T00:00:00Z"}, until: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)},
		{in: []string{"label=a", "label!=b=c"}},
		{in: []string{"until=1h", "until=2h"}, wantErr: "more than one until filter specified"},
		{in: []string{"until=soon"}, wantErr: "invalid filter 'until=soon'"},
		{in: []string{"status=exited"}, wantErr: "invalid filter 'status'"},
		{in: []string{"until"}, wantErr: "bad format of filter (expected name=value)"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.in, ","), func(t *testing.T) {
			f, err := parsePruneFilters(tc.in, now)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !f.until.Equal(tc.until) {
				t.Errorf("until %v, want %v", f.until, tc.until)
			}
		})
	}
}

func TestPruneFilterMatch(t *testing.T) {
	now := time.Now()
	old := &state.Container{Created: now.Add(-2 * time.Hour), Config: state.Config{Labels: map[string]string{"env": "dev", "keep": ""}}}
	young := &state.Container{Created: now.Add(-time.Minute)}
	tests := []struct {
		filters []string
		ct      *state.Container
		want    bool
	}{
		{nil, young, true},
		{[]string{"until=1h"}, old, true},
		{[]string{"until=1h"}, young, false},
		{[]string{"label=env"}, old, true},
		{[]string{"label=env=dev"}, old, true},
		{[]string{"label=env=prod"}, old, false},
		{[]string{"label=env", "label=other"}, old, false}, // every label filter must match
		{[]string{"label!=keep"}, old, false},
		{[]string{"label!=keep"}, young, true},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.filters, ","), func(t *testing.T) {
			f, err := parsePruneFilters(tc.filters, now)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.match(tc.ct); got != tc.want {
				t.Errorf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestConfirm(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{{"y\n", true}, {"Y\n", true}, {"y", true}, {"n\n", false}, {"yes\n", false}, {"", false}, {"\n", false}} {
		t.Run(tc.in, func(t *testing.T) {
			var out bytes.Buffer
			if got := confirm(strings.NewReader(tc.in), &out, "WARNING! This will remove all stopped containers."); got != tc.want {
				t.Errorf("confirm(%q) = %v", tc.in, got)
			}
			if want := "WARNING! This will remove all stopped containers.\nAre you sure you want to continue? [y/N] "; out.String() != want {
				t.Errorf("prompt %q, want %q", out.String(), want)
			}
		})
	}
}

// prune removes created and exited containers only, with docker's output;
// a running or paused one (this test's own process stands for it) stays.
func TestPruneRemovesOnlyStopped(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	self, err := proc.StartTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	mk := func(c byte, st state.Status, size int) *state.Container {
		ct := &state.Container{ID: strings.Repeat(string(c), 64), Name: "n" + string(c), Status: st, Created: now}
		if st.Up() {
			ct.Pid, ct.PidStartTime = os.Getpid(), self
		}
		saveRecord(t, root, ct, size)
		return ct
	}
	created, exited := mk('a', state.Created, 200), mk('b', state.Exited, 1034)
	running, paused := mk('c', state.Running, 10), mk('d', state.Paused, 10)
	var out bytes.Buffer
	g := &Globals{}
	g.Paths.Root, g.Paths.RunRoot = root, runRoot
	if err := prune(g, pruneFilter{}, &out); err != nil {
		t.Fatal(err)
	}
	want := "Deleted Containers:\n" + created.ID + "\n" + exited.ID + "\n\nTotal reclaimed space: 1.234kB\n"
	if got := out.String(); !sameLines(got, want) {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
	for _, ct := range []*state.Container{created, exited} {
		if _, err := state.Load(root, ct.ID); err == nil {
			t.Errorf("%s (%s) not removed", ct.Name, ct.Status)
		}
	}
	for _, ct := range []*state.Container{running, paused} {
		if _, err := state.Load(root, ct.ID); err != nil {
			t.Errorf("%s (%s) removed: %v", ct.Name, ct.Status, err)
		}
	}
	out.Reset()
	if err := prune(g, pruneFilter{}, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "Total reclaimed space: 0B\n" {
		t.Errorf("nothing to prune printed %q", got)
	}
}

// sameLines compares ignoring the order of the id lines (List orders by
// creation time, equal here).
func sameLines(a, b string) bool {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(x) != len(y) {
		return false
	}
	count := map[string]int{}
	for i := range x {
		count[x[i]]++
		count[y[i]]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return x[0] == y[0] && x[len(x)-2] == y[len(y)-2]
}
