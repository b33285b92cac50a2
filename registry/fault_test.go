package registry

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/skiff-dev/skiff/internal/units"
)

// cutAfter answers a blob GET with its true Content-Length but only the
// first n bytes of the body, then ends the connection: with a FIN, or with
// a RST when reset.
func cutAfter(n int, reset bool) func(w http.ResponseWriter, body []byte) {
	return func(w http.ResponseWriter, body []byte) {
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			panic(err)
		}
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", len(body))
		buf.Write(body[:n])
		buf.Flush()
		if reset {
			conn.(*net.TCPConn).SetLinger(0)
		}
		conn.Close()
	}
}

// TestPullConnectionFailures: a download the registry cuts short says so,
// apart from a blob that arrives whole but corrupt.
func TestPullConnectionFailures(t *testing.T) {
	img := randomImage(t, 1)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	size, _ := layers[0].Size()
	tests := []struct {
		name    string
		serve   func(w http.ResponseWriter, body []byte)
		want    string
		wantIs  error
		wantNot string
	}{
		{
			name:   "connection closed",
			serve:  cutAfter(1000, false),
			want:   fmt.Sprintf("layer %s: connection closed by the registry after 1kB of %s: unexpected EOF", ld, units.HumanSize(size)),
			wantIs: io.ErrUnexpectedEOF,
		},
		{
			name:   "connection reset",
			serve:  cutAfter(1000, true),
			want:   fmt.Sprintf("layer %s: connection reset by the registry after ", ld),
			wantIs: syscall.ECONNRESET,
		},
		{
			name: "corrupt in transit, right length",
			serve: func(w http.ResponseWriter, b []byte) {
				b = bytes.Clone(b)
				b[10] = 0x07 // the first deflate block: final, of the reserved type 3
				w.Write(b)
			},
			want:    fmt.Sprintf("layer %s: digest mismatch: the registry sent sha256:", ld),
			wantNot: "connection",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := newRegistry(t, &tamper{blob: ld.String(), fn: tt.serve})
			push(t, host+"/img:v1", img)
			assertPullFails(t, host+"/img:v1", tt.want, tt.wantIs, tt.wantNot)
		})
	}
}

// TestPullCorruptBlob: a blob that matches its digest but is no valid gzip
// is a broken image, not a download failure.
func TestPullCorruptBlob(t *testing.T) {
	good := tarLayer(t, compression.GZip, "hello")
	rc, _ := good.Compressed()
	b, _ := io.ReadAll(rc)
	b[10] = 0x07 // the first deflate block: final, of the reserved type 3
	bad := static.NewLayer(b, types.DockerLayer)
	img, err := mutate.AppendLayers(empty.Image, bad)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := bad.Digest()
	host := newRegistry(t, nil)
	push(t, host+"/img:v1", img)
	assertPullFails(t, host+"/img:v1", fmt.Sprintf("layer %s: decompressing gzip: flate: corrupt input", d), nil, "digest")
}

func assertPullFails(t *testing.T, ref, want string, wantIs error, wantNot string) {
	t.Helper()
	s := openStore(t)
	_, err := Pull(context.Background(), s, ref, PullOptions{Out: io.Discard})
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want one containing %q", err, want)
	}
	if wantIs != nil && !errors.Is(err, wantIs) {
		t.Errorf("err = %v does not wrap %v", err, wantIs)
	}
	if wantNot != "" && strings.Contains(err.Error(), wantNot) {
		t.Errorf("err = %v, want nothing about %q", err, wantNot)
	}
	if strings.Contains(err.Error(), "tar") {
		t.Errorf("err = %v blames the tar", err)
	}
	assertClean(t, s)
}
