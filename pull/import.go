package pull

// Images made locally (commit, import): one new layer from a tar stream,
// stored and checked exactly as a pulled one, on top of an optional parent.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/store"
)

// StoreLayer stores the layer tar read from r (plain, gzip or zstd,
// detected) in s: extracted with the same checks as a pulled layer (no
// "..", no write through a symlink, no hardlink out) and kept as a gzip
// blob. It returns the published layer's info (another writer's, if the
// same content was already there).
func StoreLayer(s *store.Store, r io.Reader, rootless bool) (*store.LayerInfo, error) {
	plain, err := archive.Decompress(r)
	if err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	defer plain.Close()
	t, err := s.NewLayer()
	if err != nil {
		return nil, err
	}
	defer t.Discard()
	blob, err := os.Create(t.BlobPath())
	if err != nil {
		return nil, fmt.Errorf("create blob: %w", err)
	}
	defer blob.Close()
	blobSum, diffSum := sha256.New(), sha256.New()
	gz := gzip.NewWriter(io.MultiWriter(blob, blobSum))
	tee := io.TeeReader(plain, io.MultiWriter(diffSum, gz))
	size, err := archive.ExtractDir(tee, t.Dir(), archive.LayerOptions(rootless))
	if err != nil {
		return nil, fmt.Errorf("extract layer: %w", err)
	}
	// The archive's end padding is part of its diffID.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, fmt.Errorf("read layer: %w", err)
	}
	if err := gz.Close(); err != nil {
		return nil, fmt.Errorf("compress layer: %w", err)
	}
	if err := blob.Close(); err != nil {
		return nil, fmt.Errorf("write blob: %w", err)
	}
	info := store.LayerInfo{
		DiffID: digestOf(diffSum), Digest: digestOf(blobSum),
		MediaType: string(types.OCILayer), Size: size,
	}
	if err := t.Commit(info); err != nil {
		return nil, err
	}
	return s.LayerInfo(info.DiffID)
}

// AddLayerImage makes and stores the image whose config is cfg (history
// and the rest already set) and whose layers are parent's (nil: none) plus
// layer, and points names (canonical) at it.
func AddLayerImage(s *store.Store, parent *store.Image, cfg v1.ConfigFile, layer *store.LayerInfo, names []string) (*store.Image, error) {
	var diffIDs []string
	var size int64
	if parent != nil {
		diffIDs, size = append(diffIDs, parent.Layers...), parent.Size
	}
	diffIDs = append(diffIDs, layer.DiffID)
	size += layer.Size
	cfg.RootFS = v1.RootFS{Type: "layers"}
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	for _, d := range diffIDs {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", d, err)
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, h)
		desc, err := layerDescriptor(s, d)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, desc)
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	cs := sha256.Sum256(rawConfig)
	m.Config = v1.Descriptor{
		MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig)),
		Digest: v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", cs)},
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return s.AddImage(store.NewImage{
		Manifest: rawManifest, Config: rawConfig, Layers: diffIDs, Size: size,
		Created: cfg.Created.Time, Names: names,
	})
}

// layerDescriptor describes a stored layer's blob for a manifest.
func layerDescriptor(s *store.Store, diffID string) (v1.Descriptor, error) {
	li, err := s.LayerInfo(diffID)
	if err != nil {
		return v1.Descriptor{}, err
	}
	h, err := v1.NewHash(li.Digest)
	if err != nil {
		return v1.Descriptor{}, fmt.Errorf("layer %s: blob digest: %w", diffID, err)
	}
	var size int64
	if st, err := os.Stat(s.BlobPath(li.Digest)); err == nil {
		size = st.Size()
	}
	return v1.Descriptor{MediaType: types.MediaType(li.MediaType), Size: size, Digest: h}, nil
}

// Now is the creation time of a local image, in UTC as docker records it.
func Now() v1.Time { return v1.Time{Time: time.Now().UTC()} }
