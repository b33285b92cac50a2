package archive

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A layer's whiteouts in each form a mode writes: ".wh.NAME" becomes a
// 0/0 device or an xattr whiteout (its dir then marked opaque=x), and no
// whiteout is left in an opaque dir, whether it came before or after the
// dir's mark.
func TestWhiteoutForms(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for a layer's owners")
	}
	layer := []entry{
		{name: "dir/", typ: '5'}, {name: "dir/.wh.gone"},
		{name: "opq/", typ: '5'}, {name: "opq/.wh.before"}, {name: "opq/.wh..wh..opq"}, {name: "opq/.wh.after"}, {name: "opq/new"},
	}
	for _, tt := range []struct {
		name       string
		o          ExtractOptions
		xattrForm  bool
		opaqueName string
	}{
		{"root", LayerOptions(false), false, "trusted.overlay.opaque"},
		{"user namespace", UserNSLayerOptions(false), false, "user.overlay.opaque"},
		{"user namespace, xattr whiteouts", UserNSLayerOptions(true), true, "user.overlay.opaque"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := ExtractDir(buildTar(t, layer), dir, tt.o); err != nil {
				t.Fatal(err)
			}
			var st unix.Stat_t
			gone := filepath.Join(dir, "dir/gone")
			if err := unix.Lstat(gone, &st); err != nil || !IsWhiteoutPath(gone, &st, tt.o.Rootless) {
				t.Errorf("dir/gone is no whiteout: %v", err)
			}
			if IsWhiteout(&st) == tt.xattrForm {
				t.Errorf("dir/gone a 0/0 device: %v, want the xattr form: %v", IsWhiteout(&st), tt.xattrForm)
			}
			v := make([]byte, 4)
			n, err := unix.Lgetxattr(filepath.Join(dir, "dir"), tt.opaqueName, v)
			if tt.xattrForm && (err != nil || string(v[:n]) != "x") {
				t.Errorf("dir's %s: %q, %v; want x", tt.opaqueName, v[:n], err)
			}
			if !tt.xattrForm && err == nil {
				t.Errorf("dir has %s %q", tt.opaqueName, v[:n])
			}
			if n, err := unix.Lgetxattr(filepath.Join(dir, "opq"), tt.opaqueName, v); err != nil || string(v[:n]) != "y" {
				t.Errorf("opq's %s: %q, %v; want y", tt.opaqueName, v[:n], err)
			}
			names, err := filepath.Glob(filepath.Join(dir, "opq", "*"))
			if err != nil || len(names) != 1 || filepath.Base(names[0]) != "new" {
				t.Errorf("opq holds %v, want only new", names)
			}
		})
	}
}
