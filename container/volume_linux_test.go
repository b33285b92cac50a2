package container

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-dev/skiff/state"
)

// TestWritableAt: docker's refusals of a copy into a read-only volume or
// root, the deepest mount holding the path deciding.
func TestWritableAt(t *testing.T) {
	c := &state.Container{Host: state.Host{ReadonlyRootfs: true, Mounts: []state.Mount{
		{Type: "volume", Destination: "/data"},
		{Type: "bind", Destination: "/data/ro", ReadOnly: true},
		{Type: "bind", Destination: "/cfg", ReadOnly: true},
	}}}
	for _, tt := range []struct {
		dst  string
		want error
	}{
		{"/data", nil}, {"data/sub/", nil}, {"/data/ro", errVolumeReadonly}, {"/data/ro/x", errVolumeReadonly},
		{"/cfg/../data/x", nil}, {"/cfg", errVolumeReadonly}, {"/cfgx", errRootfsReadonly}, {"/", errRootfsReadonly},
	} {
		if err := writableAt(c, tt.dst); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.dst, err, tt.want)
		}
	}
	c.Host.ReadonlyRootfs = false
	if err := writableAt(c, "/etc"); err != nil {
		t.Errorf("/etc of a writable root: %v", err)
	}
}

// TestWriteChangesLeavesMountsOut: commit writes nothing at or under a
// mount point (what the init made to mount over, what a mount hid), and
// keeps a sibling whose name shares the prefix.
func TestWriteChangesLeavesMountsOut(t *testing.T) {
	root := t.TempDir()
	c := &state.Container{ID: strings.Repeat("a", 64), Host: state.Host{Mounts: []state.Mount{
		{Type: "volume", Destination: "/data"}, {Type: "bind", Destination: "/etc/app.conf"}, {Type: "tmpfs", Destination: "/run/t"},
	}}}
	upper := filepath.Join(root, "containers", c.ID, "upper")
	for _, d := range []string{"data/sub", "etc", "run/t", "data2"} {
		if err := os.MkdirAll(filepath.Join(upper, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"data/hidden", "data/sub/x", "etc/app.conf", "etc/passwd", "data2/kept"} {
		if err := os.WriteFile(filepath.Join(upper, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var b bytes.Buffer
	if err := (Store{Root: root}).WriteChanges(&b, c); err != nil {
		t.Fatal(err)
	}
	var got []string
	tr := tar.NewReader(&b)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name)
	}
	want := []string{"data2/", "data2/kept", "etc/", "etc/passwd", "run/"}
	if !slices.Equal(got, want) {
		t.Errorf("layer holds %q, want %q", got, want)
	}
}
