package image

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/store"
)

func identity(n string) (string, error) { return n, nil }

// savedStore is a store with two images sharing a layer, saved as one
// archive under two names and one id.
func savedStore(t *testing.T) (*store.Store, []byte, []*store.Image) {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	base, err := StoreLayer(s, bytes.NewReader(tarOf(t, entry{name: "base", body: "base\n", typ: tar.TypeReg})), true)
	if err != nil {
		t.Fatal(err)
	}
	top, err := StoreLayer(s, bytes.NewReader(tarOf(t, entry{name: "top", body: "top\n", typ: tar.TypeReg})), true)
	if err != nil {
		t.Fatal(err)
	}
	a, err := Add(s, nil, ChildConfig(v1.ConfigFile{}), base, []string{"docker.io/library/a:1"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Add(s, a, ChildConfig(a.Config), top, nil)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	err = Save(s, &buf, []SaveImage{
		{Image: a, Names: []SaveName{{Canonical: "docker.io/library/a:1", Short: "a:1", Tag: "1"}}},
		{Image: b},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s, buf.Bytes(), []*store.Image{a, b}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	_, archive, imgs := savedStore(t)
	dst, _ := store.Open(t.TempDir())
	loaded, err := Load(dst, bytes.NewReader(archive), LoadOptions{Rootless: true, Normalize: identity})
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 2 {
		t.Fatalf("loaded %d images, want 2", len(loaded))
	}
	for i, l := range loaded {
		if l.Image.ID != imgs[i].ID || l.Image.Manifest != imgs[i].Manifest {
			t.Errorf("image %d: loaded %s (manifest %s), saved %s (manifest %s)", i, l.Image.ID, l.Image.Manifest, imgs[i].ID, imgs[i].Manifest)
		}
	}
	if got := loaded[0].Names; len(got) != 1 || got[0] != "a:1" { // manifest.json's, for Normalize
		t.Errorf("names %v, want [a:1]", got)
	}
	if b, err := os.ReadFile(filepath.Join(dst.LayerDir(imgs[1].Layers[1]), "top")); err != nil || string(b) != "top\n" {
		t.Errorf("top layer's file: %q, %v", b, err)
	}
}

// Every cut of the archive is refused, and leaves no layer, image or temp.
func TestLoadTruncatedLeavesNothing(t *testing.T) {
	_, archive, _ := savedStore(t)
	for _, n := range []int{0, 100, len(archive) / 3, len(archive) / 2, len(archive) - 1024 - 512} {
		root := t.TempDir()
		dst, _ := store.Open(root)
		_, err := Load(dst, bytes.NewReader(archive[:n]), LoadOptions{Rootless: true, Normalize: identity})
		if err == nil {
			t.Errorf("a cut at %d of %d bytes loaded", n, len(archive))
		}
		for _, d := range []string{"images", "layers", "layers/.tmp"} {
			ents, _ := os.ReadDir(filepath.Join(root, d))
			for _, e := range ents {
				if e.IsDir() && e.Name() != ".tmp" {
					t.Errorf("cut at %d (%v): %s holds %s", n, err, d, e.Name())
				}
				if d == "images" {
					t.Errorf("cut at %d: image record %s", n, e.Name())
				}
			}
		}
	}
}

func TestLoadRefusesEscapingEntry(t *testing.T) {
	dst, _ := store.Open(t.TempDir())
	archive := tarOf(t, entry{name: "a/../../x", body: "x", typ: tar.TypeReg})
	_, err := Load(dst, bytes.NewReader(archive), LoadOptions{Rootless: true, Normalize: identity})
	if err == nil || !strings.Contains(err.Error(), "outside the archive") {
		t.Errorf("got %v, want the entry refused", err)
	}
}
