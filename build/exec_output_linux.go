package build

// -o/--output: the final stage's filesystem exported as files or as a
// tar, read from a read-only view of the built image by the tar writer
// export and cp use.

import (
	"archive/tar"
	"fmt"
	"io"
	"os"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/store"
)

// Output is one --output: Type "local" (Dest a directory) or "tar" (Dest
// a file, "-" for stdout).
type Output struct {
	Type string
	Dest string
}

// WriteImageTar writes img's filesystem to w as a tar, names relative to
// its root.
func WriteImageTar(w io.Writer, images *store.Store, img *store.Image) error {
	if len(img.Layers) == 0 {
		return tar.NewWriter(w).Close() // metadata only: an empty tree
	}
	fd, release, err := openImageView(images, img)
	if err != nil {
		return fmt.Errorf("export the build result: %w", err)
	}
	defer release()
	if err := archive.Write(w, fd, archive.WriteOptions{Xattrs: true}); err != nil {
		return fmt.Errorf("export the build result: %w", err)
	}
	return nil
}

// ExportLocal writes img's filesystem into dir (made if missing), as
// BuildKit's local exporter: owners kept when run as root, the directory
// itself keeps its own mode.
func ExportLocal(dir string, images *store.Store, img *store.Image) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export the build result: %w", err)
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteImageTar(pw, images, img)) }()
	o := archive.ExtractOptions{Chown: os.Geteuid() == 0, Xattrs: true, ReplaceDirs: true}
	_, err := archive.ExtractDir(pr, dir, o)
	pr.CloseWithError(err)
	if err != nil {
		return fmt.Errorf("export the build result to %s: %w", dir, err)
	}
	return nil
}
