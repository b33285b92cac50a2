package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// LayerInfo is layers/<diffID>/layer.json: what ties an extracted tree back
// to the compressed blob it came from.
type LayerInfo struct {
	DiffID    string `json:"diffID"`
	Digest    string `json:"digest"` // compressed blob as pulled
	MediaType string `json:"mediaType"`
	Size      int64  `json:"size"` // uncompressed content size
}

// HasLayer reports whether a layer is published; a published layer is complete.
func (s *Store) HasLayer(diffID string) bool {
	_, err := os.Stat(filepath.Join(s.root, "layers", hexOf(diffID), "layer.json"))
	return validDigest(diffID) == nil && err == nil
}

// LayerInfo reads a published layer's metadata.
func (s *Store) LayerInfo(diffID string) (*LayerInfo, error) {
	if err := validDigest(diffID); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(s.root, "layers", hexOf(diffID), "layer.json"))
	if err != nil {
		return nil, fmt.Errorf("layer %s: %w", diffID, err)
	}
	var li LayerInfo
	if err := json.Unmarshal(b, &li); err != nil {
		return nil, fmt.Errorf("layer %s: layer.json is corrupt: %w", diffID, err)
	}
	return &li, nil
}

// TempLayer is a layer being written under layers/.tmp; only Commit makes it
// visible. Its flocked lock file tells other writers it is alive.
type TempLayer struct {
	s    *Store
	dir  string
	lock *os.File
}

// Dir is where the layer's tree is extracted.
func (t *TempLayer) Dir() string { return filepath.Join(t.dir, "diff") }

// BlobPath is where the compressed blob is written while streaming.
func (t *TempLayer) BlobPath() string { return filepath.Join(t.dir, "blob") }

// CleanTemps removes temp layers left by dead writers (killed pulls).
// NewLayer does it too; pull calls it up front so that a pull which finds
// every layer present still clears the debris.
func (s *Store) CleanTemps() { s.sweep(filepath.Join(s.root, "layers", ".tmp")) }

// NewLayer starts a layer, first removing temps left by dead writers.
func (s *Store) NewLayer() (*TempLayer, error) {
	tmp := filepath.Join(s.root, "layers", ".tmp")
	s.sweep(tmp)
	for {
		name := randHex()
		lockPath := filepath.Join(tmp, name+".lock")
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("new layer: %w", err)
		}
		f.Close()
		lock, err := flock(lockPath, lockEx)
		if err != nil {
			return nil, fmt.Errorf("new layer: %w", err)
		}
		if !sameFile(lock, lockPath) { // a sweeper took it before we locked it
			lock.Close()
			continue
		}
		t := &TempLayer{s: s, dir: filepath.Join(tmp, name), lock: lock}
		if err := os.MkdirAll(t.Dir(), 0o755); err != nil {
			t.Discard()
			return nil, fmt.Errorf("new layer: %w", err)
		}
		return t, nil
	}
}

// sweep removes temp layers whose writer died (their lock is free). A
// writer creates and locks X.lock before it makes X, so a dir is judged by
// its lock as it is now, not as the listing saw it.
func (s *Store) sweep(tmp string) {
	ents, err := os.ReadDir(tmp)
	if err != nil {
		return
	}
	for _, e := range ents {
		if base, ok := strings.CutSuffix(e.Name(), ".lock"); ok {
			if _, err := os.Lstat(filepath.Join(tmp, base)); err == nil {
				continue // judged with its dir
			}
			if f, free := tryLock(filepath.Join(tmp, e.Name())); free {
				os.Remove(filepath.Join(tmp, e.Name()))
				f.Close()
			}
			continue
		}
		dir, lock := filepath.Join(tmp, e.Name()), filepath.Join(tmp, e.Name()+".lock")
		f, free := tryLock(lock)
		if free {
			os.RemoveAll(dir)
			os.Remove(lock)
			f.Close()
		} else if _, err := os.Lstat(lock); errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir) // its writer is gone with its lock
		}
	}
}

// Commit publishes the verified layer: blob first, then the tree by one
// rename. If another writer published the same diffID first, ours is dropped.
func (t *TempLayer) Commit(info LayerInfo) error {
	defer t.Discard()
	if err := validDigest(info.DiffID); err != nil {
		return err
	}
	if err := validDigest(info.Digest); err != nil {
		return err
	}
	if _, err := os.Stat(t.BlobPath()); err == nil {
		if err := os.Rename(t.BlobPath(), t.s.BlobPath(info.Digest)); err != nil {
			return fmt.Errorf("publish blob %s: %w", info.Digest, err)
		}
	}
	b, err := json.Marshal(info)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(t.dir, "layer.json"), b, 0o600); err != nil {
		return fmt.Errorf("publish layer %s: %w", info.DiffID, err)
	}
	dst := filepath.Join(t.s.root, "layers", hexOf(info.DiffID))
	err = os.Rename(t.dir, dst)
	if err != nil && t.s.HasLayer(info.DiffID) {
		return nil // a concurrent pull won; both trees are the same content
	}
	if err != nil && errors.Is(err, os.ErrExist) {
		// A dir without layer.json is debris from a pre-rename crash of an
		// older layout; replace it.
		os.RemoveAll(dst)
		err = os.Rename(t.dir, dst)
	}
	if err != nil {
		return fmt.Errorf("publish layer %s: %w", info.DiffID, err)
	}
	return nil
}

// Discard removes the temp layer (a no-op after a successful Commit).
func (t *TempLayer) Discard() {
	if t.lock == nil {
		return
	}
	os.RemoveAll(t.dir)
	os.Remove(t.lock.Name())
	t.lock.Close()
	t.lock = nil
}

// LockFetch serialises fetching one layer across processes, so concurrent
// pulls of images that share a layer download it once: the second waits,
// then finds it published. It polls so ctx can cancel the wait.
func (s *Store) LockFetch(ctx context.Context, diffID string, waiting func()) (release func(), err error) {
	if err := validDigest(diffID); err != nil {
		return nil, err
	}
	path := filepath.Join(s.root, "layers", ".tmp", "fetch-"+hexOf(diffID)+".lock")
	announced := false
	for {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock layer %s: %w", diffID, err)
		}
		if ok := tryFlock(f); ok {
			if sameFile(f, path) {
				return func() { os.Remove(path); f.Close() }, nil
			}
			f.Close() // removed by its last holder meanwhile: lock the new one
			continue
		}
		f.Close()
		if !announced && waiting != nil {
			waiting()
			announced = true
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
