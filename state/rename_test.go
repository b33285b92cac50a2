package state

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRename(t *testing.T) {
	a, b := strings.Repeat("a", 64), strings.Repeat("b", 64)
	tests := []struct {
		name, newName string
		want          string // error text; "" for success
	}{
		{"free name", "web2", ""},
		{"leading slash", "/web2", ""},
		{"same name", "web", "Renaming a container with the same name as its current name"},
		{"taken", "db", `Error when allocating new name: Conflict. The container name "/db" is already in use by container "` + b + `". You have to remove (or rename) that container to be able to reuse that name.`},
		{"invalid", "-x", "Error when allocating new name: Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root, run := t.TempDir(), t.TempDir()
			mkContainer(t, root, a, "web", time.Now())
			mkContainer(t, root, b, "db", time.Now())
			for n, id := range map[string]string{"web": a, "db": b} {
				if err := ReserveName(root, run, n, id); err != nil {
					t.Fatal(err)
				}
			}
			old, err := Rename(root, run, a, tc.newName)
			if tc.want != "" {
				if err == nil || err.Error() != tc.want {
					t.Fatalf("Rename: %v, want %q", err, tc.want)
				}
				if c, _ := byName(root, "web"); c == nil || c.ID != a {
					t.Errorf("a failed rename changed the record: %+v", c)
				}
				return
			}
			if err != nil || old != "web" {
				t.Fatalf("Rename = %q, %v", old, err)
			}
			if c, err := byName(root, "web2"); err != nil || c.ID != a {
				t.Errorf("lookup by the new name: %v, %v", c, err)
			}
			if _, err := byName(root, "web"); !errors.Is(err, ErrNotFound) {
				t.Errorf("old name still finds a container: %v", err)
			}
			if _, err := os.Stat(filepath.Join(namesDir(root), "web")); !os.IsNotExist(err) {
				t.Errorf("old name still in the index: %v", err)
			}
			if err := ReserveName(root, run, "web", b); err != nil {
				t.Errorf("old name not free: %v", err)
			}
			err = ReserveName(root, run, "web2", b)
			var ce *NameConflictError
			if !errors.As(err, &ce) || ce.ID != a {
				t.Errorf("new name not held by the renamed container: %v", err)
			}
		})
	}
}

func TestRenameMissing(t *testing.T) {
	root, run := t.TempDir(), t.TempDir()
	if _, err := Rename(root, run, strings.Repeat("c", 64), "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Rename of a missing container: %v", err)
	}
	if _, err := os.Stat(filepath.Join(namesDir(root), "x")); !os.IsNotExist(err) {
		t.Errorf("name reserved for a missing container: %v", err)
	}
}

// byName is the record named name (the name index's owner), as a lookup
// by name finds it.
func byName(root, name string) (*Container, error) {
	all, err := List(root)
	if err != nil {
		return nil, err
	}
	for _, c := range all {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, &NotFoundError{Ref: name}
}
