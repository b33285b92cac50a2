package archive

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

// entry is a tar entry for table tests; zero fields get sane defaults.
type entry struct {
	name, link string
	typ        byte
	body       string
	mode       int64
	uid, gid   int
	xattrs     map[string]string
	major      int64
	mtime      time.Time
}

func buildTar(t *testing.T, entries []entry) *bytes.Reader {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid, ModTime: e.mtime, Devmajor: e.major, Format: tar.FormatPAX}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.ModTime.IsZero() {
			h.ModTime = time.Unix(1e9, 0)
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		for k, v := range e.xattrs {
			if h.PAXRecords == nil {
				h.PAXRecords = map[string]string{}
			}
			h.PAXRecords["SCHILY.xattr."+k] = v
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			tw.Write([]byte(e.body))
		}
	}
	tw.Close()
	return bytes.NewReader(b.Bytes())
}

// extractModes are the extractor's callers: an image layer (pull, import)
// and docker cp into a container (plain and -a).
func extractModes() []struct {
	name string
	o    ExtractOptions
} {
	return []struct {
		name string
		o    ExtractOptions
	}{
		{"layer", LayerOptions(os.Geteuid() != 0)},
		{"cp", ExtractOptions{}},
		{"cp -a", ExtractOptions{Chown: os.Geteuid() == 0}},
	}
}

func lstat(t *testing.T, p string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Lstat(p, &st); err != nil {
		t.Fatalf("lstat %s: %v", p, err)
	}
	return &st
}

func TestExtractLayer(t *testing.T) {
	root := os.Geteuid() == 0
	mtime := time.Unix(1234567890, 0)
	tests := []struct {
		name    string
		entries []entry
		wantErr string
		check   func(t *testing.T, dir string)
	}{
		{
			name: "files dirs symlinks hardlinks",
			entries: []entry{
				{name: "etc/", typ: tar.TypeDir, mode: 0o750, mtime: mtime},
				{name: "etc/passwd", body: "root:x:0:0\n", mode: 0o600},
				{name: "etc/link", typ: tar.TypeLink, link: "etc/passwd"},
				{name: "etc/sym", typ: tar.TypeSymlink, link: "/etc/shadow-outside"},
				{name: "./usr/bin/tool", body: "x", mode: 0o4755},
			},
			check: func(t *testing.T, dir string) {
				b, err := os.ReadFile(filepath.Join(dir, "etc/passwd"))
				if err != nil || string(b) != "root:x:0:0\n" {
					t.Errorf("etc/passwd = %q, %v", b, err)
				}
				if st := lstat(t, filepath.Join(dir, "etc/passwd")); st.Mode&0o7777 != 0o600 || st.Nlink != 2 {
					t.Errorf("etc/passwd mode %o nlink %d, want 600 and 2", st.Mode&0o7777, st.Nlink)
				}
				if l, _ := os.Readlink(filepath.Join(dir, "etc/sym")); l != "/etc/shadow-outside" {
					t.Errorf("etc/sym -> %q", l)
				}
				st := lstat(t, filepath.Join(dir, "etc"))
				if st.Mode&0o7777 != 0o750 || st.Mtim.Sec != mtime.Unix() {
					t.Errorf("etc mode %o mtime %d, want 750 and %d (set after its contents)", st.Mode&0o7777, st.Mtim.Sec, mtime.Unix())
				}
				if st := lstat(t, filepath.Join(dir, "usr/bin/tool")); st.Mode&0o7777 != 0o4755 {
					t.Errorf("setuid tool mode %o", st.Mode&0o7777)
				}
			},
		},
		{
			name:    "dotdot name",
			entries: []entry{{name: "../evil", body: "x"}},
			wantErr: `"../evil": name contains ".."`,
		},
		{
			name:    "dotdot in the middle",
			entries: []entry{{name: "a/../../evil", body: "x"}},
			wantErr: `name contains ".."`,
		},
		{
			name:    "absolute name stays inside",
			entries: []entry{{name: "/abs/file", body: "x"}},
			check: func(t *testing.T, dir string) {
				if _, err := os.Stat(filepath.Join(dir, "abs/file")); err != nil {
					t.Error(err)
				}
			},
		},
		{
			name: "write through an absolute symlink",
			entries: []entry{
				{name: "a", typ: tar.TypeSymlink, link: "/tmp"},
				{name: "a/evil", body: "x"},
			},
			wantErr: "a/evil: a is a symlink or not a directory",
		},
		{
			name: "write through a relative symlink",
			entries: []entry{
				{name: "d/", typ: tar.TypeDir},
				{name: "d/up", typ: tar.TypeSymlink, link: "../.."},
				{name: "d/up/evil", body: "x"},
			},
			wantErr: "d/up is a symlink",
		},
		{
			name:    "hardlink to outside",
			entries: []entry{{name: "h", typ: tar.TypeLink, link: "../../etc/passwd"}},
			wantErr: `hardlink target "../../etc/passwd": name contains ".."`,
		},
		{
			name: "hardlink through a symlink",
			entries: []entry{
				{name: "s", typ: tar.TypeSymlink, link: "/etc"},
				{name: "h", typ: tar.TypeLink, link: "s/passwd"},
			},
			wantErr: "s is a symlink",
		},
		{
			name: "hardlink to a symlink links the symlink",
			entries: []entry{
				{name: "s", typ: tar.TypeSymlink, link: "/etc/passwd"},
				{name: "h", typ: tar.TypeLink, link: "s"},
			},
			check: func(t *testing.T, dir string) {
				if l, err := os.Readlink(filepath.Join(dir, "h")); err != nil || l != "/etc/passwd" {
					t.Errorf("h -> %q, %v; want the symlink itself", l, err)
				}
			},
		},
		{
			name: "whiteout and opaque dir",
			entries: []entry{
				{name: "etc/.wh.gone", body: ""},
				{name: "var/", typ: tar.TypeDir},
				{name: "var/.wh..wh..opq", body: ""},
				{name: "var/new", body: "n"},
			},
			check: func(t *testing.T, dir string) {
				if !root {
					return
				}
				st := lstat(t, filepath.Join(dir, "etc/gone"))
				if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
					t.Errorf("etc/gone mode %o rdev %d, want a 0/0 char device", st.Mode, st.Rdev)
				}
				if _, err := os.Lstat(filepath.Join(dir, "etc/.wh.gone")); err == nil {
					t.Error("the .wh. entry itself was extracted")
				}
				buf := make([]byte, 8)
				n, err := unix.Lgetxattr(filepath.Join(dir, "var"), "trusted.overlay.opaque", buf)
				if err != nil || string(buf[:n]) != "y" {
					t.Errorf("var opaque xattr = %q, %v", buf[:n], err)
				}
				if _, err := os.Lstat(filepath.Join(dir, "var/.wh..wh..opq")); err == nil {
					t.Error("the opaque marker itself was extracted")
				}
			},
		},
		{
			name: "aufs bookkeeping is dropped",
			entries: []entry{
				{name: ".wh..wh.plnk/", typ: tar.TypeDir},
				{name: ".wh..wh.plnk/123.456", body: "x"},
				{name: ".wh..wh.aufs", body: ""},
				{name: "kept", body: "k"},
			},
			check: func(t *testing.T, dir string) {
				ents, _ := os.ReadDir(dir)
				if len(ents) != 1 || ents[0].Name() != "kept" {
					t.Errorf("layer holds %v, want only kept", ents)
				}
			},
		},
		{
			name: "device node and fifo",
			entries: []entry{
				{name: "dev/null", typ: tar.TypeChar, major: 1, mode: 0o666},
				{name: "run/fifo", typ: tar.TypeFifo, mode: 0o600},
			},
			check: func(t *testing.T, dir string) {
				if root {
					st := lstat(t, filepath.Join(dir, "dev/null"))
					if st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || st.Mode&0o777 != 0o666 {
						t.Errorf("dev/null mode %o rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
					}
				}
				if st := lstat(t, filepath.Join(dir, "run/fifo")); st.Mode&unix.S_IFMT != unix.S_IFIFO {
					t.Errorf("run/fifo mode %o", st.Mode)
				}
			},
		},
		{
			name:    "xattrs and owners",
			entries: []entry{{name: "f", body: "x", uid: 1000, gid: 1001, xattrs: map[string]string{"user.skiff": "v"}}},
			check: func(t *testing.T, dir string) {
				buf := make([]byte, 8)
				n, err := unix.Lgetxattr(filepath.Join(dir, "f"), "user.skiff", buf)
				if err != nil || string(buf[:n]) != "v" {
					t.Errorf("user.skiff = %q, %v", buf[:n], err)
				}
				if st := lstat(t, filepath.Join(dir, "f")); root && (st.Uid != 1000 || st.Gid != 1001) {
					t.Errorf("owner %d:%d, want 1000:1001", st.Uid, st.Gid)
				}
			},
		},
		{
			name: "later entry replaces earlier",
			entries: []entry{
				{name: "x", typ: tar.TypeSymlink, link: "/etc/passwd"},
				{name: "x", body: "file now"},
				{name: "d/sub/f", body: "1"},
				{name: "d", body: "file replaces dir"},
			},
			check: func(t *testing.T, dir string) {
				if b, err := os.ReadFile(filepath.Join(dir, "x")); err != nil || string(b) != "file now" {
					t.Errorf("x = %q, %v", b, err)
				}
				if b, err := os.ReadFile(filepath.Join(dir, "d")); err != nil || string(b) != "file replaces dir" {
					t.Errorf("d = %q, %v", b, err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir := filepath.Join(base, "layer")
			os.Mkdir(dir, 0o755)
			if tt.wantErr != "" {
				// A hostile stream fails the same way whatever the caller.
				for _, m := range extractModes() {
					t.Run(m.name, func(t *testing.T) {
						base := t.TempDir()
						dir := filepath.Join(base, "layer")
						os.Mkdir(dir, 0o755)
						_, err := ExtractDir(buildTar(t, tt.entries), dir, m.o)
						if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
							t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
						}
						// Nothing may land beside the layer dir.
						ents, _ := os.ReadDir(base)
						if len(ents) != 1 {
							t.Errorf("extraction wrote outside the layer: %v", ents)
						}
					})
				}
				return
			}
			size, err := ExtractDir(buildTar(t, tt.entries), dir, LayerOptions(!root))
			if err != nil {
				t.Fatal(err)
			}
			var want int64
			for _, e := range tt.entries {
				if e.typ == 0 && !strings.Contains(e.name, ".wh.") {
					want += int64(len(e.body))
				}
			}
			if size != want {
				t.Errorf("size = %d, want %d", size, want)
			}
			tt.check(t, dir)
		})
	}
}

// TestExtractReadsToEnd: the caller digests the whole stream, padding too.
func TestExtractReadsToEnd(t *testing.T) {
	r := buildTar(t, []entry{{name: "f", body: "x"}})
	if _, err := ExtractDir(r, t.TempDir(), LayerOptions(false)); err != nil {
		t.Fatal(err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes left unread", r.Len())
	}
}
