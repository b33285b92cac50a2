package decompress

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

var (
	gzipMagic = []byte{0x1f, 0x8b}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Stream is a stream with its compression taken off.
type Stream struct {
	io.Reader
	// Format is "gzip" or "zstd", or "" for a stream read as it is.
	Format string
	close  func()
}

// Close releases the decompressor (not the stream under it).
func (d *Stream) Close() {
	if d.close != nil {
		d.close()
	}
}

// Open picks gzip, zstd or none by the stream's first bytes, as
// docker's import and layer handling do: anything that is neither is taken
// as a plain tar.
func Open(r io.Reader) (*Stream, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(4)
	switch {
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
