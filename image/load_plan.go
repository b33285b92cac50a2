package image

// Reading an archive's metadata into a plan: docker-archive's manifest.json
// (docker, podman, skiff) and the OCI layout's index.json (docker 25+,
// skiff, podman's oci-archive). When both are there, as docker 25+ and
// skiff write, manifest.json says which images and names, and index.json
// gives each image its manifest as saved, so a round trip keeps the
// manifest digest.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// plan is what an archive holds: its images and which file is which layer.
type plan struct {
	images []*planImage
	layers map[string]wantLayer // by the layer file's resolved name
}

// planImage is one image to add.
type planImage struct {
	config   []byte
	manifest []byte // as saved (OCI layout), or nil: made from the layers
	diffIDs  []string
	created  time.Time
	names    []string // canonical
}

// errIncomplete is a plan asked for before its files have all been read.
var errIncomplete = errors.New("invalid archive: no manifest.json or index.json")

// plan reads the metadata read so far.
func (l *loader) plan() (*plan, error) {
	p := &plan{layers: map[string]wantLayer{}}
	legacy, hasLegacy := l.small("manifest.json")
	oci, err := l.ociManifests(!hasLegacy)
	if err != nil {
		return nil, err
	}
	if hasLegacy {
		if err := l.planLegacy(p, legacy, oci); err != nil {
			return nil, err
		}
		return p, nil
	}
	if oci == nil {
		return nil, fmt.Errorf("load: %w", errIncomplete)
	}
	for _, m := range oci {
		if err := l.planOCI(p, m); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// legacyManifest is one image in docker-archive's manifest.json.
type legacyManifest struct {
	Config   string
	RepoTags []string
	Layers   []string
}

func (l *loader) planLegacy(p *plan, raw []byte, oci []*ociImage) error {
	var entries []legacyManifest
	if err := json.Unmarshal(raw, &entries); err != nil {
		return fmt.Errorf("load: invalid archive: manifest.json: %w", err)
	}
	for _, e := range entries {
		config, ok := l.small(e.Config)
		if !ok {
			return fmt.Errorf("load: invalid archive: config %s is missing", e.Config)
		}
		pi, err := l.planConfig(config, e.RepoTags)
		if err != nil {
			return err
		}
		if len(e.Layers) != len(pi.diffIDs) {
			return fmt.Errorf("load: invalid archive: %s has %d layers, its config %d", e.Config, len(e.Layers), len(pi.diffIDs))
		}
		saved := ociFor(oci, digestBytes(config))
		for i, name := range e.Layers {
			want := wantLayer{diffID: pi.diffIDs[i]}
			if saved != nil && len(saved.m.Layers) == len(e.Layers) && blobName(saved.m.Layers[i].Digest.String()) == name {
				want.digest, want.mediaType = saved.m.Layers[i].Digest.String(), string(saved.m.Layers[i].MediaType)
			}
			if err := p.addLayer(l.lookup(name), want); err != nil {
				return err
			}
		}
		if saved != nil && saved.layersMatch(e.Layers) {
			pi.manifest = saved.raw
		}
		p.images = append(p.images, pi)
	}
	return nil
}

// planConfig reads an image config and normalizes the image's names.
func (l *loader) planConfig(config []byte, names []string) (*planImage, error) {
	var cfg v1.ConfigFile
	if err := json.Unmarshal(config, &cfg); err != nil {
		return nil, fmt.Errorf("load: invalid archive: image config: %w", err)
	}
	pi := &planImage{config: config, created: cfg.Created.Time}
	for _, d := range cfg.RootFS.DiffIDs {
		if d.Algorithm != "sha256" || len(d.Hex) != 64 {
			return nil, fmt.Errorf("load: invalid archive: diffID %s", d)
		}
		pi.diffIDs = append(pi.diffIDs, d.String())
	}
	for _, n := range names {
		canon, err := l.o.Normalize(n)
		if err != nil {
			return nil, fmt.Errorf("load: invalid tag %q: %w", n, err)
		}
		pi.names = append(pi.names, canon)
	}
	return pi, nil
}

// addLayer records what a layer file is; one file cannot be two layers.
func (p *plan) addLayer(name string, want wantLayer) error {
	if old, ok := p.layers[name]; ok && old.diffID != want.diffID {
		return fmt.Errorf("load: invalid archive: %s is given two diffIDs", name)
	}
	if old, ok := p.layers[name]; ok && old.digest != "" && want.digest == "" {
		return nil
	}
	p.layers[name] = want
	return nil
}

// ociImage is one image manifest index.json leads to, checked against
// its digest, with the names its descriptor gives.
type ociImage struct {
	raw   []byte
	m     *v1.Manifest
	names []string
}

func (o *ociImage) layersMatch(files []string) bool {
	if len(o.m.Layers) != len(files) {
		return false
	}
	for i, l := range o.m.Layers {
		if blobName(l.Digest.String()) != files[i] {
			return false
		}
	}
	return true
}

func ociFor(oci []*ociImage, configDigest string) *ociImage {
	for _, o := range oci {
		if o.m.Config.Digest.String() == configDigest {
			return o
		}
	}
	return nil
}

// ociManifests reads index.json (nil when there is none) down to image
// manifests: a nested index (a multi-platform image) gives this machine's.
// Beside a manifest.json (strict false), a manifest whose blob the archive
// lacks (docker exports one platform of an index) is left out, not an error.
func (l *loader) ociManifests(strict bool) ([]*ociImage, error) {
	raw, ok := l.small("index.json")
	if !ok {
		return nil, nil
	}
	idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("load: invalid archive: index.json: %w", err)
	}
	var out []*ociImage
	for _, d := range idx.Manifests {
		o, err := l.ociImage(d, 0)
		if errors.Is(err, errIncomplete) && !strict {
			continue
		}
		if err != nil {
			return nil, err
		}
		if o == nil {
			continue
		}
		if n := descriptorName(d); n != "" {
			o.names = append(o.names, n)
		}
		if prev := ociFor(out, o.m.Config.Digest.String()); prev != nil && bytes.Equal(prev.raw, o.raw) {
			prev.names = append(prev.names, o.names...)
			continue
		}
		out = append(out, o)
	}
	return out, nil
}

// ociImage follows one descriptor to an image manifest (nil: none for this
// platform).
func (l *loader) ociImage(d v1.Descriptor, depth int) (*ociImage, error) {
	raw, err := l.blob(d.Digest)
	if err != nil {
		return nil, err
	}
	if d.MediaType.IsIndex() {
		if depth > 2 {
			return nil, fmt.Errorf("load: invalid archive: indexes nested too deep")
		}
		idx, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return nil, fmt.Errorf("load: invalid archive: index %s: %w", d.Digest, err)
		}
		for _, c := range idx.Manifests {
			if c.Platform == nil || c.Platform.OS == "linux" && c.Platform.Architecture == runtime.GOARCH {
				return l.ociImage(c, depth+1)
			}
		}
		return nil, nil
	}
	m, err := v1.ParseManifest(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("load: invalid archive: manifest %s: %w", d.Digest, err)
	}
	return &ociImage{raw: raw, m: m}, nil
}

// blob is a metadata blob, checked against its digest.
func (l *loader) blob(h v1.Hash) ([]byte, error) {
	if h.Algorithm != "sha256" || len(h.Hex) != 64 {
		return nil, fmt.Errorf("load: invalid archive: digest %s", h)
	}
	b, ok := l.small(blobName(h.String()))
	if !ok {
		return nil, fmt.Errorf("load: %w", errIncomplete)
	}
	if got := digestBytes(b); got != h.String() {
		return nil, fmt.Errorf("load: invalid archive: blob %s: digest mismatch: content is %s", h, got)
	}
	return b, nil
}

// descriptorName is the full image name an index descriptor gives: docker
// 25+ and containerd write io.containerd.image.name; OCI's ref.name is
// taken only when it is a whole name (podman writes "localhost/x:tag"),
// not a bare tag.
func descriptorName(d v1.Descriptor) string {
	if n := d.Annotations["io.containerd.image.name"]; n != "" {
		return n
	}
	if n := d.Annotations["org.opencontainers.image.ref.name"]; strings.ContainsAny(n, "/:") {
		return n
	}
	return ""
}

// planOCI plans one image of an archive without manifest.json.
func (l *loader) planOCI(p *plan, o *ociImage) error {
	config, err := l.blob(o.m.Config.Digest)
	if err != nil {
		return err
	}
	pi, err := l.planConfig(config, o.names)
	if err != nil {
		return err
	}
	if len(o.m.Layers) != len(pi.diffIDs) {
		return fmt.Errorf("load: invalid archive: manifest has %d layers, its config %d", len(o.m.Layers), len(pi.diffIDs))
	}
	for i, d := range o.m.Layers {
		if !d.MediaType.IsDistributable() || d.Digest.Algorithm != "sha256" || len(d.Digest.Hex) != 64 {
			return fmt.Errorf("load: invalid archive: layer %s", d.Digest)
		}
		want := wantLayer{diffID: pi.diffIDs[i], digest: d.Digest.String(), mediaType: string(d.MediaType)}
		if err := p.addLayer(l.lookup(blobName(d.Digest.String())), want); err != nil {
			return err
		}
	}
	pi.manifest = o.raw
	p.images = append(p.images, pi)
	return nil
}
