package archive

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

type tarEntry struct {
	typ  byte
	body string
	link string
}

func readTar(t *testing.T, b []byte) map[string]tarEntry {
	t.Helper()
	got := map[string]tarEntry{}
	tr := tar.NewReader(bytes.NewReader(b))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(tr)
		got[h.Name] = tarEntry{h.Typeflag, string(body), h.Linkname}
	}
}

// TestWriteTarOverlay: an overlay upper dir becomes an OCI layer.
func TestWriteTarOverlay(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("whiteouts are 0/0 char devices and opaque marks trusted.* xattrs: root only")
	}
	upper := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(upper, "etc", "opq"), 0o755))
	must(os.WriteFile(filepath.Join(upper, "etc", "changed"), []byte("v2"), 0o600))
	must(os.WriteFile(filepath.Join(upper, "new"), []byte("new"), 0o644))
	must(os.WriteFile(filepath.Join(upper, "etc", "opq", "kept"), []byte("k"), 0o644))
	must(os.Link(filepath.Join(upper, "new"), filepath.Join(upper, "new2")))
	must(os.Symlink("/etc/passwd", filepath.Join(upper, "link")))
	must(unix.Mknod(filepath.Join(upper, "etc", "deleted"), unix.S_IFCHR, 0))
	must(unix.Setxattr(filepath.Join(upper, "etc", "opq"), "trusted.overlay.opaque", []byte("y"), 0))

	var buf bytes.Buffer
	must(WriteDir(&buf, upper, WriteOptions{Overlay: true}))
	got := readTar(t, buf.Bytes())
	tests := []struct {
		name string
		want tarEntry
	}{
		{"file deleted", tarEntry{typ: tar.TypeReg}},
		{"dir opaque", tarEntry{typ: tar.TypeReg}},
		{"new file", tarEntry{typ: tar.TypeReg, body: "new"}},
		{"changed file", tarEntry{typ: tar.TypeReg, body: "v2"}},
		{"hardlink", tarEntry{typ: tar.TypeLink, link: "new"}},
		{"symlink kept as is", tarEntry{typ: tar.TypeSymlink, link: "/etc/passwd"}},
		{"opaque dir's own file", tarEntry{typ: tar.TypeReg, body: "k"}},
	}
	paths := []string{"etc/.wh.deleted", "etc/opq/.wh..wh..opq", "new", "etc/changed", "new2", "link", "etc/opq/kept"}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, ok := got[paths[i]]
			if !ok {
				t.Fatalf("no entry %s in %v", paths[i], got)
			}
			if e != tt.want {
				t.Fatalf("%s: got %+v, want %+v", paths[i], e, tt.want)
			}
		})
	}
	if _, ok := got["etc/deleted"]; ok {
		t.Error("the whiteout device itself was archived")
	}
	if len(got) != len(paths)+2 { // + etc/, etc/opq/
		t.Errorf("got %d entries, want %d: %v", len(got), len(paths)+2, got)
	}

	// Extracted again, the layer turns back into the same overlay markers.
	out := t.TempDir()
	if _, err := ExtractDir(bytes.NewReader(buf.Bytes()), out, LayerOptions(false)); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(filepath.Join(out, "etc", "deleted"), &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR {
		t.Errorf("whiteout did not round-trip: %v", err)
	}
	v := make([]byte, 4)
	if n, err := unix.Getxattr(filepath.Join(out, "etc", "opq"), "trusted.overlay.opaque", v); err != nil || string(v[:n]) != "y" {
		t.Errorf("opaque dir did not round-trip: %v", err)
	}
}

// Without Overlay a 0/0 char device is just a device and nothing is opaque.
func TestWriteTarPlain(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "f"), []byte("x"), 0o644)
	var buf bytes.Buffer
	if err := WriteDir(&buf, dir, WriteOptions{}); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	want := map[string]tarEntry{"d/": {typ: tar.TypeDir}, "d/f": {typ: tar.TypeReg, body: "x"}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %+v, want %+v", k, got[k], w)
		}
	}
}

func TestWriteTarSkip(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "etc"), 0o755)
	os.WriteFile(filepath.Join(dir, "etc", "hosts"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "etc", "keep"), []byte("k"), 0o644)
	var buf bytes.Buffer
	skip := func(rel string, mode uint32, size int64) bool { return rel == "etc/hosts" && size == 0 }
	if err := WriteDir(&buf, dir, WriteOptions{Skip: skip}); err != nil {
		t.Fatal(err)
	}
	got := readTar(t, buf.Bytes())
	if _, ok := got["etc/hosts"]; ok || len(got) != 2 {
		t.Fatalf("got %v, want etc/ and etc/keep", got)
	}
}

// TestWriteRebase: cp's shape: the root entry named as the copy, names
// below it prefixed, a file or a link written as itself.
func TestWriteRebase(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	os.WriteFile(filepath.Join(dir, "d", "f"), []byte("x"), 0o644)
	os.Symlink("/etc/passwd", filepath.Join(dir, "l"))
	write := func(p string, o WriteOptions) map[string]tarEntry {
		t.Helper()
		fd, err := unix.Open(p, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		var buf bytes.Buffer
		if err := Write(&buf, fd, o); err != nil {
			t.Fatal(err)
		}
		return readTar(t, buf.Bytes())
	}
	for _, c := range []struct {
		name string
		path string
		o    WriteOptions
		want map[string]tarEntry
	}{
		{"dir", dir, WriteOptions{Rebase: "data"}, map[string]tarEntry{
			"data/": {typ: tar.TypeDir}, "data/d/": {typ: tar.TypeDir}, "data/d/f": {typ: tar.TypeReg, body: "x"},
			"data/l": {typ: tar.TypeSymlink, link: "/etc/passwd"},
		}},
		{"file", filepath.Join(dir, "d", "f"), WriteOptions{Rebase: "g"}, map[string]tarEntry{"g": {typ: tar.TypeReg, body: "x"}}},
		{"link itself", filepath.Join(dir, "l"), WriteOptions{Rebase: "m"}, map[string]tarEntry{"m": {typ: tar.TypeSymlink, link: "/etc/passwd"}}},
		{"kernel filesystem written empty", "/proc", WriteOptions{Rebase: "proc"}, map[string]tarEntry{"proc/": {typ: tar.TypeDir}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := write(c.path, c.o)
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for k, w := range c.want {
				if got[k] != w {
					t.Errorf("%s: got %+v, want %+v", k, got[k], w)
				}
			}
		})
	}
}

// TestWriteSameMount: export's rule: another mount below the root is
// written as an empty directory.
func TestWriteSameMount(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "mnt")
	os.Mkdir(sub, 0o755)
	if err := unix.Mount("tmpfs", sub, "tmpfs", 0, ""); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	defer unix.Unmount(sub, unix.MNT_DETACH)
	os.WriteFile(filepath.Join(sub, "hidden"), []byte("h"), 0o644)
	for _, same := range []bool{true, false} {
		var buf bytes.Buffer
		if err := WriteDir(&buf, dir, WriteOptions{SameMount: same}); err != nil {
			t.Fatal(err)
		}
		got := readTar(t, buf.Bytes())
		if _, ok := got["mnt/"]; !ok {
			t.Errorf("SameMount=%v: no mnt/ entry in %v", same, got)
		}
		if _, ok := got["mnt/hidden"]; ok == same {
			t.Errorf("SameMount=%v: mnt/hidden written %v", same, ok)
		}
	}
}
