package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func openTest(t *testing.T) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// addLayer publishes a layer holding one file.
func addLayer(t *testing.T, s *Store, content string) string {
	t.Helper()
	tl, err := s.NewLayer()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(tl.Dir(), "f"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tl.BlobPath(), []byte("blob "+content), 0o644); err != nil {
		t.Fatal(err)
	}
	diffID := digest([]byte("diff " + content))
	if err := tl.Commit(LayerInfo{DiffID: diffID, Digest: digest([]byte("blob " + content)), Size: int64(len(content))}); err != nil {
		t.Fatal(err)
	}
	return diffID
}

// addImage stores an image whose config is cfg over the given layers.
func addImage(t *testing.T, s *Store, cfg string, layers []string, names ...string) *Image {
	t.Helper()
	img, err := s.AddImage(NewImage{
		Manifest: []byte(`{"manifest":` + fmt.Sprintf("%q", cfg) + `}`),
		Config:   []byte(cfg),
		Layers:   layers,
		Created:  time.Unix(1e9, 0),
		Names:    names,
	})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestLookupImage(t *testing.T) {
	s := openTest(t)
	l := addLayer(t, s, "a")
	img := addImage(t, s, `{"architecture":"amd64","os":"linux"}`, []string{l},
		"docker.io/library/busybox:latest", "docker.io/library/busybox@sha256:"+strings.Repeat("ab", 32))
	hexID := strings.TrimPrefix(img.ID, "sha256:")
	tests := []struct {
		ref     string
		wantErr error
	}{
		{ref: "docker.io/library/busybox:latest"},
		{ref: "docker.io/library/busybox@sha256:" + strings.Repeat("ab", 32)},
		{ref: img.ID},
		{ref: hexID},
		{ref: hexID[:3]},
		{ref: "sha256:" + hexID[:5]},
		{ref: hexID[:2], wantErr: ErrImageNotFound},
		{ref: "docker.io/library/busybox:other", wantErr: ErrImageNotFound},
		{ref: "../../etc", wantErr: ErrImageNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := s.LookupImage(tt.ref)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != img.ID || got.Config.Architecture != "amd64" || len(got.Layers) != 1 {
				t.Errorf("got %+v", got)
			}
			if len(got.RepoTags) != 1 || len(got.RepoDigests) != 1 {
				t.Errorf("names: tags %v digests %v", got.RepoTags, got.RepoDigests)
			}
		})
	}
}

func TestLookupAmbiguousPrefix(t *testing.T) {
	s := openTest(t)
	seen := map[string]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		cfg := fmt.Sprintf(`{"n":%d}`, i)
		p := strings.TrimPrefix(digest([]byte(cfg)), "sha256:")[:3]
		if prev, ok := seen[p]; ok {
			a, b = prev, cfg
		}
		seen[p] = cfg
	}
	ia := addImage(t, s, a, nil)
	ib := addImage(t, s, b, nil)
	prefix := strings.TrimPrefix(ia.ID, "sha256:")[:3]
	if _, err := s.LookupImage(prefix); err == nil || !strings.Contains(err.Error(), "ambiguous") {
		t.Errorf("prefix %s shared by two images: err = %v, want ambiguous", prefix, err)
	}
	// A longer prefix that tells them apart resolves.
	for _, img := range []*Image{ia, ib} {
		h := strings.TrimPrefix(img.ID, "sha256:")
		n := 4
		for strings.HasPrefix(strings.TrimPrefix(ia.ID, "sha256:"), h[:n]) && strings.HasPrefix(strings.TrimPrefix(ib.ID, "sha256:"), h[:n]) {
			n++
		}
		if got, err := s.LookupImage(h[:n]); err != nil || got.ID != img.ID {
			t.Errorf("LookupImage(%s) = %v, %v; want %s", h[:n], got, err, img.ID)
		}
	}
}

func TestDeleteImageKeepsSharedLayers(t *testing.T) {
	s := openTest(t)
	shared, own := addLayer(t, s, "shared"), addLayer(t, s, "own")
	base := addImage(t, s, `{"n":"base"}`, []string{shared}, "docker.io/library/base:1")
	derived := addImage(t, s, `{"n":"derived"}`, []string{shared, own}, "docker.io/library/derived:1")

	d, err := s.DeleteImage(derived.ID, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Layers) != 1 || d.Layers[0] != own {
		t.Errorf("deleted layers %v, want only %s", d.Layers, own)
	}
	if len(d.Untagged) != 1 || d.Untagged[0] != "docker.io/library/derived:1" {
		t.Errorf("untagged %v", d.Untagged)
	}
	if !s.HasLayer(shared) || s.HasLayer(own) {
		t.Errorf("shared layer kept: %v, own layer kept: %v", s.HasLayer(shared), s.HasLayer(own))
	}
	if _, err := os.Stat(s.BlobPath(digest([]byte("blob own")))); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unused blob kept: %v", err)
	}
	if _, err := s.LookupImage(base.ID); err != nil {
		t.Errorf("base image gone: %v", err)
	}
	if _, err := s.LookupImage("docker.io/library/derived:1"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("derived tag still resolves: %v", err)
	}
}

// TestDeleteImageUsedByContainer: an image a container uses keeps its
// record and layers (the container must still start and commit); force only
// takes its names away, and once the container is gone it is removable.
func TestDeleteImageUsedByContainer(t *testing.T) {
	s := openTest(t)
	base, top := addLayer(t, s, "base"), addLayer(t, s, "top")
	img := addImage(t, s, `{"n":"used"}`, []string{base, top}, "docker.io/library/used:1", "docker.io/library/used@"+digest([]byte("m")))
	users := map[string][]string{img.ID: {"c0ffee"}}
	used := func() (map[string][]string, error) { return users, nil }
	var inUse *InUseError

	if _, err := s.DeleteImage(img.ID, false, used); !errors.As(err, &inUse) || inUse.ContainerID != "c0ffee" {
		t.Fatalf("unforced: err = %v, want an InUseError naming c0ffee", err)
	}
	if got, err := s.LookupImage(img.ID); err != nil || len(got.RepoTags) != 1 {
		t.Fatalf("unforced refusal changed the image: %+v, %v", got, err)
	}
	d, err := s.DeleteImage(img.ID, true, used)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Kept || len(d.Untagged) != 2 || len(d.Layers) != 0 {
		t.Errorf("forced: %+v, want kept, 2 names untagged, no layer deleted", d)
	}
	got, err := s.LookupImage(img.ID)
	if err != nil || len(got.RepoTags)+len(got.RepoDigests) != 0 {
		t.Fatalf("forced: image %+v, %v; want it kept with no names", got, err)
	}
	if !s.HasLayer(base) || !s.HasLayer(top) {
		t.Errorf("forced: a layer the container needs is gone")
	}
	if _, err := s.DeleteImage(img.ID, true, used); !errors.As(err, &inUse) {
		t.Errorf("forcing a dangling used image: err = %v, want an InUseError", err)
	}
	users = nil // the container is removed
	if d, err = s.DeleteImage(img.ID, false, used); err != nil || d.Kept || len(d.Layers) != 2 {
		t.Fatalf("after the container: %+v, %v; want image and both layers deleted", d, err)
	}
	if s.HasLayer(base) || s.HasLayer(top) {
		t.Errorf("layers left that no image needs")
	}
}

// TestDeleteImageWaitsForKeepLayers: a create holding KeepLayers while it
// writes its record is seen by the removal, which waits for it.
func TestDeleteImageWaitsForKeepLayers(t *testing.T) {
	s := openTest(t)
	img := addImage(t, s, `{"n":"racing"}`, []string{addLayer(t, s, "l")}, "docker.io/library/racing:1")
	release, err := s.KeepLayers()
	if err != nil {
		t.Fatal(err)
	}
	var recorded atomic.Bool // the create's container record
	done := make(chan error)
	go func() {
		_, err := s.DeleteImage(img.ID, true, func() (map[string][]string, error) {
			if recorded.Load() {
				return map[string][]string{img.ID: {"new"}}, nil
			}
			return nil, nil
		})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("DeleteImage did not wait for KeepLayers: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	recorded.Store(true)
	release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := s.LookupImage(img.ID); err != nil {
		t.Errorf("image removed under a container being created: %v", err)
	}
}

func TestTagAndUntag(t *testing.T) {
	s := openTest(t)
	img := addImage(t, s, `{"n":1}`, nil, "docker.io/library/a:1")
	if err := s.Tag(img.ID, "docker.io/library/b:2"); err != nil {
		t.Fatal(err)
	}
	got, err := s.LookupImage("docker.io/library/b:2")
	if err != nil || got.ID != img.ID || len(got.RepoTags) != 2 {
		t.Fatalf("after tag: %+v, %v", got, err)
	}
	if err := s.Tag("sha256:"+strings.Repeat("0", 64), "docker.io/library/c:1"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("tagging a missing image: %v", err)
	}
	if id, err := s.Untag("docker.io/library/a:1"); err != nil || id != img.ID {
		t.Errorf("Untag = %s, %v", id, err)
	}
	if _, err := s.Untag("docker.io/library/a:1"); !errors.Is(err, ErrImageNotFound) {
		t.Errorf("second Untag: %v", err)
	}
}

func TestNewLayerSweepsDeadWriters(t *testing.T) {
	s := openTest(t)
	tmp := filepath.Join(s.Root(), "layers", ".tmp")
	// A writer killed mid-extraction leaves its dir and an unlocked lock file.
	os.MkdirAll(filepath.Join(tmp, "dead", "diff"), 0o755)
	os.WriteFile(filepath.Join(tmp, "dead.lock"), nil, 0o600)
	live, err := s.NewLayer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(tmp, "dead")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("dead writer's temp dir survived: %v", err)
	}
	// A live writer's temp survives another writer's sweep.
	other, err := s.NewLayer()
	if err != nil {
		t.Fatal(err)
	}
	defer other.Discard()
	if _, err := os.Stat(live.Dir()); err != nil {
		t.Errorf("live writer's temp dir swept: %v", err)
	}
	live.Discard()
	if _, err := os.Stat(live.Dir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Discard left %s", live.Dir())
	}
}

func TestCommitRaceKeepsFirst(t *testing.T) {
	s := openTest(t)
	a, _ := s.NewLayer()
	b, _ := s.NewLayer()
	os.WriteFile(filepath.Join(a.Dir(), "who"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(b.Dir(), "who"), []byte("b"), 0o644)
	info := LayerInfo{DiffID: digest([]byte("same")), Digest: digest([]byte("blob"))}
	if err := a.Commit(info); err != nil {
		t.Fatal(err)
	}
	if err := b.Commit(info); err != nil {
		t.Fatalf("second commit of the same layer: %v", err)
	}
	got, _ := os.ReadFile(filepath.Join(s.LayerDir(info.DiffID), "who"))
	if string(got) != "a" {
		t.Errorf("published tree is %q, want the first writer's", got)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "layers", ".tmp")); len(ents) != 0 {
		t.Errorf("temps left: %d", len(ents))
	}
}

func TestLockFetch(t *testing.T) {
	s := openTest(t)
	id := digest([]byte("layer"))
	release, err := s.LockFetch(context.Background(), id, nil)
	if err != nil {
		t.Fatal(err)
	}
	// A second fetcher waits, says so, and gives up when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	waited := false
	if _, err := s.LockFetch(ctx, id, func() { waited = true }); !errors.Is(err, context.DeadlineExceeded) || !waited {
		t.Fatalf("second LockFetch while held: err %v, waited %v", err, waited)
	}
	got := make(chan error)
	go func() {
		r, err := s.LockFetch(context.Background(), id, nil)
		if err == nil {
			r()
		}
		got <- err
	}()
	time.Sleep(100 * time.Millisecond)
	release()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("waiter never got the lock after release")
	}
}
