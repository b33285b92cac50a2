package commands

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/state"
	"github.com/skiff-dev/skiff/volume"
)

func TestVolumeFilters(t *testing.T) {
	vs := []*volume.Volume{
		{Name: "data", Driver: "local", Labels: map[string]string{"app": "db", "tier": "back"}},
		{Name: "cache", Driver: "local", Labels: map[string]string{}},
		{Name: strings.Repeat("ab", 32), Driver: "local", Labels: map[string]string{volume.AnonymousLabel: ""}, Anonymous: true},
	}
	used := map[string]bool{"data": true}
	for _, tc := range []struct {
		filters []string
		want    string
		err     string
	}{
		{nil, "data cache abab", ""},
		{[]string{"dangling=true"}, "cache abab", ""},
		{[]string{"dangling=1"}, "cache abab", ""},
		{[]string{"dangling=false"}, "data", ""},
		{[]string{"name=^ca"}, "cache", ""},
		{[]string{"name=a"}, "data cache abab", ""},
		{[]string{"name=data", "name=cache"}, "data cache", ""},
		{[]string{"label=app"}, "data", ""},
		{[]string{"label=app=db", "label=tier=back"}, "data", ""},
		{[]string{"label=app=web"}, "", ""},
		{[]string{"label=" + volume.AnonymousLabel}, "abab", ""},
		{[]string{"driver=local", "dangling=false"}, "data", ""},
		{[]string{"driver=nfs"}, "", ""},
		{[]string{"dangling=maybe"}, "", "invalid filter 'dangling=maybe'"},
		{[]string{"until=1h"}, "", "invalid filter 'until'"},
		{[]string{"name"}, "", "bad format of filter (expected name=value)"},
		{[]string{"name=("}, "", "invalid filter 'name=('"},
	} {
		t.Run(strings.Join(tc.filters, ","), func(t *testing.T) {
			f, err := parseVolumeFilters(tc.filters, "dangling", "driver", "label", "name")
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vs {
				if f.match(v, used[v.Name]) {
					got = append(got, strings.TrimSuffix(v.Name, strings.Repeat("ab", 30)))
				}
			}
			if g := strings.Join(got, " "); g != tc.want {
				t.Errorf("got %q, want %q", g, tc.want)
			}
		})
	}
}

func TestVolumeLsTable(t *testing.T) {
	rows := []volumeRow{{Driver: "local", Name: "data", labels: map[string]string{"k": "v"}}}
	var b bytes.Buffer
	if err := printRows(&b, "table {{.Driver}}\t{{.Name}}", volumeHeader, rows); err != nil {
		t.Fatal(err)
	}
	if want := "DRIVER    VOLUME NAME\nlocal     data\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := printRows(&b, `{{.Name}} {{.Label "k"}}`, volumeHeader, rows); err != nil || b.String() != "data v\n" {
		t.Errorf("Label: %q %v", b.String(), err)
	}
}

// A volume a container uses is refused with and without -f, in docker's
// words; -f only forgives a missing volume.
func TestRemoveVolume(t *testing.T) {
	vs := volume.Store{Root: t.TempDir()}
	if _, err := vs.Create("data", volume.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		err := removeVolume(vs, "data", []string{"aaa", "bbb"}, force)
		if err == nil || err.Error() != "remove data: volume is in use - [aaa, bbb]" {
			t.Errorf("force=%v: %v", force, err)
		}
	}
	if _, err := vs.Get("data"); err != nil {
		t.Errorf("in-use volume removed: %v", err)
	}
	if err := removeVolume(vs, "nosuch", nil, false); !errors.Is(err, volume.ErrNotFound) || err.Error() != "get nosuch: no such volume" {
		t.Errorf("missing: %v", err)
	}
	if err := removeVolume(vs, "nosuch", nil, true); err != nil {
		t.Errorf("missing with -f: %v", err)
	}
	if err := removeVolume(vs, "data", nil, false); err != nil {
		t.Errorf("unused: %v", err)
	}
}

func TestPsVolumeFilter(t *testing.T) {
	ct := &state.Container{Host: state.Host{Mounts: []state.Mount{
		{Type: "volume", Name: "data", Source: "/r/volumes/data/_data", Destination: "/var/lib/db"},
		{Type: "bind", Source: "/srv/www", Destination: "/www"},
		{Type: "tmpfs", Destination: "/run"},
	}}}
	for v, want := range map[string]bool{
		"data": true, "/var/lib/db": true, "/srv/www": true, "/www": true, "/run": true,
		"/r/volumes/data/_data": false, "other": false, "": false,
	} {
		if got := matchOne("volume", v, ct); got != want {
			t.Errorf("volume=%s: %v, want %v", v, got, want)
		}
	}
}

func TestVolumeKeyValues(t *testing.T) {
	m := keyValues([]string{"type=none", "o=bind,ro", "bare", "device=/a=b"})
	if len(m) != 4 || m["type"] != "none" || m["o"] != "bind,ro" || m["bare"] != "" || m["device"] != "/a=b" {
		t.Errorf("keyValues = %v", m)
	}
	if keyValues(nil) == nil {
		t.Error("keyValues(nil) is nil: inspect would show null, docker shows {}")
	}
}
