package e2e

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	skiffstore "github.com/skiff-dev/skiff/store"
)

// i12bexecImage is a built image as go-containerregistry sees it, read
// from the store's blobs (manifest, config, compressed layers).
type i12bexecImage struct {
	s                *skiffstore.Store
	manifest, config []byte
}

func (i *i12bexecImage) RawConfigFile() ([]byte, error) { return i.config, nil }
func (i *i12bexecImage) RawManifest() ([]byte, error)   { return i.manifest, nil }
func (i *i12bexecImage) MediaType() (types.MediaType, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return "", err
	}
	return m.MediaType, nil
}

func (i *i12bexecImage) LayerByDigest(h v1.Hash) (partial.CompressedLayer, error) {
	m, err := v1.ParseManifest(bytes.NewReader(i.manifest))
	if err != nil {
		return nil, err
	}
	for _, l := range m.Layers {
		if l.Digest == h {
			return &i12bexecLayer{path: i.s.BlobPath(h.String()), desc: l}, nil
		}
	}
	return nil, fmt.Errorf("no layer %s", h)
}

type i12bexecLayer struct {
	path string
	desc v1.Descriptor
}

func (l *i12bexecLayer) Digest() (v1.Hash, error)            { return l.desc.Digest, nil }
func (l *i12bexecLayer) Compressed() (io.ReadCloser, error)  { return os.Open(l.path) }
func (l *i12bexecLayer) Size() (int64, error)                { return l.desc.Size, nil }
func (l *i12bexecLayer) MediaType() (types.MediaType, error) { return l.desc.MediaType, nil }

// TestI12BexecValidate: a built image (layers and empty_layer history)
// passes go-containerregistry's validate.
func TestI12BexecValidate(t *testing.T) {
	st := newStore(t)
	requireEnv(t)
	dir := i12bexecContext(t, map[string]string{
		"Dockerfile": fmt.Sprintf("FROM %s\nENV A=1\nCOPY f /f\nRUN rm /bin/sed && echo x > /x\nCMD [\"cat\", \"/f\"]\n", fx.busybox),
		"f":          "f\n",
	})
	st.i12bexecBuild(t, "-t", "bexec-valid", dir)
	s, err := skiffstore.Open(st.root)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.LookupImage("127.0.0.1/bexec-valid:latest")
	if err != nil {
		img, err = s.LookupImage("docker.io/library/bexec-valid:latest")
	}
	if err != nil {
		t.Fatal(err)
	}
	core := &i12bexecImage{s: s}
	if core.manifest, err = s.RawManifest(img); err != nil {
		t.Fatal(err)
	}
	if core.config, err = s.RawConfig(img); err != nil {
		t.Fatal(err)
	}
	vi, err := partial.CompressedToImage(core)
	if err != nil {
		t.Fatal(err)
	}
	if err := validate.Image(vi); err != nil {
		t.Errorf("validate: %v", err)
	}
	cf, _ := vi.ConfigFile()
	empty := 0
	for _, h := range cf.History {
		if h.EmptyLayer {
			empty++
		}
	}
	if layers := len(cf.RootFS.DiffIDs); len(cf.History)-empty != layers {
		t.Errorf("%d history entries with a layer, %d layers", len(cf.History)-empty, layers)
	}
}
