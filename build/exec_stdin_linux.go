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
	"path/filepath"
	"strings"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"golang.org/x/sys/unix"
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
	dir, err = os.MkdirTemp(tmpParent, stdinContextPrefix)
	if err != nil {
		return "", nil, cleanup, err
	}
	// Held while the build lives: a killed build's directory is the one
	// whose lock is free (SweepStdinContexts).
	lock, err := lockDir(dir, false)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, cleanup, err
	}
	cleanup = func() {
		os.RemoveAll(dir)
		unix.Close(lock)
	}
	o := archive.ExtractOptions{Chown: os.Geteuid() == 0}
	if _, err := archive.ExtractDir(br, dir, o); err != nil {
		cleanup()
		return "", nil, func() {}, fmt.Errorf("read the build context from stdin: %w", err)
	}
	return dir, nil, cleanup, nil
}

// stdinContextPrefix names the directories StdinContext extracts into.
const stdinContextPrefix = "context-"

// SweepStdinContexts removes what killed builds extracted from stdin under
// tmpParent: the directories whose lock no build holds.
func SweepStdinContexts(tmpParent string) {
	ents, err := os.ReadDir(tmpParent)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), stdinContextPrefix) {
			continue
		}
		dir := filepath.Join(tmpParent, e.Name())
		if fd, err := lockDir(dir, true); err == nil {
			os.RemoveAll(dir)
			unix.Close(fd)
		}
	}
}

// lockDir takes an exclusive flock on directory dir (nonBlocking: fail at
// once when another process holds it) and returns the locked fd.
func lockDir(dir string, nonBlocking bool) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	how := unix.LOCK_EX
	if nonBlocking {
		how |= unix.LOCK_NB
	}
	if err := unix.Flock(fd, how); err != nil {
		unix.Close(fd)
		return -1, &os.PathError{Op: "flock", Path: dir, Err: err}
	}
	return fd, nil
}
