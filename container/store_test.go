package container

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/skiff-dev/skiff/state"
)

// mkContainer saves a created container's record.
func mkContainer(t *testing.T, root, id, name string, created time.Time) *state.Container {
	t.Helper()
	dir, err := state.Dir(root, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	c := &state.Container{ID: id, Name: name, Created: created, Status: state.Created}
	if err := state.Save(root, c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLookup(t *testing.T) {
	root, runRoot := t.TempDir(), t.TempDir()
	a := "abc1" + strings.Repeat("0", 60)
	b := "abc2" + strings.Repeat("0", 60)
	d := "def0" + strings.Repeat("0", 60)
	mkContainer(t, root, a, "alpha", time.Unix(1, 0))
	mkContainer(t, root, b, "beta", time.Unix(2, 0))
	// A name that looks like another container's id prefix: names win, as docker.
	mkContainer(t, root, d, "abc2", time.Unix(3, 0))
	tests := []struct {
		ref, want string
		err       string
	}{
		{ref: a, want: a},
		{ref: "alpha", want: a},
		{ref: "/beta", want: b},
		{ref: "abc1", want: a},
		{ref: "abc2", want: d},
		{ref: "de", want: d},
		{ref: "abc", err: "multiple IDs found with provided prefix: abc"},
		{ref: "nope", err: "No such container: nope"},
		{ref: "", err: "No such container: "},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			c, err := Store{Root: root, RunRoot: runRoot}.Lookup(tt.ref)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("got %v, want error %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.ID != tt.want {
				t.Fatalf("got %s, want %s", c.ID, tt.want)
			}
		})
	}
	if _, err := (Store{Root: root, RunRoot: runRoot}).Lookup("nope"); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("errors.Is(ErrNotFound) false for %v", err)
	}
}
