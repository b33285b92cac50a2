package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/skiff-dev/skiff/store"
)

type entry struct {
	name, link, body string
	typ              byte
}

func tarOf(t *testing.T, entries ...entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.body))}
		if e.typ == tar.TypeDir {
			h.Mode = 0o755
		}
		if e.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e.body)[:h.Size])
	}
	tw.Close()
	return b.Bytes()
}

func TestStoreLayerRefusesHostileTar(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
	}{
		{"dot-dot", []entry{{name: "../../escaped", body: "x", typ: tar.TypeReg}}},
		{"write through symlink", []entry{
			{name: "lnk", link: "/tmp", typ: tar.TypeSymlink},
			{name: "lnk/escaped", body: "x", typ: tar.TypeReg},
		}},
		{"hardlink out", []entry{{name: "pw", link: "../../../../etc/passwd", typ: tar.TypeLink}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			s, err := store.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			if li, err := StoreLayer(s, bytes.NewReader(tarOf(t, tt.entries...)), false); err == nil {
				t.Fatalf("hostile tar stored as %s", li.DiffID)
			}
			if _, err := os.Stat("/tmp/escaped"); err == nil {
				t.Fatal("/tmp/escaped was written")
			}
			if m, _ := filepath.Glob(filepath.Join(root, "layers", "[0-9a-f]*")); len(m) != 0 {
				t.Fatalf("a layer was published: %v", m)
			}
		})
	}
}

func TestStoreLayerCompressions(t *testing.T) {
	plain := tarOf(t, entry{name: "f", body: "hello", typ: tar.TypeReg})
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	var want string
	for _, tc := range []struct {
		name string
		data []byte
	}{{"plain", plain}, {"gzip", gz.Bytes()}, {"zstd", zs.Bytes()}} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := store.Open(t.TempDir())
			li, err := StoreLayer(s, bytes.NewReader(tc.data), os.Geteuid() != 0)
			if err != nil {
				t.Fatal(err)
			}
			if want == "" {
				want = li.DiffID
			}
			if li.DiffID != want {
				t.Fatalf("diffID %s, want %s (the uncompressed tar's)", li.DiffID, want)
			}
			b, err := os.ReadFile(filepath.Join(s.LayerDir(li.DiffID), "f"))
			if err != nil || string(b) != "hello" {
				t.Fatalf("extracted f: %q, %v", b, err)
			}
			if _, err := os.Stat(s.BlobPath(li.Digest)); err != nil {
				t.Fatalf("blob: %v", err)
			}
		})
	}
}
