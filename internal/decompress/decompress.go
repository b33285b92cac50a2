package decompress

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

var (
	gzipMagic  = []byte{0x1f, 0x8b}
	zstdMagic  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	xzMagic    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	bzip2Magic = []byte{'B', 'Z', 'h'}
)

// Stream is a stream with its compression taken off.
type Stream struct {
	io.Reader
	// Format is "gzip", "zstd", "xz" or "bzip2", or "" for a stream read
	// as it is.
	Format string
	close  func()
}

// Close releases the decompressor (not the stream under it).
func (d *Stream) Close() {
	if d.close != nil {
		d.close()
	}
}

// Open picks gzip, zstd, xz, bzip2 or none by the stream's first bytes, as
// docker's DecompressStream does for import, load and layers alike:
// anything that is none of them is taken as a plain tar.
func Open(r io.Reader) (*Stream, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(len(xzMagic))
	switch {
	case bytes.HasPrefix(magic, xzMagic):
		zr, err := xz.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("xz: %w", err)
		}
		return &Stream{Reader: zr, Format: "xz"}, nil
	case bytes.HasPrefix(magic, bzip2Magic) && len(magic) > 3 && magic[3] >= '1' && magic[3] <= '9':
		return &Stream{Reader: bzip2.NewReader(br), Format: "bzip2"}, nil
	case bytes.HasPrefix(magic, gzipMagic):
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		return &Stream{Reader: zr, Format: "gzip", close: func() { zr.Close() }}, nil
	case bytes.HasPrefix(magic, zstdMagic):
		zr, err := zstd.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return &Stream{Reader: zr, Format: "zstd", close: zr.Close}, nil
	}
	return &Stream{Reader: br}, nil
}
