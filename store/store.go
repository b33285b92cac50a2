package store

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// ErrImageNotFound is returned (wrapped) when no image matches a reference.
var ErrImageNotFound = errors.New("no such image")

// Store is an image store rooted at one directory.
type Store struct {
	root string
}

// Image is an image as run, images and inspect see it.
type Image struct {
	ID          string   // "sha256:<hex>" config digest
	RepoTags    []string // canonical: "docker.io/library/busybox:latest"
	RepoDigests []string // "docker.io/library/busybox@sha256:..."
	Layers      []string // diffIDs bottom -> top, "sha256:<hex>"
	Created     time.Time
	Size        int64 // sum of uncompressed layer sizes
	Config      v1.ConfigFile

	Manifest string // "sha256:<hex>" digest of the raw manifest kept in blobs/
}

// record is what images/<id-hex>.json holds; names live in the tag index so
// tagging never rewrites a record.
type record struct {
	ID       string    `json:"id"`
	Manifest string    `json:"manifest"`
	Layers   []string  `json:"layers"`
	Created  time.Time `json:"created"`
	Size     int64     `json:"size"`
}

// Open makes the store's layout under root if needed; it is cheap enough to
// call once per command.
func Open(root string) (*Store, error) {
	for _, d := range []string{"blobs/sha256", "layers/.tmp", "images"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o700); err != nil {
			return nil, fmt.Errorf("open store %s: %w", root, err)
		}
	}
	return &Store{root: root}, nil
}

// Root is the directory the store lives in.
func (s *Store) Root() string { return s.root }

// LayerDir is the extracted tree of a layer, an overlay lowerdir.
func (s *Store) LayerDir(diffID string) string {
	return filepath.Join(s.root, "layers", hexOf(diffID), "diff")
}

// BlobPath is where a blob (compressed layer, manifest, config) is kept.
func (s *Store) BlobPath(digest string) string {
	return filepath.Join(s.root, "blobs", "sha256", hexOf(digest))
}

func hexOf(digest string) string { return strings.TrimPrefix(digest, "sha256:") }

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// validDigest guards every digest that becomes a file name.
func validDigest(d string) error {
	h := strings.TrimPrefix(d, "sha256:")
	if !strings.HasPrefix(d, "sha256:") || len(h) != 64 || !isHex(h) {
		return fmt.Errorf("invalid digest %q: want sha256:<64 hex>", d)
	}
	return nil
}

// writeFileAtomic writes data to a temp file beside path and renames it over
// path, so readers see the old or the new content, never a torn one.
func writeFileAtomic(path string, data []byte) error {
	tmp := fmt.Sprintf("%s.tmp-%s", path, randHex())
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func randHex() string {
	b := make([]byte, 8)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// LookupImage finds an image by canonical name:tag, name@digest, full
// "sha256:<hex>" id, or an id prefix of at least 3 hex digits as docker.
func (s *Store) LookupImage(ref string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	if id, ok := idx[ref]; ok {
		return s.loadImage(id, idx)
	}
	id, err := s.matchID(ref)
	if err != nil {
		return nil, err
	}
	return s.loadImage(id, idx)
}

// matchID resolves a full id or an unambiguous id prefix.
func (s *Store) matchID(ref string) (string, error) {
	h := strings.TrimPrefix(ref, "sha256:")
	if len(h) < 3 || len(h) > 64 || !isHex(h) {
		return "", fmt.Errorf("%w: %s", ErrImageNotFound, ref)
	}
	ids, err := s.imageIDs()
	if err != nil {
		return "", err
	}
	var found []string
	for _, id := range ids {
		if strings.HasPrefix(hexOf(id), h) {
			found = append(found, id)
		}
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %s", ErrImageNotFound, ref)
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("image id prefix %q is ambiguous (%d images match): give more digits", ref, len(found))
}

// imageIDs lists the ids of all image records.
func (s *Store) imageIDs() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(s.root, "images"))
	if err != nil {
		return nil, fmt.Errorf("list images: %w", err)
	}
	var ids []string
	for _, e := range ents {
		h, ok := strings.CutSuffix(e.Name(), ".json")
		if ok && len(h) == 64 && isHex(h) {
			ids = append(ids, "sha256:"+h)
		}
	}
	return ids, nil
}

// CountImages counts the image records under root without opening (and so
// creating) the store: `info` must write nothing on a fresh machine.
func CountImages(root string) (int, error) {
	ids, err := (&Store{root: root}).imageIDs()
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	return len(ids), err
}

// Images lists every image, newest first as docker.
func (s *Store) Images() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	ids, err := s.imageIDs()
	if err != nil {
		return nil, err
	}
	var out []*Image
	for _, id := range ids {
		img, err := s.loadImage(id, idx)
		if errors.Is(err, ErrImageNotFound) {
			continue // removed while we listed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.After(out[j].Created) })
	return out, nil
}

// loadImage reads an image record and its config, with names from idx.
func (s *Store) loadImage(id string, idx map[string]string) (*Image, error) {
	if err := validDigest(id); err != nil {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, id)
	}
	b, err := os.ReadFile(filepath.Join(s.root, "images", hexOf(id)+".json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrImageNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("read image %s: %w", id, err)
	}
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("image record %s is corrupt: %w (remove it with skiff rmi -f)", id, err)
	}
	img := &Image{ID: r.ID, Layers: r.Layers, Created: r.Created, Size: r.Size, Manifest: r.Manifest}
	cb, err := os.ReadFile(s.BlobPath(id))
	if err != nil {
		return nil, fmt.Errorf("image %s: config blob: %w", id, err)
	}
	if err := json.Unmarshal(cb, &img.Config); err != nil {
		return nil, fmt.Errorf("image %s: config blob is corrupt: %w", id, err)
	}
	for name, target := range idx {
		if target != id {
			continue
		}
		if strings.Contains(name, "@") {
			img.RepoDigests = append(img.RepoDigests, name)
		} else {
			img.RepoTags = append(img.RepoTags, name)
		}
	}
	sort.Strings(img.RepoTags)
	sort.Strings(img.RepoDigests)
	return img, nil
}

// RawManifest returns the manifest bytes as pulled.
func (s *Store) RawManifest(img *Image) ([]byte, error) {
	return os.ReadFile(s.BlobPath(img.Manifest))
}

// RawConfig returns the config bytes as pulled.
func (s *Store) RawConfig(img *Image) ([]byte, error) {
	return os.ReadFile(s.BlobPath(img.ID))
}
