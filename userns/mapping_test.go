package userns

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestMappingIsPodmans(t *testing.T) {
	alice := User{Name: "alice", UID: 1000, GID: 100}
	for _, tc := range []struct {
		name       string
		uids, gids []Range
		wantU      []specs.LinuxIDMapping
		wantG      []specs.LinuxIDMapping
	}{
		{
			name: "one range each",
			uids: []Range{{100000, 65536}}, gids: []Range{{200000, 65536}},
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}, {ContainerID: 1, HostID: 200000, Size: 65536}},
		},
		{
			name: "ranges follow each other in file order",
			uids: []Range{{300000, 10}, {100000, 65536}}, gids: []Range{{100000, 5}},
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 10}, {ContainerID: 11, HostID: 100000, Size: 65536}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 5}},
		},
		{
			name:  "no ranges: single-id mapping",
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}},
		},
		{
			name:  "uids only",
			uids:  []Range{{100000, 65536}},
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 100000, Size: 65536}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}},
		},
		{
			name:  "the container side stops below id -1",
			uids:  []Range{{1 << 31, 1 << 31}, {5000, 1000}},
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 1 << 31, Size: 1 << 31}, {ContainerID: 1<<31 + 1, HostID: 5000, Size: 1000}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}},
		},
		{
			name:  "the container side is full",
			uids:  []Range{{0, 0xffffffff}, {5000, 1000}},
			wantU: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 0, Size: 0xfffffffe}},
			wantG: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100, Size: 1}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := Subordinate{User: alice, UIDs: tc.uids, GIDs: tc.gids}.Mapping()
			if diff := cmp.Diff(tc.wantU, m.UIDs); diff != "" {
				t.Errorf("uids (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantG, m.GIDs); diff != "" {
				t.Errorf("gids (-want +got):\n%s", diff)
			}
			if m.User != alice {
				t.Errorf("user %v, want %v", m.User, alice)
			}
			if got, want := Single(m.UIDs), len(tc.uids) == 0; got != want {
				t.Errorf("Single(uids) = %v, want %v", got, want)
			}
		})
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	files := Files{SubUID: filepath.Join(dir, "subuid"), SubGID: filepath.Join(dir, "subgid")}
	write(t, files.SubUID, "bob:100000:65536\nalice:165536:65536\n")
	write(t, files.SubGID, "1000:300000:100\n")
	alice := User{Name: "alice", UID: 1000, GID: 1000}
	s, err := Read(alice, files)
	if err != nil {
		t.Fatal(err)
	}
	want := Subordinate{User: alice, Files: files, UIDs: []Range{{165536, 65536}}, GIDs: []Range{{300000, 100}}}
	if diff := cmp.Diff(want, s); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIDTranslation(t *testing.T) {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 300000, Size: 10}, {ContainerID: 11, HostID: 100000, Size: 65536}}
	for _, tc := range []struct {
		container, host uint32
		mapped          bool
	}{
		{0, 1000, true},
		{1, 300000, true},
		{10, 300009, true},
		{11, 100000, true},
		{1000, 100989, true},
		{65546, 165535, true},
		{65547, 0, false},
	} {
		host, ok := HostID(maps, tc.container)
		if host != tc.host || ok != tc.mapped {
			t.Errorf("HostID(%d) = %d, %v; want %d, %v", tc.container, host, ok, tc.host, tc.mapped)
		}
		if !tc.mapped {
			continue
		}
		back, ok := ContainerID(maps, tc.host)
		if back != tc.container || !ok {
			t.Errorf("ContainerID(%d) = %d, %v; want %d, true", tc.host, back, ok, tc.container)
		}
	}
	for _, host := range []uint32{0, 999, 1001, 299999, 300010, 99999, 165536} {
		if c, ok := ContainerID(maps, host); ok {
			t.Errorf("ContainerID(%d) = %d, true; host id is not mapped", host, c)
		}
	}
	if got := MaxID(maps); got != 65546 {
		t.Errorf("MaxID = %d, want 65546", got)
	}
	if got := MaxID(maps[:1]); got != 0 {
		t.Errorf("MaxID(single) = %d, want 0", got)
	}
	full := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}, {ContainerID: 1, HostID: 0, Size: 0xfffffffe}}
	if got := MaxID(full); got != 0xfffffffe {
		t.Errorf("MaxID(full) = %#x, want 0xfffffffe", got)
	}
	if h, ok := HostID(full, 0xfffffffe); !ok || h != 0xfffffffd {
		t.Errorf("HostID(full, top) = %#x, %v", h, ok)
	}
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
