package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/internal/units"
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

// fetchLayer streams one blob: download -> (blob file, digest) ->
// decompress -> (diffID digest) -> extract, in one pass with no temporary
// tarball, and publishes the layer only if both digests match.
func fetchLayer(ctx context.Context, s *store.Store, j layerJob, p *progress, rootless bool) error {
	id := shortid.Of(j.digest.Hex)
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
	compressed := &digester{r: body, h: sha256.New(), want: j.digest.String(), size: j.size}
	pl := &pipeline{body: body, conn: compressed}
	defer pl.close()

	pl.net = newReadahead(compressed, io.MultiWriter(blob, counter{p, id}))
	plain, err := pl.decompress()
	if err != nil {
		return pl.cause(err)
	}
	uncompressed := sha256.New()
	// A second readahead lets decompression run ahead of the file writes.
	pl.plain = newReadahead(plain, uncompressed)
	size, err := archive.ExtractDir(pl.plain, t.Dir(), archive.LayerOptions(rootless))
	if err != nil {
		return pl.cause(fmt.Errorf("extract layer: %w", err))
	}
	// The decompressor may stop at its end marker: the digest must cover
	// every byte the registry sent.
	if _, err := io.Copy(io.Discard, pl.net); err != nil {
		return pl.cause(fmt.Errorf("download: %w", err))
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
	conn       *digester // the first reader on body
	net, plain *readahead
	zr         *decompressing // nil for a plain tar
	zclose     func()
}

// cause is the root of a failure seen downstream. A connection cut short
// surfaces in gzip or tar as "unexpected EOF", and a corrupt blob as a
// broken gzip or tar stream, so the download is finished first: a blob that
// is not what the manifest says is the cause of whatever failed after it.
// Only a blob that checks out blames the decompressor, then the tar.
func (pl *pipeline) cause(err error) error {
	if pl.plain != nil {
		pl.plain.Close() // the only other reader of pl.net, through the decompressor
	}
	_, derr := io.Copy(io.Discard, pl.net)
	if cerr := pl.conn.err(); cerr != nil {
		return cerr
	}
	if derr != nil {
		return fmt.Errorf("download: %w", derr) // writing the blob file failed
	}
	if cerr := pl.conn.check(); cerr != nil {
		return cerr
	}
	if zerr := pl.zr.err(); zerr != nil {
		return zerr
	}
	return err
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

// decompress takes off the blob's compression (gzip, zstd or none, by its
// first bytes), its failures named for cause.
func (pl *pipeline) decompress() (io.Reader, error) {
	d, err := decompress.Open(pl.net)
	if err != nil {
		return nil, err
	}
	if d.Format == "" {
		return d, nil
	}
	pl.zclose = d.Close
	pl.zr = &decompressing{r: d, format: d.Format}
	return pl.zr, nil
}

func digestOf(h hash.Hash) string { return "sha256:" + hex.EncodeToString(h.Sum(nil)) }

// digester hashes the blob as it is read. It sits directly on the body so
// that when go-containerregistry's own check fails at the end of the blob,
// the error can say plainly that the digest did not match, and so that a
// download cut short is told apart from a corrupt stream: every reader
// downstream (gzip, tar) sees a short body only as "unexpected EOF".
type digester struct {
	r    io.Reader
	h    hash.Hash
	n    int64
	want string
	size int64
	// failed is the first error the download itself ended with, kept for
	// fetchLayer: the decompressor and the tar reader wrap or replace it.
	failed atomic.Pointer[error]
}

func (d *digester) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	if err == nil || err == io.EOF && !d.short() {
		return n, err
	}
	err = d.explain(err)
	d.failed.CompareAndSwap(nil, &err)
	return n, err
}

// short says the body ended before the manifest's size.
func (d *digester) short() bool { return d.size > 0 && d.n < d.size }

// explain names what ended the download early.
func (d *digester) explain(err error) error {
	if err != io.EOF && d.n == d.size {
		if cerr := d.check(); cerr != nil {
			return cerr
		}
	}
	if cerr := d.connectionFailure(err); cerr != nil {
		return cerr
	}
	return err
}

// connectionFailure names a read error that means the registry's connection
// ended before the whole blob came, or nil for any other outcome.
func (d *digester) connectionFailure(err error) error {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Errorf("connection reset by the registry after %s: %w", d.sofar(), err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("connection closed by the registry after %s: %w", d.sofar(), err)
	case err == io.EOF && d.short():
		// A body without Content-Length ends at the close: short of the
		// manifest's size, it was cut.
		return fmt.Errorf("connection closed by the registry after %s: %w", d.sofar(), io.ErrUnexpectedEOF)
	}
	return nil
}

// sofar is "1.2MB of 3.4MB" for messages.
func (d *digester) sofar() string {
	if d.size <= 0 {
		return units.HumanSize(d.n)
	}
	return units.HumanSize(d.n) + " of " + units.HumanSize(d.size)
}

// err is the error the download ended with, if any.
func (d *digester) err() error {
	if e := d.failed.Load(); e != nil {
		return *e
	}
	return nil
}

func (d *digester) check() error {
	if got := digestOf(d.h); got != d.want {
		return fmt.Errorf("digest mismatch: the registry sent %s (corrupt or tampered blob)", got)
	}
	return nil
}

// decompressing is the decompressor's output with its failures named, so
// that a corrupt stream reads as such and not as a broken tar.
type decompressing struct {
	r      io.Reader
	format string
	failed atomic.Pointer[error]
}

func (d *decompressing) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("decompressing %s: %w", d.format, err)
		d.failed.CompareAndSwap(nil, &err)
	}
	return n, err
}

func (d *decompressing) err() error {
	if d == nil {
		return nil
	}
	if e := d.failed.Load(); e != nil {
		return *e
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
