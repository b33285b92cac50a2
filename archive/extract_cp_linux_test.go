package archive

// Hostile streams and planted links, as a docker cp into a container meets
// them, run against every mode of the extractor.

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func openPath(t *testing.T, dir string) int {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func TestExtractTarHostile(t *testing.T) {
	type entry struct {
		name, link string
		typ        byte
	}
	for _, c := range []struct {
		name    string
		entries []entry
	}{
		{"dot-dot name", []entry{{name: "../evil", typ: tar.TypeReg}}},
		{"write through a symlink entry", []entry{{name: "l", link: "/", typ: tar.TypeSymlink}, {name: "l/evil", typ: tar.TypeReg}}},
		{"write through a relative symlink entry", []entry{{name: "l", link: "..", typ: tar.TypeSymlink}, {name: "l/evil", typ: tar.TypeReg}}},
		{"hard link to outside", []entry{{name: "h", link: "../outside", typ: tar.TypeLink}}},
	} {
		for _, m := range extractModes() {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				parent := t.TempDir()
				os.WriteFile(filepath.Join(parent, "outside"), []byte("x"), 0o644)
				dst := filepath.Join(parent, "dst")
				os.Mkdir(dst, 0o755)
				var buf bytes.Buffer
				tw := tar.NewWriter(&buf)
				for _, e := range c.entries {
					tw.WriteHeader(&tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644})
				}
				tw.Close()
				if _, err := Extract(&buf, openPath(t, dst), m.o); err == nil {
					t.Errorf("extracted without error")
				}
				if _, err := os.Lstat(filepath.Join(parent, "evil")); err == nil {
					t.Errorf("wrote outside the destination")
				}
				if _, err := os.Lstat("/evil"); err == nil {
					t.Errorf("wrote /evil on the host")
				}
			})
		}
	}
}

// A link already at the destination is replaced by the copy, not written
// through (docker removes a non-directory in the way).
func TestExtractReplacesPlantedLeafLink(t *testing.T) {
	for _, m := range extractModes() {
		t.Run(m.name, func(t *testing.T) {
			parent := t.TempDir()
			victim := filepath.Join(parent, "victim")
			os.WriteFile(victim, []byte("victim\n"), 0o644)
			dst := filepath.Join(parent, "dst")
			os.Mkdir(dst, 0o755)
			os.Symlink(victim, filepath.Join(dst, "f"))
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			tw.WriteHeader(&tar.Header{Name: "f", Typeflag: tar.TypeReg, Mode: 0o644, Size: 4})
			tw.Write([]byte("new\n"))
			tw.Close()
			if _, err := Extract(&buf, openPath(t, dst), m.o); err != nil {
				t.Fatal(err)
			}
			if b, _ := os.ReadFile(victim); string(b) != "victim\n" {
				t.Errorf("the link's target was written: %q", b)
			}
			if b, _ := os.ReadFile(filepath.Join(dst, "f")); string(b) != "new\n" {
				t.Errorf("dst/f has %q", b)
			}
		})
	}
}

// TestExtractDirReplacedByLink: a directory entry later replaced by a
// symlink of the same name must not have its pending mode and times set
// through that link: the link's target (here outside the destination)
// keeps its own.
func TestExtractDirReplacedByLink(t *testing.T) {
	parent := t.TempDir()
	victim := filepath.Join(parent, "victim")
	os.WriteFile(victim, []byte("v"), 0o600)
	dst := filepath.Join(parent, "dst")
	os.Mkdir(dst, 0o755)
	r := buildTar(t, []entry{
		{name: "d/", typ: tar.TypeDir, mode: 0o777},
		{name: "d", typ: tar.TypeSymlink, link: victim},
	})
	if _, err := Extract(r, openPath(t, dst), LayerOptions(os.Geteuid() != 0)); err != nil {
		t.Fatal(err)
	}
	if st := lstat(t, victim); st.Mode&0o7777 != 0o600 {
		t.Errorf("the link's target got mode %o: the replaced dir's mode went through the link", st.Mode&0o7777)
	}
	if l, err := os.Readlink(filepath.Join(dst, "d")); err != nil || l != victim {
		t.Errorf("d -> %q, %v", l, err)
	}
}

// TestExtractCpRules: what a cp stream gets that a layer does not.
func TestExtractCpRules(t *testing.T) {
	t.Run("a directory in the way of a file is an error", func(t *testing.T) {
		dst := t.TempDir()
		os.MkdirAll(filepath.Join(dst, "d", "keep"), 0o755)
		_, err := Extract(buildTar(t, []entry{{name: "d", body: "x"}}), openPath(t, dst), ExtractOptions{})
		if err == nil || !strings.Contains(err.Error(), "cannot overwrite a directory with a non-directory") {
			t.Fatalf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Join(dst, "d", "keep")); err != nil {
			t.Errorf("the directory was removed: %v", err)
		}
	})
	t.Run("the destination keeps its mode and times", func(t *testing.T) {
		dst := t.TempDir()
		os.Chmod(dst, 0o711)
		r := buildTar(t, []entry{{name: "./", typ: tar.TypeDir, mode: 0o777, mtime: time.Unix(1, 0)}, {name: "./f", body: "x"}})
		if _, err := Extract(r, openPath(t, dst), ExtractOptions{}); err != nil {
			t.Fatal(err)
		}
		if st := lstat(t, dst); st.Mode&0o7777 != 0o711 || st.Mtim.Sec == 1 {
			t.Errorf("destination mode %o mtime %d: the root entry was applied", st.Mode&0o7777, st.Mtim.Sec)
		}
	})
	t.Run("whiteout names are plain files", func(t *testing.T) {
		dst := t.TempDir()
		r := buildTar(t, []entry{{name: ".wh.x", body: "w"}, {name: ".wh..wh..opq", body: "o"}})
		if _, err := Extract(r, openPath(t, dst), ExtractOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{".wh.x", ".wh..wh..opq"} {
			if st := lstat(t, filepath.Join(dst, n)); st.Mode&unix.S_IFMT != unix.S_IFREG {
				t.Errorf("%s mode %o, want a regular file", n, st.Mode)
			}
		}
	})
}
