package e2e

import (
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
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

// TestI7RefsImagesFilterAndFormat: docker's images --filter keys, the
// `rmi $(images -qf dangling=true)` idiom, --format json and the
// .Containers / .VirtualSize fields.
func TestI7RefsImagesFilterAndFormat(t *testing.T) {
	requireEnv(t)
	s := newStore(t)
	s.must(t, "pull", "-q", fx.busybox)
	s.must(t, "pull", "-q", fx.stopsig) // labelled e2e.fixture=stopsig
	ctr := strings.TrimSpace(s.must(t, "create", fx.busybox, "true").stdout)
	dangling := hexOf(strings.TrimSpace(s.must(t, "commit", ctr).stdout))[:12] // no name: <none>:<none>, created now
	s.must(t, "rm", ctr)
	bb, stopsig := fx.busybox[:strings.LastIndex(fx.busybox, ":")], fx.stopsig[:strings.LastIndex(fx.stopsig, ":")]

	tests := []struct {
		filters []string
		want    []string // REPOSITORY of each row
	}{
		{[]string{"dangling=true"}, []string{"<none>"}},
		{[]string{"dangling=false"}, []string{bb, stopsig}},
		{[]string{"reference=" + reg.Addr + "/library/busy*"}, []string{bb}},
		{[]string{"reference=" + bb + ":latest"}, []string{bb}},
		{[]string{"reference=nothing*", "reference=" + stopsig}, []string{stopsig}},
		{[]string{"label=e2e.fixture"}, []string{stopsig}},
		{[]string{"label=e2e.fixture=stopsig"}, []string{stopsig}},
		{[]string{"label=e2e.fixture=other"}, nil},
		{[]string{"since=" + fx.busybox}, []string{"<none>"}},
		{[]string{"before=" + dangling}, []string{bb, stopsig}},
		{[]string{"before=" + dangling, "label=e2e.fixture"}, []string{stopsig}},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.filters, ","), func(t *testing.T) {
			args := []string{"images", "--format", "{{.Repository}}"}
			for _, f := range tt.filters {
				args = append(args, "--filter", f)
			}
			got := strings.Fields(s.must(t, args...).stdout)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("images %q: %q, want %q", tt.filters, got, tt.want)
			}
		})
	}

	t.Run("unknown key", func(t *testing.T) {
		r := s.skiff(nil, "images", "-f", "bogus=1")
		oneLineError(t, r, 1)
		if strings.TrimSpace(r.stderr) != "skiff: invalid filter 'bogus'" {
			t.Errorf("stderr %q, want docker's \"invalid filter 'bogus'\"", r.stderr)
		}
	})
	t.Run("format json", func(t *testing.T) {
		lines := strings.Split(strings.TrimSpace(s.must(t, "images", "--format", "json").stdout), "\n")
		if len(lines) != 3 {
			t.Fatalf("want one JSON line per image row (3), got %q", lines)
		}
		isSize := regexp.MustCompile(`^[0-9.]+[kMG]?B$`)
		keys := []string{"Containers", "CreatedAt", "CreatedSince", "Digest", "ID", "Repository", "SharedSize", "Size", "Tag", "UniqueSize", "VirtualSize"}
		for _, l := range lines {
			var m map[string]string
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatalf("not one JSON object: %q: %v", l, err)
			}
			if got := slices.Sorted(maps.Keys(m)); !slices.Equal(got, keys) {
				t.Errorf("keys %q, want docker's %q", got, keys)
			}
			if m["Containers"] != "N/A" || !regexp.MustCompile(`^[0-9a-f]{12}$`).MatchString(m["ID"]) || !isSize.MatchString(m["VirtualSize"]) {
				t.Errorf("row %q: want Containers N/A (as docker's images), a short ID, a VirtualSize", l)
			}
		}
	})
	t.Run("containers and virtual size", func(t *testing.T) {
		got := s.must(t, "images", "--format", "{{.Containers}} {{.VirtualSize}}", fx.busybox).stdout
		if !regexp.MustCompile(`^N/A [0-9.]+[kMG]?B\n$`).MatchString(got) {
			t.Errorf("{{.Containers}} {{.VirtualSize}} = %q, want docker's \"N/A <size>\"", got)
		}
	})
	t.Run("rmi of dangling ids", func(t *testing.T) {
		ids := strings.Fields(s.must(t, "images", "-qf", "dangling=true").stdout)
		if !slices.Equal(ids, []string{dangling}) {
			t.Fatalf("images -qf dangling=true: %q, want [%s]", ids, dangling)
		}
		s.must(t, append([]string{"rmi"}, ids...)...)
		if got := s.must(t, "images", "-qf", "dangling=true").stdout; got != "" {
			t.Errorf("dangling images after rmi: %q", got)
		}
	})
}
