package e2e

import (
	"archive/tar"
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"

	"github.com/skiff-dev/skiff/internal/testenv"
)

// TestI8ArchiveDirReplacedByLink: a layer whose directory entry is later
// replaced by a symlink to a host file (a legal tar -x sequence) must not
// give that host file the directory's mode and times: they were set by
// name after the contents, through the link, so a pulled or imported layer
// could chmod any file of the host.
func TestI8ArchiveDirReplacedByLink(t *testing.T) {
	requireEnv(t)
	victim := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(victim, []byte("v\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	was := time.Unix(1700000000, 0)
	os.Chtimes(victim, was, was)
	files := []testenv.File{{Name: "d/", Type: tar.TypeDir, Mode: 0o777}, testenv.Symlink("d", victim)}
	raw, err := testenv.TarBytes(files)
	if err != nil {
		t.Fatal(err)
	}
	l, err := testenv.LayerFromTar(raw)
	if err != nil {
		t.Fatal(err)
	}
	img, err := testenv.ImageFromLayers(empty.Image, v1.Config{Cmd: []string{"sh"}}, l)
	if err != nil {
		t.Fatal(err)
	}
	ref := reg.Addr + "/i8archive/dirlink:latest"
	if _, err := testenv.Push(img, ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"pull", []string{"pull", ref}},
		{"import", []string{"import", "-", "i8archive:dirlink"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.Chmod(victim, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(victim, was, was)
			r := newStore(t).skiff(bytes.NewReader(raw), c.args...)
			if r.code != 0 {
				t.Fatalf("%s: exit %d: %s", c.name, r.code, r.stderr)
			}
			st, err := os.Stat(victim)
			if err != nil {
				t.Fatal(err)
			}
			if st.Mode().Perm() != 0o600 || !st.ModTime().Equal(was) {
				t.Errorf("the host file the layer's link points at got mode %o mtime %s, want 600 and %s",
					st.Mode().Perm(), st.ModTime(), was)
			}
		})
	}
}
