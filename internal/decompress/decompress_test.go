package decompress

import (
	"bytes"
	"io"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

func TestOpen(t *testing.T) {
	plain := []byte("a tar stream, or anything else\n")
	var gz, zs bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write(plain)
	gw.Close()
	zw, _ := zstd.NewWriter(&zs)
	zw.Write(plain)
	zw.Close()
	for _, c := range []struct {
		name, format string
		in           []byte
	}{
		{"gzip", "gzip", gz.Bytes()},
		{"zstd", "zstd", zs.Bytes()},
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
			if c.name == "short" {
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
