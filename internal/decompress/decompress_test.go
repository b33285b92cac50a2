package decompress

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// bzip2Plain is `printf 'a tar stream, or anything else\n' | bzip2 -9`:
// the standard library reads bzip2 but cannot write it.
var bzip2Plain = []byte{0x42, 0x5a, 0x68, 0x39, 0x31, 0x41, 0x59, 0x26, 0x53, 0x59, 0xfe, 0xd3, 0xd9, 0xd8, 0x00, 0x00, 0x03, 0xd1, 0x80, 0x00, 0x10, 0x40, 0x04, 0x22, 0xe7, 0x9c, 0x20, 0x20, 0x00, 0x22, 0x8d, 0x3d, 0x4f, 0x48, 0xc4, 0xf5, 0x05, 0x30, 0x00, 0x4d, 0x05, 0x1d, 0x31, 0x82, 0x5d, 0x27, 0xcf, 0x44, 0x9e, 0x56, 0x0a, 0x62, 0x85, 0xbd, 0x31, 0xf1, 0x77, 0x24, 0x53, 0x85, 0x09, 0x0f, 0xed, 0x3d, 0x9d, 0x80}

func TestOpen(t *testing.T) {
	plain := []byte("a tar stream, or anything else\n")
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	var xzb bytes.Buffer
	xw, _ := xz.NewWriter(&xzb)
	xw.Write(plain)
	xw.Close()
	for _, c := range []struct {
		name, format string
		in           []byte
	}{
		{"gzip", "gzip", gz.Bytes()},
		{"zstd", "zstd", zs.Bytes()},
		{"xz", "xz", xzb.Bytes()},
		{"bzip2", "bzip2", bzip2Plain},
		{"bzip2-like", "", []byte("BZhello")},
		{"plain", "", plain},
		{"short", "", []byte{0x1f}},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := Open(bytes.NewReader(c.in))
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			got, err := io.ReadAll(d)
			want := plain
			if c.name == "short" || c.name == "bzip2-like" {
				want = c.in
			}
			if err != nil || !bytes.Equal(got, want) || d.Format != c.format {
				t.Errorf("got %q (%s), %v; want %q (%s)", got, d.Format, err, want, c.format)
			}
		})
	}
	if _, err := Open(bytes.NewReader([]byte{0x1f, 0x8b, 0, 0})); err == nil {
		t.Error("a broken gzip header was accepted")
	}
}
