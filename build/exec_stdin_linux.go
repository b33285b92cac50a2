package build

// `skiff build -`: stdin is a tar context (plain, gzip or zstd) or a bare
// Dockerfile. A tar is the one context that cannot be read in place: it
// is extracted by the one extractor into a temporary directory.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
)

// StdinContext reads stdin's build input. A tar is extracted under
// tmpParent and dir names it (cleanup removes it); otherwise dockerfile is
// what was read and dir is "".
func StdinContext(r io.Reader, tmpParent string) (dir string, dockerfile []byte, cleanup func(), err error) {
	cleanup = func() {}
	d, err := decompress.Open(r)
	if err != nil {
		return "", nil, cleanup, fmt.Errorf("read the build context from stdin: %w", err)
	}
	defer d.Close()
	br := bufio.NewReaderSize(d, 64<<10)
	head, _ := br.Peek(512)
	if len(head) < 512 || !bytes.HasPrefix(head[257:], []byte("ustar")) {
		b, err := io.ReadAll(br)
		if err != nil {
			return "", nil, cleanup, fmt.Errorf("read the Dockerfile from stdin: %w", err)
		}
		return "", b, cleanup, nil
	}
	if err := os.MkdirAll(tmpParent, 0o700); err != nil {
		return "", nil, cleanup, err
	}
	dir, err = os.MkdirTemp(tmpParent, "context-")
	if err != nil {
		return "", nil, cleanup, err
	}
	cleanup = func() { os.RemoveAll(dir) }
	o := archive.ExtractOptions{Chown: os.Geteuid() == 0}
	if _, err := archive.ExtractDir(br, dir, o); err != nil {
		cleanup()
		return "", nil, func() {}, fmt.Errorf("read the build context from stdin: %w", err)
	}
	return dir, nil, cleanup, nil
}
