package testenv

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestLayerFromFilesKeepsRawEntries(t *testing.T) {
	files := []File{
		Dir("data"), Reg("data/a", "A"), Symlink("link", "/tmp/x"), Hardlink("h", "/etc/passwd"),
		Reg("../escape", "x"), Whiteout("data", "a"), Opaque("data/dir"),
	}
	l, err := LayerFromFiles(files)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := l.Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	for i, want := range files {
		t.Run(want.Name, func(t *testing.T) {
			h, err := tr.Next()
			if err != nil {
				t.Fatalf("entry %d: %v", i, err)
			}
			if h.Name != want.Name || h.Linkname != want.Link {
				t.Errorf("got %q -> %q, want %q -> %q", h.Name, h.Linkname, want.Name, want.Link)
			}
			body, _ := io.ReadAll(tr)
			if string(body) != want.Body {
				t.Errorf("body %q, want %q", body, want.Body)
			}
		})
	}
	if _, err := tr.Next(); err != io.EOF {
		t.Errorf("extra entries after the last: %v", err)
	}
}

func TestLayersAreReproducible(t *testing.T) {
	mk := func() string {
		l, err := LayerFromFiles([]File{Reg("a", "same")})
		if err != nil {
			t.Fatal(err)
		}
		d, _ := l.Digest()
		return d.String()
	}
	if a, b := mk(), mk(); a != b {
		t.Errorf("same files gave digests %s and %s", a, b)
	}
}

func TestPushToRegistry(t *testing.T) {
	if _, err := os.Stat(RegistryBinary); err != nil {
		t.Skip("docker-registry not installed")
	}
	if _, err := os.Stat(BusyboxPath); err != nil {
		t.Skip("busybox-static not installed")
	}
	r, err := StartRegistry(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	img, err := BusyboxImage()
	if err != nil {
		t.Fatal(err)
	}
	dig, err := Push(img, r.Addr+"/library/busybox:latest")
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := name.ParseReference(r.Addr+"/library/busybox@"+dig, name.Insecure)
	got, err := remote.Image(ref)
	if err != nil {
		t.Fatal(err)
	}
	ls, _ := got.Layers()
	if len(ls) != 1 {
		t.Fatalf("pulled %d layers, want 1", len(ls))
	}
	d, _ := ls[0].Digest()
	blob, err := os.ReadFile(r.BlobPath(d.String()))
	if err != nil {
		t.Fatalf("BlobPath: %v", err)
	}
	cfg, _ := got.ConfigFile()
	if len(cfg.Config.Cmd) != 1 || cfg.Config.Cmd[0] != "sh" {
		t.Errorf("Cmd = %q, want [sh]", cfg.Config.Cmd)
	}
	if len(blob) == 0 || !bytes.HasPrefix(blob, []byte{0x1f, 0x8b}) {
		t.Errorf("blob at BlobPath is not gzip")
	}
}
