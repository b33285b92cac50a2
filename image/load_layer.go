package image

// A loaded layer: its blob kept as it is in the archive (no recompression),
// extracted by the one extractor with the same rules as a pulled layer, and
// published only once every layer of the archive has checked out.

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/store"
)

// wantLayer is what the archive's metadata says a layer file is.
type wantLayer struct {
	diffID    string // from the image config: always checked
	digest    string // the blob's, from an OCI manifest: checked when set
	mediaType string // from an OCI manifest, or "" (found from the blob)
}

// extractLayer reads one layer blob from r into a new temp layer: the blob
// is written to the temp layer's blob file (or, when r is the spool file
// spooled, that file is renamed there), its digest and diffID checked
// against want.
// The temp layer is returned unpublished.
func extractLayer(s *store.Store, r io.Reader, want wantLayer, rootless bool, spooled string) (*store.TempLayer, store.LayerInfo, error) {
	t, err := s.NewLayer()
	if err != nil {
		return nil, store.LayerInfo{}, err
	}
	info, err := extractInto(t, r, want, rootless, spooled)
	if err != nil {
		t.Discard()
		return nil, store.LayerInfo{}, err
	}
	return t, info, nil
}

func extractInto(t *store.TempLayer, r io.Reader, want wantLayer, rootless bool, spooled string) (store.LayerInfo, error) {
	blobSum, diffSum := sha256.New(), sha256.New()
	var sink io.Writer = blobSum
	var blob *os.File
	if spooled == "" {
		var err error
		if blob, err = os.Create(t.BlobPath()); err != nil {
			return store.LayerInfo{}, fmt.Errorf("create blob: %w", err)
		}
		defer blob.Close()
		sink = io.MultiWriter(blob, blobSum)
	}
	raw := io.TeeReader(r, sink)
	plain, err := decompress.Open(raw)
	if err != nil {
		return store.LayerInfo{}, fmt.Errorf("layer %s: %w", want.diffID, err)
	}
	defer plain.Close()
	tee := io.TeeReader(plain, diffSum)
	size, err := archive.ExtractDir(tee, t.Dir(), archive.LayerOptions(rootless))
	if err != nil {
		return store.LayerInfo{}, fmt.Errorf("layer %s: extract: %w", want.diffID, err)
	}
	// The tar's end padding counts in its diffID, the whole blob in its digest.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return store.LayerInfo{}, fmt.Errorf("layer %s: %w", want.diffID, err)
	}
	if _, err := io.Copy(io.Discard, raw); err != nil {
		return store.LayerInfo{}, fmt.Errorf("layer %s: %w", want.diffID, err)
	}
	digest, diffID := fmt.Sprintf("sha256:%x", blobSum.Sum(nil)), fmt.Sprintf("sha256:%x", diffSum.Sum(nil))
	if diffID != want.diffID {
		return store.LayerInfo{}, fmt.Errorf("invalid diffID for layer: expected %q, got %q", want.diffID, diffID)
	}
	if want.digest != "" && digest != want.digest {
		return store.LayerInfo{}, fmt.Errorf("layer %s: digest mismatch: the blob is %s, the manifest says %s", want.diffID, digest, want.digest)
	}
	if spooled != "" {
		if err := os.Rename(spooled, t.BlobPath()); err != nil {
			return store.LayerInfo{}, fmt.Errorf("layer %s: keep blob: %w", want.diffID, err)
		}
	} else if err := blob.Close(); err != nil {
		return store.LayerInfo{}, fmt.Errorf("layer %s: write blob: %w", want.diffID, err)
	}
	mt := want.mediaType
	if mt == "" {
		mt = layerMediaType(plain.Format)
	}
	return store.LayerInfo{DiffID: diffID, Digest: digest, MediaType: mt, Size: size}, nil
}

// layerMediaType is the OCI layer type of a blob compressed as format.
func layerMediaType(format string) string {
	switch format {
	case "gzip":
		return string(types.OCILayer)
	case "zstd":
		return string(types.OCILayerZStd)
	case "":
		return string(types.OCIUncompressedLayer)
	}
	return "application/vnd.oci.image.layer.v1.tar+" + format
}
