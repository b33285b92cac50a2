package image

// A local image's new layer: a tar stream stored and checked exactly as a
// pulled one.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"github.com/opencontainers/go-digest"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/store"
)

// StoreLayer stores the layer tar read from r (plain, gzip or zstd,
// detected) in s: extracted with the same checks as a pulled layer (no
// "..", no write through a symlink, no hardlink out) and kept as a gzip
// blob. It returns the published layer's info (another writer's, if the
// same content was already there).
func StoreLayer(s *store.Store, r io.Reader, rootless bool) (*store.LayerInfo, error) {
	plain, err := decompress.Open(r)
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
		DiffID:    digest.NewDigest(digest.SHA256, diffSum).String(),
		Digest:    digest.NewDigest(digest.SHA256, blobSum).String(),
		MediaType: string(types.OCILayer), Size: size,
	}
	if err := t.Commit(info); err != nil {
		return nil, err
	}
	return s.LayerInfo(info.DiffID)
}

// StoreWrittenLayer stores the layer tar that write produces, streamed
// through a pipe: no temporary tarball.
func StoreWrittenLayer(s *store.Store, write func(io.Writer) error, rootless bool) (*store.LayerInfo, error) {
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(write(pw)) }()
	layer, err := StoreLayer(s, pr, rootless)
	pr.CloseWithError(errors.New("layer store gave up"))
	return layer, err
}
