package build

// The build cache: a step's key (its parent image, its text after
// expansion, its sources' checksum) names the image it made, one small
// file per key in the image store's buildcache directory. A lookup is one
// file read and one image lookup, so a rebuild with nothing changed runs
// no container and writes no layer. Each built image's parent is kept
// too, for images to hide the intermediate ones as docker does.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/store"
)

// cacheKey is the key of a step from its parts.
func cacheKey(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s\n", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cacheDir(s *store.Store) string              { return filepath.Join(s.Root(), "buildcache") }
func parentsDir(root string) string               { return filepath.Join(root, "buildcache", "parents") }
func cachePath(s *store.Store, key string) string { return filepath.Join(cacheDir(s), key) }

// lookupCache is the image key names, if it is still in the store.
func lookupCache(s *store.Store, key string) *store.Image {
	b, err := os.ReadFile(cachePath(s, key))
	if err != nil {
		return nil
	}
	img, err := s.LookupImage(strings.TrimSpace(string(b)))
	if err != nil {
		return nil
	}
	return img
}

// recordCache names id by key and records parent as its parent.
func recordCache(s *store.Store, key, id, parent string) error {
	if err := os.MkdirAll(parentsDir(s.Root()), 0o700); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if err := writeAtomic(cachePath(s, key), id); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	if parent == "" {
		return nil
	}
	if err := writeAtomic(filepath.Join(parentsDir(s.Root()), hexOf(id)), parent); err != nil {
		return fmt.Errorf("build cache: %w", err)
	}
	return nil
}

// writeAtomic writes a small file by temp file and rename.
func writeAtomic(path, content string) error {
	tmp := fmt.Sprintf("%s.tmp%d", path, os.Getpid())
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func hexOf(id string) string { return strings.TrimPrefix(id, "sha256:") }

// BuiltParents maps each image a build made, by id ("sha256:..."), to
// the image it was made from, for the image store at root: images hides
// a parent that is untagged and still has a child, as docker hides
// intermediate images (images -a shows them). A store that never built
// anything has none.
func BuiltParents(root string) (map[string]string, error) {
	ents, err := os.ReadDir(parentsDir(root))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	parents := map[string]string{}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(parentsDir(root), e.Name())); err == nil {
			parents["sha256:"+e.Name()] = strings.TrimSpace(string(b))
		}
	}
	return parents, nil
}

// ForgetParent drops the record of id's parent once id is deleted (rmi).
func ForgetParent(root, id string) { os.Remove(filepath.Join(parentsDir(root), hexOf(id))) }
