package main

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// layerPlan is one layer of the generated image: how many small files (a
// Debian-like tree of docs, libs and configs) and how many bytes in total.
type layerPlan struct {
	smallFiles int
	totalBytes int64
}

// fatPlan is the 8-layer image the pull benchmark moves: 190 MB unpacked in
// ~5000 files, a big base layer then smaller ones, as a distro image plus a
// runtime plus an app would be.
var fatPlan = []layerPlan{
	{2000, 60e6},
	{1200, 30e6},
	{800, 25e6},
	{500, 20e6},
	{300, 20e6},
	{200, 15e6},
	{100, 12e6},
	{50, 8e6},
}

// fatSeed fixes the generated content so every run pulls the same bytes.
const fatSeed = 0x5c1ff

var fatEpoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// genLayer is a gzip layer written to disk, with the digests a registry and
// an image config need, computed while writing so nothing is read twice.
type genLayer struct {
	path    string
	digest  v1.Hash
	diffID  v1.Hash
	size    int64 // compressed
	rawSize int64
	files   int
}

// genLayer satisfies partial.CompressedLayer plus DiffID, so ggcr never
// re-reads (and re-hashes) the blob to build the manifest.
func (l *genLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *genLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *genLayer) Size() (int64, error)     { return l.size, nil }
func (l *genLayer) MediaType() (types.MediaType, error) {
	return types.DockerLayer, nil
}
func (l *genLayer) Compressed() (io.ReadCloser, error) { return os.Open(l.path) }

var _ partial.CompressedLayer = (*genLayer)(nil)

// generateLayers writes plan's layers as dir/layer-N.tar.gz, two at a time
// (gzip is the cost; this VM has 2 cores).
func generateLayers(dir string, plan []layerPlan, seed uint64) ([]*genLayer, error) {
	out := make([]*genLayer, len(plan))
	var g errgroup.Group
	g.SetLimit(2)
	for i, p := range plan {
		g.Go(func() error {
			l, err := writeLayer(filepath.Join(dir, fmt.Sprintf("layer-%d.tar.gz", i)), i, p, seed)
			out[i] = l
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// countWriter counts and hashes what passes through it.
type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

func writeLayer(path string, idx int, p layerPlan, seed uint64) (*genLayer, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("generate layer %d: %w", idx, err)
	}
	defer f.Close()
	zsum, rawsum := sha256.New(), sha256.New()
	zc := &countWriter{w: io.MultiWriter(f, zsum)}
	zw, err := gzip.NewWriterLevel(zc, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	rc := &countWriter{w: io.MultiWriter(zw, rawsum)}
	tw := tar.NewWriter(rc)
	files, err := fillLayer(tw, idx, p, rand.New(rand.NewPCG(seed, uint64(idx))))
	if err != nil {
		return nil, fmt.Errorf("generate layer %d: %w", idx, err)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("generate layer %d: %w", idx, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("generate layer %d: %w", idx, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("generate layer %d: %w", idx, err)
	}
	return &genLayer{
		path:    path,
		digest:  v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", zsum.Sum(nil))},
		diffID:  v1.Hash{Algorithm: "sha256", Hex: fmt.Sprintf("%x", rawsum.Sum(nil))},
		size:    zc.n,
		rawSize: rc.n,
		files:   files,
	}, nil
}

// smallDirs are where a Debian rootfs keeps its thousands of small files.
var smallDirs = []string{
	"usr/share/doc", "usr/lib/x86_64-linux-gnu", "usr/share/locale/de/LC_MESSAGES",
	"usr/share/man/man1", "etc", "usr/lib/python3/dist-packages", "usr/share/zoneinfo",
}

// fillLayer writes a layer's entries and returns how many regular files it has:
// small files spread over package dirs, a few symlinks, then large files
// that take the rest of the byte budget.
func fillLayer(tw *tar.Writer, idx int, p layerPlan, r *rand.Rand) (int, error) {
	root := fmt.Sprintf("opt/l%d", idx) // layers do not overlap, so every file is new
	seen := map[string]bool{}
	mkdirs := func(dir string) error {
		var cur string
		for _, part := range strings.Split(dir, "/") {
			cur = filepath.Join(cur, part)
			if seen[cur] {
				continue
			}
			seen[cur] = true
			h := &tar.Header{Name: cur + "/", Typeflag: tar.TypeDir, Mode: 0o755, ModTime: fatEpoch}
			if err := tw.WriteHeader(h); err != nil {
				return err
			}
		}
		return nil
	}
	var written int64
	files := 0
	for i := 0; i < p.smallFiles; i++ {
		dir := fmt.Sprintf("%s/%s/pkg%03d", root, smallDirs[r.IntN(len(smallDirs))], r.IntN(p.smallFiles/10+1))
		if err := mkdirs(dir); err != nil {
			return 0, err
		}
		// log-uniform 64 B .. 16 KiB: most files tiny, a few pages.
		size := int64(64 << uint(r.IntN(9)))
		size += r.Int64N(size)
		name := fmt.Sprintf("%s/f%05d", dir, i)
		if err := writeFile(tw, name, size, r); err != nil {
			return 0, err
		}
		if i%50 == 0 {
			h := &tar.Header{Name: name + ".link", Typeflag: tar.TypeSymlink, Linkname: fmt.Sprintf("f%05d", i), Mode: 0o777, ModTime: fatEpoch}
			if err := tw.WriteHeader(h); err != nil {
				return 0, err
			}
		}
		written += size
		files++
	}
	bigDir := root + "/usr/lib/big"
	if err := mkdirs(bigDir); err != nil {
		return 0, err
	}
	for i := 0; written < p.totalBytes; i++ {
		size := min(int64(1<<20+r.IntN(7<<20)), p.totalBytes-written)
		if err := writeFile(tw, fmt.Sprintf("%s/blob%02d.bin", bigDir, i), size, r); err != nil {
			return 0, err
		}
		written += size
		files++
	}
	return files, nil
}

func writeFile(tw *tar.Writer, name string, size int64, r *rand.Rand) error {
	h := &tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644, Size: size, ModTime: fatEpoch}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err := io.CopyN(tw, &mixedReader{r: r}, size)
	return err
}

// words is the vocabulary of the text parts: repetitive enough that gzip
// gains ~4x on it, as on docs and configs.
var words = strings.Fields(`the of and to in is for on with as by that this from be are at or
an it not which have can if will all but has more one was when other use file
package debian version license copyright system user data library default config
error value return function string int void struct include define static const
usr lib share doc bin etc var opt local python perl shell module import class`)

// mixedReader yields 4 KiB blocks that are random (like already compressed or
// binary code) a fifth of the time and text otherwise, so the layer
// gzips about 2-3x as real images do.
type mixedReader struct {
	r   *rand.Rand
	buf []byte
}

func (m *mixedReader) Read(p []byte) (int, error) {
	if len(m.buf) == 0 {
		m.fill()
	}
	n := copy(p, m.buf)
	m.buf = m.buf[n:]
	return n, nil
}

func (m *mixedReader) fill() {
	const block = 4096
	b := make([]byte, 0, block+16)
	if m.r.IntN(5) == 0 {
		for len(b) < block {
			b = binary.LittleEndian.AppendUint64(b, m.r.Uint64())
		}
	} else {
		for len(b) < block {
			b = append(b, words[m.r.IntN(len(words))]...)
			if m.r.IntN(12) == 0 {
				b = append(b, '\n')
			} else {
				b = append(b, ' ')
			}
		}
	}
	m.buf = b[:block]
}
