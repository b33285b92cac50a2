package pull

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/skiff-dev/skiff/fs"
	"github.com/skiff-dev/skiff/store"
)

// layerJob is one layer to fetch: its blob digest from the manifest and its
// diffID from the config.
type layerJob struct {
	digest    v1.Hash
	diffID    v1.Hash
	mediaType string
	size      int64
	open      func() (io.ReadCloser, error) // the compressed blob
}

// short is docker's 12-hex layer id in progress lines.
func short(h v1.Hash) string {
	if len(h.Hex) < 12 {
		return h.Hex
	}
	return h.Hex[:12]
}

// fetchLayer streams one blob: download -> (blob file, digest) ->
// decompress -> (diffID digest) -> extract, in one pass with no temporary
// tarball, and publishes the layer only if both digests match.
func fetchLayer(ctx context.Context, s *store.Store, j layerJob, p *progress, rootless bool) error {
	id := short(j.digest)
	t, err := s.NewLayer()
	if err != nil {
		return err
	}
	defer t.Discard()
	blob, err := os.Create(t.BlobPath())
	if err != nil {
		return fmt.Errorf("create blob: %w", err)
	}
	defer blob.Close()
	body, err := j.open()
	if err != nil {
		return err
	}
	p.set(id, "Downloading", j.size)
	pl := &pipeline{body: body}
	defer pl.close()

	compressed := &digester{r: body, h: sha256.New(), want: j.digest.String(), size: j.size}
	pl.net = newReadahead(compressed, io.MultiWriter(blob, counter{p, id}))
	plain, err := pl.decompress()
	if err != nil {
		return err
	}
	uncompressed := sha256.New()
	// A second readahead lets decompression run ahead of the file writes.
	pl.plain = newReadahead(plain, uncompressed)
	size, err := fs.ExtractLayer(pl.plain, t.Dir(), fs.ExtractOptions{Rootless: rootless})
	if err != nil {
		return err
	}
	// The decompressor may stop at its end marker: the digest must cover
	// every byte the registry sent.
	if _, err := io.Copy(io.Discard, pl.net); err != nil {
		return fmt.Errorf("download: %w", err)
	}
	if err := compressed.check(); err != nil {
		return err
	}
	if got := digestOf(uncompressed); got != j.diffID.String() {
		return fmt.Errorf("diffID mismatch: uncompressed content is %s, the image config says %s", got, j.diffID)
	}
	if err := blob.Close(); err != nil {
		return fmt.Errorf("write blob: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	testPause("before-publish")
	err = t.Commit(store.LayerInfo{DiffID: j.diffID.String(), Digest: j.digest.String(), MediaType: j.mediaType, Size: size})
	if err != nil {
		return err
	}
	p.set(id, "Pull complete", 0)
	return nil
}

// pipeline owns a layer's reader goroutines and decompressor so they are
// torn down upstream first: closing the body unblocks the network
// readahead, whose end unblocks the decompressor, whose end frees the second
// readahead; only then is the decompressor itself released.
type pipeline struct {
	body       io.ReadCloser
	net, plain *readahead
	zclose     func()
}

func (pl *pipeline) close() {
	pl.body.Close()
	if pl.net != nil {
		pl.net.Close()
	}
	if pl.plain != nil {
		pl.plain.Close()
	}
	if pl.zclose != nil {
		pl.zclose()
	}
}

// decompress picks gzip, zstd or a plain tar by the stream's magic bytes.
func (pl *pipeline) decompress() (io.Reader, error) {
	br := bufio.NewReaderSize(pl.net, 64<<10)
	magic, _ := br.Peek(4)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		pl.zclose = func() { zr.Close() }
		return zr, nil
	case bytes.Equal(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		pl.zclose = zr.Close
		return zr, nil
	}
	return br, nil
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// digester hashes the blob as it is read. It sits directly on the body so
// that when go-containerregistry's own check fails at the end of the blob,
// the error can say plainly that the digest did not match.
type digester struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want string
	size int64
}

func (d *digester) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	if err != nil && err != io.EOF && d.n == d.size {
		if cerr := d.check(); cerr != nil {
			return n, cerr
		}
	}
	return n, err
}

func (d *digester) check() error {
	if got := digestOf(d.h); got != d.want {
		return fmt.Errorf("digest mismatch: the registry sent %s (corrupt or tampered blob)", got)
	}
	return nil
}

func sha256Of(b []byte) hash.Hash {
	h := sha256.New()
	h.Write(b)
	return h
}

// testPause lets the e2e suite kill -9 a pull at an exact point that is
// otherwise too brief to hit (SKIFF_TEST_PAUSE=before-publish: the layer is
// extracted and verified but not yet renamed into place).
func testPause(point string) {
	if os.Getenv("SKIFF_TEST_PAUSE") != point {
		return
	}
	fmt.Fprintln(os.Stderr, "skiff-test-pause: "+point)
	time.Sleep(time.Minute)
}
