package image

// save writes images as one tar that is both a docker-archive (manifest.json)
// and an OCI image layout (oci-layout, index.json, blobs/sha256/...), as
// docker 25+ does. Every file is a blob named by its digest: the store's
// manifest, config and layer blobs go in byte for byte, so the image keeps
// its id and manifest digest through save and load, and no layer is
// decompressed or recompressed.
//
// The order in the tar is: oci-layout, config and manifest blobs,
// index.json, manifest.json, then the layer blobs. Metadata first lets a
// loader know every layer's diffID before the layer arrives and extract it
// straight from the stream.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiff-dev/skiff/store"
)

// SaveImage is one image to save and the names it is saved under.
type SaveImage struct {
	Image *store.Image
	// Names are what the image is saved under; none saves it by id only.
	Names []SaveName
}

// SaveName is one name of a saved image, spelt as each index wants it.
type SaveName struct {
	Canonical string // index.json's: "docker.io/library/busybox:latest"
	Short     string // manifest.json's: "busybox:latest"
	Tag       string // "latest"
}

// savedImage is an image's blobs as they go into the archive.
type savedImage struct {
	SaveImage
	config, manifest []byte
	manifestDigest   string
	layers           []v1.Descriptor // the blobs, in manifest order
}

// Save writes images to w as one archive. Images saved twice (two names of
// one id) and layers shared between images are written once.
func Save(s *store.Store, w io.Writer, images []SaveImage) error {
	var saved []*savedImage
	for _, si := range images {
		sv, err := prepareSave(s, si)
		if err != nil {
			return err
		}
		saved = append(saved, sv)
	}
	tw := &blobWriter{tw: tar.NewWriter(w), written: map[string]bool{}}
	if err := tw.file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	for _, sv := range saved {
		if err := tw.blob(sv.Image.ID, sv.config); err != nil {
			return err
		}
		if err := tw.blob(sv.manifestDigest, sv.manifest); err != nil {
			return err
		}
	}
	index, legacy, err := saveIndexes(saved)
	if err != nil {
		return err
	}
	if err := tw.file("index.json", index); err != nil {
		return err
	}
	if err := tw.file("manifest.json", legacy); err != nil {
		return err
	}
	for _, sv := range saved {
		for _, l := range sv.layers {
			if err := tw.blobFile(l.Digest.String(), s.BlobPath(l.Digest.String())); err != nil {
				return err
			}
		}
	}
	if err := tw.tw.Close(); err != nil {
		return fmt.Errorf("save: %w", err)
	}
	return nil
}

// prepareSave reads an image's config and manifest. The manifest is the
// store's own when the store holds every blob it names; an image whose layer
// the store keeps from another image's pull (same diffID, other compression)
// gets a manifest naming the blobs the store has, as a local image's.
func prepareSave(s *store.Store, si SaveImage) (*savedImage, error) {
	sv := &savedImage{SaveImage: si}
	var err error
	if sv.config, err = s.RawConfig(si.Image); err != nil {
		return nil, fmt.Errorf("save %s: config: %w", si.Image.ID, err)
	}
	raw, err := s.RawManifest(si.Image)
	if err != nil {
		return nil, fmt.Errorf("save %s: manifest: %w", si.Image.ID, err)
	}
	if layers, ok := storedLayers(s, raw, si.Image); ok {
		sv.manifest, sv.manifestDigest, sv.layers = raw, si.Image.Manifest, layers
		return sv, nil
	}
	if sv.manifest, err = manifestFor(s, sv.config, si.Image.Layers); err != nil {
		return nil, fmt.Errorf("save %s: %w", si.Image.ID, err)
	}
	sv.manifestDigest = digestBytes(sv.manifest)
	m, err := v1.ParseManifest(bytes.NewReader(sv.manifest))
	if err != nil {
		return nil, err
	}
	sv.layers = m.Layers
	return sv, nil
}

// storedLayers is the raw manifest's layer descriptors when it is a
// single-image manifest whose config is the image's and whose every layer
// blob is in the store.
func storedLayers(s *store.Store, raw []byte, img *store.Image) ([]v1.Descriptor, bool) {
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil || m.Config.Digest.String() != img.ID || len(m.Layers) != len(img.Layers) {
		return nil, false
	}
	for _, l := range m.Layers {
		if st, err := os.Stat(s.BlobPath(l.Digest.String())); err != nil || st.Size() != l.Size {
			return nil, false
		}
	}
	return m.Layers, true
}

// saveIndexes builds index.json (one descriptor per name, or one unnamed
// per image saved by id) and manifest.json (one entry per image).
func saveIndexes(saved []*savedImage) (index, legacy []byte, err error) {
	idx := v1.IndexManifest{SchemaVersion: 2, MediaType: types.OCIImageIndex}
	var entries []legacyManifest
	for _, sv := range saved {
		desc := v1.Descriptor{
			MediaType: manifestMediaType(sv.manifest),
			Size:      int64(len(sv.manifest)),
			Digest:    mustHash(sv.manifestDigest),
		}
		e := legacyManifest{Config: blobName(sv.Image.ID), RepoTags: []string{}, Layers: []string{}}
		for _, l := range sv.layers {
			e.Layers = append(e.Layers, blobName(l.Digest.String()))
		}
		for _, n := range sv.Names {
			d := desc
			d.Annotations = map[string]string{
				"io.containerd.image.name":          n.Canonical,
				"org.opencontainers.image.ref.name": n.Tag,
			}
			idx.Manifests = append(idx.Manifests, d)
			e.RepoTags = append(e.RepoTags, n.Short)
		}
		if len(sv.Names) == 0 {
			idx.Manifests = append(idx.Manifests, desc)
		}
		entries = append(entries, e)
	}
	if index, err = json.Marshal(idx); err != nil {
		return nil, nil, err
	}
	if legacy, err = json.Marshal(entries); err != nil {
		return nil, nil, err
	}
	return index, legacy, nil
}

// manifestMediaType is a manifest's own mediaType field (docker v2 or OCI).
func manifestMediaType(raw []byte) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if json.Unmarshal(raw, &m) != nil || m.MediaType == "" {
		return types.OCIManifestSchema1
	}
	return m.MediaType
}

func blobName(digest string) string { return "blobs/sha256/" + hexOf(digest) }

// blobWriter writes tar entries, each blob once.
type blobWriter struct {
	tw      *tar.Writer
	written map[string]bool
}

// header starts an entry. Every entry's mtime is the epoch: the same images
// give the same archive.
func (b *blobWriter) header(name string, size int64) error {
	err := b.tw.WriteHeader(&tar.Header{
		Typeflag: tar.TypeReg, Name: name, Size: size, Mode: 0o644, ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
	})
	if err != nil {
		return fmt.Errorf("save: %s: %w", name, err)
	}
	return nil
}

func (b *blobWriter) file(name string, data []byte) error {
	if err := b.header(name, int64(len(data))); err != nil {
		return err
	}
	if _, err := b.tw.Write(data); err != nil {
		return fmt.Errorf("save: %s: %w", name, err)
	}
	return nil
}

func (b *blobWriter) blob(digest string, data []byte) error {
	if b.written[digest] {
		return nil
	}
	b.written[digest] = true
	return b.file(blobName(digest), data)
}

// blobFile copies a stored blob into the archive.
func (b *blobWriter) blobFile(digest, path string) error {
	if b.written[digest] {
		return nil
	}
	b.written[digest] = true
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("save: layer blob %s: %w", digest, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("save: layer blob %s: %w", digest, err)
	}
	if err := b.header(blobName(digest), st.Size()); err != nil {
		return err
	}
	if _, err := io.Copy(b.tw, f); err != nil {
		return fmt.Errorf("save: layer blob %s: %w", digest, err)
	}
	return nil
}
