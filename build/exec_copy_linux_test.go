package build

import (
	"archive/tar"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// A COPY destination through a link resolves inside the image's root,
// whatever the link says: a hostile base image cannot aim a layer entry
// outside it (the layer path would then write it into the store).
func TestExecResolveInRoot(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"usr/lib", "real"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"lib":    "usr/lib",
		"abs":    "/real",
		"escape": "../../../../etc",
		"loop":   "loop",
		"chain":  "abs",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := unix.Open(root, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	tests := []struct{ in, want string }{
		{"/lib/x", "usr/lib/x"},
		{"/abs/sub/", "real/sub"},
		{"/chain", "real"},
		{"/escape/passwd", "etc/passwd"},
		{"/../../x", "x"},
		{"/missing/a/b", "missing/a/b"},
		{"/", ""},
	}
	for _, tt := range tests {
		got, err := resolveInRoot(fd, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("resolveInRoot(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := resolveInRoot(fd, "/loop/x"); err == nil {
		t.Error("a link loop resolved")
	}
}

// An ADD archive's or another image's entries stay under the destination.
func TestExecRebaseEntry(t *testing.T) {
	tests := []struct {
		hdr              tar.Header
		wantName, wantLn string
	}{
		{tar.Header{Name: "a/b", Typeflag: tar.TypeReg}, "dst/a/b", ""},
		{tar.Header{Name: "../../etc/passwd", Typeflag: tar.TypeReg}, "dst/etc/passwd", ""},
		{tar.Header{Name: "/abs/d/", Typeflag: tar.TypeDir}, "dst/abs/d/", ""},
		{tar.Header{Name: "l", Typeflag: tar.TypeLink, Linkname: "../../x"}, "dst/l", "dst/x"},
		{tar.Header{Name: "s", Typeflag: tar.TypeSymlink, Linkname: "../../x"}, "dst/s", "../../x"},
	}
	for _, tt := range tests {
		h := tt.hdr
		if err := rebaseEntry(&h, "dst"); err != nil {
			t.Fatalf("%s: %v", tt.hdr.Name, err)
		}
		if h.Name != tt.wantName || h.Linkname != tt.wantLn {
			t.Errorf("%s -> %q (link %q), want %q (link %q)", tt.hdr.Name, h.Name, h.Linkname, tt.wantName, tt.wantLn)
		}
	}
	h := tar.Header{Name: "..", Typeflag: tar.TypeDir}
	if err := rebaseEntry(&h, ""); err == nil {
		t.Errorf("an entry naming the destination itself was kept: %q", h.Name)
	}
}
