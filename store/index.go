package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// index is repositories.json: canonical "name:tag" and "name@digest" -> image id.
type indexFile struct {
	Refs map[string]string `json:"refs"`
}

func (s *Store) indexPath() string { return filepath.Join(s.root, "repositories.json") }

// readIndex needs no lock: the file is only ever replaced by a rename.
func (s *Store) readIndex() (map[string]string, error) {
	b, err := os.ReadFile(s.indexPath())
	if errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read tag index: %w", err)
	}
	var f indexFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("tag index %s is corrupt: %w", s.indexPath(), err)
	}
	if f.Refs == nil {
		f.Refs = map[string]string{}
	}
	return f.Refs, nil
}

func (s *Store) writeIndex(refs map[string]string) error {
	b, err := json.MarshalIndent(indexFile{Refs: refs}, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(s.indexPath(), b); err != nil {
		return fmt.Errorf("write tag index: %w", err)
	}
	return nil
}

// withLock runs fn holding store.lock, which serialises every change to the
// tag index and image records across processes.
func (s *Store) withLock(fn func() error) error {
	f, err := flock(filepath.Join(s.root, "store.lock"), lockEx)
	if err != nil {
		return err
	}
	defer f.Close()
	return fn()
}

// KeepLayers holds off layer and image removal (rmi) until release is
// called. A pull calls it before looking for existing layers, so a layer it
// decides to reuse cannot vanish before its image record names it; run and
// create call it before looking up their image and release it once their
// container's record names the image, so rmi's check of the containers
// (under the exclusive lock) either sees that record or runs before the
// image was looked up.
func (s *Store) KeepLayers() (release func(), err error) {
	f, err := flock(filepath.Join(s.root, "gc.lock"), lockSh)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// PutBlob stores small blobs (manifest, config) after checking their digest.
func (s *Store) PutBlob(digest string, data []byte) error {
	if err := validDigest(digest); err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != digest {
		return fmt.Errorf("blob %s: digest mismatch: content is %s", digest, got)
	}
	path := s.BlobPath(digest)
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	if err := writeFileAtomic(path, data); err != nil {
		return fmt.Errorf("write blob %s: %w", digest, err)
	}
	return nil
}

// NewImage describes an image whose layers are already published.
type NewImage struct {
	Manifest []byte // raw manifest as pulled
	Config   []byte // raw config as pulled
	Layers   []string
	Size     int64
	Created  time.Time
	Names    []string // canonical name:tag and name@digest refs to point at it
}

// AddImage stores the manifest and config, writes the image record and points
// names at it; any name that pointed at another image moves, as docker's tags.
func (s *Store) AddImage(n NewImage) (*Image, error) {
	cs := sha256.Sum256(n.Config)
	id := "sha256:" + hex.EncodeToString(cs[:])
	ms := sha256.Sum256(n.Manifest)
	mdigest := "sha256:" + hex.EncodeToString(ms[:])
	for _, l := range n.Layers {
		if _, err := os.Stat(s.LayerDir(l)); err != nil {
			return nil, fmt.Errorf("add image %s: layer %s is not in the store: %w", id, l, err)
		}
	}
	if err := s.PutBlob(id, n.Config); err != nil {
		return nil, err
	}
	if err := s.PutBlob(mdigest, n.Manifest); err != nil {
		return nil, err
	}
	rec, err := json.MarshalIndent(record{ID: id, Manifest: mdigest, Layers: n.Layers, Created: n.Created, Size: n.Size}, "", "  ")
	if err != nil {
		return nil, err
	}
	err = s.withLock(func() error {
		if err := writeFileAtomic(filepath.Join(s.root, "images", hexOf(id)+".json"), rec); err != nil {
			return fmt.Errorf("write image record %s: %w", id, err)
		}
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		for _, name := range n.Names {
			idx[name] = id
		}
		return s.writeIndex(idx)
	})
	if err != nil {
		return nil, err
	}
	return s.LookupImage(id)
}

// Tag points the canonical name:tag at image id.
func (s *Store) Tag(id, name string) error {
	if strings.Contains(name, "@") {
		return fmt.Errorf("tag %s: a tag cannot be a digest reference", name)
	}
	return s.withLock(func() error {
		if _, err := os.Stat(filepath.Join(s.root, "images", hexOf(id)+".json")); err != nil {
			return fmt.Errorf("tag %s: %w: %s", name, ErrImageNotFound, id)
		}
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		idx[name] = id
		return s.writeIndex(idx)
	})
}

// Untag removes one name; it reports the id it pointed at.
func (s *Store) Untag(name string) (string, error) {
	var id string
	err := s.withLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		var ok bool
		if id, ok = idx[name]; !ok {
			return fmt.Errorf("%w: %s", ErrImageNotFound, name)
		}
		delete(idx, name)
		return s.writeIndex(idx)
	})
	return id, err
}

// UsedImages answers which images containers use: image id -> the ids of
// the containers using it. Containers are not the store's to see (store and
// state are leaves), so the command that can join them hands it in.
type UsedImages func() (map[string][]string, error)

// InUseError is DeleteImage's refusal: a container uses the image.
type InUseError struct {
	ImageID, ContainerID string
}

func (e *InUseError) Error() string {
	return fmt.Sprintf("image %s is being used by container %s", e.ImageID, e.ContainerID)
}

// Deleted says what DeleteImage did, for rmi's output.
type Deleted struct {
	Untagged []string // names that pointed at the image
	Kept     bool     // a container uses the image: it stays, untagged (dangling)
	Layers   []string // diffIDs no remaining image used
}

// DeleteImage removes an image record, every name pointing at it, and the
// layers and blobs no remaining image uses. An image a container uses (in
// any state) is never removed, as docker keeps it: without force that is an
// *InUseError; with force its names go and it stays as a dangling image
// whose layers the container can still mount and commit. Forcing an image
// that is dangling already and used changes nothing: an *InUseError too.
//
// used is asked under the exclusive gc.lock, which run and create hold
// shared (KeepLayers) from looking up their image until their record is
// saved: no container can start using the image between the answer and
// the removal.
func (s *Store) DeleteImage(id string, force bool, used UsedImages) (*Deleted, error) {
	gc, err := flock(filepath.Join(s.root, "gc.lock"), lockEx)
	if err != nil {
		return nil, err
	}
	defer gc.Close()
	var users []string
	if used != nil {
		byImage, err := used()
		if err != nil {
			return nil, fmt.Errorf("remove image %s: checking containers: %w", id, err)
		}
		users = byImage[id]
	}
	if len(users) > 0 && !force {
		return nil, &InUseError{ImageID: id, ContainerID: users[0]}
	}
	d := &Deleted{Kept: len(users) > 0}
	err = s.withLock(func() error {
		idx, err := s.readIndex()
		if err != nil {
			return err
		}
		for name, target := range idx {
			if target == id {
				d.Untagged = append(d.Untagged, name)
				delete(idx, name)
			}
		}
		if d.Kept && len(d.Untagged) == 0 {
			return &InUseError{ImageID: id, ContainerID: users[0]}
		}
		if err := s.writeIndex(idx); err != nil {
			return err
		}
		if d.Kept {
			return nil
		}
		if err := os.Remove(filepath.Join(s.root, "images", hexOf(id)+".json")); err != nil {
			return fmt.Errorf("remove image %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if d.Kept {
		return d, nil
	}
	d.Layers, err = s.collect()
	return d, err
}

// collect removes layers and blobs no image record names. Callers hold the
// exclusive gc.lock, so no pull is between choosing a layer and recording it.
func (s *Store) collect() ([]string, error) {
	used := map[string]bool{}
	ids, err := s.imageIDs()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		b, err := os.ReadFile(filepath.Join(s.root, "images", hexOf(id)+".json"))
		if err != nil {
			continue
		}
		var r record
		if json.Unmarshal(b, &r) != nil {
			continue
		}
		used[hexOf(r.ID)], used[hexOf(r.Manifest)] = true, true
		for _, l := range r.Layers {
			used[hexOf(l)] = true
			if info, err := s.LayerInfo(l); err == nil {
				used[hexOf(info.Digest)] = true
			}
		}
	}
	var removed []string
	ents, _ := os.ReadDir(filepath.Join(s.root, "layers"))
	for _, e := range ents {
		if len(e.Name()) != 64 || used[e.Name()] {
			continue
		}
		if err := os.RemoveAll(filepath.Join(s.root, "layers", e.Name())); err != nil {
			return removed, fmt.Errorf("remove layer sha256:%s: %w", e.Name(), err)
		}
		removed = append(removed, "sha256:"+e.Name())
	}
	ents, _ = os.ReadDir(filepath.Join(s.root, "blobs", "sha256"))
	for _, e := range ents {
		if !used[e.Name()] {
			os.Remove(filepath.Join(s.root, "blobs", "sha256", e.Name()))
		}
	}
	return removed, nil
}
