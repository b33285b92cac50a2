package image

// A local image's config and record: a parent's config carried over, and
// the image stored as its parent's layers plus a new one.

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiff-dev/skiff/store"
)

// ChildConfig is parent's config for a new image made now: its history,
// environment, labels, ports, volumes and ONBUILD triggers copied, so a
// change to the child never reaches the parent through a shared slice or
// map; a parent with no platform (scratch) gets this machine's.
func ChildConfig(parent v1.ConfigFile) v1.ConfigFile {
	cfg := parent
	cfg.Created = Now()
	cfg.History = append([]v1.History(nil), parent.History...)
	cfg.Config.Env = append([]string(nil), parent.Config.Env...)
	cfg.Config.Labels = maps.Clone(parent.Config.Labels)
	cfg.Config.ExposedPorts = maps.Clone(parent.Config.ExposedPorts)
	cfg.Config.Volumes = maps.Clone(parent.Config.Volumes)
	cfg.Config.OnBuild = slices.Clone(parent.Config.OnBuild)
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	}
	return cfg
}

// Add makes and stores the image whose config is cfg (history and the rest
// already set) and whose layers are parent's (nil: none) plus layer (nil:
// none, a build's metadata step), and
// points names (canonical) at it.
func Add(s *store.Store, parent *store.Image, cfg v1.ConfigFile, layer *store.LayerInfo, names []string) (*store.Image, error) {
	var diffIDs []string
	var size int64
	if parent != nil {
		diffIDs, size = append(diffIDs, parent.Layers...), parent.Size
	}
	if layer != nil { // nil: a step that changed only the config (build)
		diffIDs = append(diffIDs, layer.DiffID)
		size += layer.Size
	}
	cfg.RootFS = v1.RootFS{Type: "layers"}
	for _, d := range diffIDs {
		h, err := v1.NewHash(d)
		if err != nil {
			return nil, fmt.Errorf("layer %s: %w", d, err)
		}
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, h)
	}
	rawConfig, err := json.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode image config: %w", err)
	}
	rawManifest, err := manifestFor(s, rawConfig, diffIDs)
	if err != nil {
		return nil, err
	}
	return s.AddImage(store.NewImage{
		Manifest: rawManifest, Config: rawConfig, Layers: diffIDs, Size: size,
		Created: cfg.Created.Time, Names: names,
	})
}

// manifestFor is an OCI manifest of rawConfig and the stored layers
// diffIDs, naming the blobs the store keeps for them.
func manifestFor(s *store.Store, rawConfig []byte, diffIDs []string) ([]byte, error) {
	m := v1.Manifest{SchemaVersion: 2, MediaType: types.OCIManifestSchema1}
	for _, d := range diffIDs {
		desc, err := layerDescriptor(s, d)
		if err != nil {
			return nil, err
		}
		m.Layers = append(m.Layers, desc)
	}
	m.Config = v1.Descriptor{
		MediaType: types.OCIConfigJSON, Size: int64(len(rawConfig)), Digest: mustHash(digestBytes(rawConfig)),
	}
	rawManifest, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode manifest: %w", err)
	}
	return rawManifest, nil
}

// digestBytes is data's "sha256:<hex>" digest.
func digestBytes(data []byte) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256(data))
}

// mustHash parses a digest this package computed or checked.
func mustHash(digest string) v1.Hash {
	h, err := v1.NewHash(digest)
	if err != nil {
		panic(err)
	}
	return h
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

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
