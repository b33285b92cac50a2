package e2e

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// TestI7RefsRmiForceKeepsImageOfContainer: rmi -f of an image a stopped
// container uses, by name and by id, untags it and keeps it as a dangling
// image; the container still starts and commits with its own file; once
// the container is gone the dangling image and every layer go with rmi.
func TestI7RefsRmiForceKeepsImageOfContainer(t *testing.T) {
	requireEnv(t)
	for _, by := range []string{"name", "id"} {
		t.Run("by "+by, func(t *testing.T) {
			s := newStore(t)
			s.must(t, "pull", "-q", fx.multi)
			id := strings.TrimSpace(s.must(t, "image", "inspect", "--format", "{{.Id}}", fx.multi).stdout)
			idShort := hexOf(id)[:12]
			s.must(t, "run", "--name", "c", fx.multi, "sh", "-c", "echo kept >> /marker")
			arg := fx.multi
			if by == "id" {
				arg = idShort
			}
			r := s.must(t, "rmi", "-f", arg)
			if want := "Untagged: " + fx.multi + "\n"; !strings.HasPrefix(r.stdout, want) || strings.Contains(r.stdout, "Deleted:") {
				t.Errorf("rmi -f of a used image: stdout %q, want %q and nothing deleted", r.stdout, want)
			}
			rows := s.imageRows(t)
			if len(rows) != 1 || rows[0][0] != "<none>" || rows[0][1] != "<none>" || rows[0][2] != idShort {
				t.Errorf("images after rmi -f: %q, want one row <none> <none> %s", rows, idShort)
			}
			if r := s.skiff(nil, "start", "-a", "c"); r.code != 0 {
				t.Fatalf("start -a c after rmi -f: %v", r)
			}
			committed := strings.TrimSpace(s.must(t, "commit", "c").stdout)
			if got := s.must(t, "run", "--rm", committed, "cat", "/marker").stdout; got != "kept\nkept\n" {
				t.Errorf("the container's file in its commit: %q, want two runs' lines", got)
			}
			s.must(t, "rmi", committed)
			if r := s.skiff(nil, "rmi", "-f", idShort); r.code != 1 || !strings.Contains(r.stderr, "(cannot be forced) - image is being used by container") {
				t.Errorf("rmi -f of the dangling image while c uses it: %v", r)
			}
			s.must(t, "rm", "c")
			r = s.must(t, "rmi", idShort)
			if !strings.Contains(r.stdout, "Deleted: "+id) {
				t.Errorf("rmi of the dangling image after rm: %q", r.stdout)
			}
			if rows := s.imageRows(t); len(rows) != 0 {
				t.Errorf("images at the end: %q", rows)
			}
			if got := s.layerDirs(t); len(got) != 0 {
				t.Errorf("layers/ at the end: %v, want nothing no image needs", got)
			}
		})
	}
}

// TestI7RefsRmiForceRacesCreate: rmi -f while a container is being created
// from the image: either the create fails (the image was gone first) or
// the container's image stays and it starts.
func TestI7RefsRmiForceRacesCreate(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	for i := range 6 {
		tag := fmt.Sprintf("mine/race:%d", i)
		s.must(t, "pull", "-q", fx.multi)
		s.must(t, "tag", fx.multi, tag)
		s.must(t, "rmi", fx.multi)
		var create, rmi result
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); create = s.skiff(nil, "create", "--pull", "never", tag, "true") }()
		go func() { defer wg.Done(); rmi = s.skiff(nil, "rmi", "-f", tag) }()
		wg.Wait()
		if rmi.code != 0 {
			t.Fatalf("rmi -f %s: %v", tag, rmi)
		}
		if create.code != 0 {
			continue // the image was removed first
		}
		ctr := strings.TrimSpace(create.stdout)
		if r := s.skiff(nil, "start", "-a", ctr); r.code != 0 {
			t.Errorf("round %d: a container created while rmi -f ran cannot start: %v", i, r)
		}
		s.must(t, "rm", ctr)
	}
}
