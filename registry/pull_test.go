package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/skiff-dev/skiff/store"
)

// tamper lets a test change what the registry serves for one blob.
type tamper struct {
	blob string // "sha256:..." to intercept
	fn   func(w http.ResponseWriter, body []byte)
}

// newRegistry serves go-containerregistry's in-memory registry on 127.0.0.1.
func newRegistry(t *testing.T, tp *tamper) string {
	t.Helper()
	reg := registry.New(registry.Logger(nilLogger()))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if tp != nil && tp.blob != "" && r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/blobs/"+tp.blob) {
			rec := httptest.NewRecorder()
			reg.ServeHTTP(rec, r)
			tp.fn(w, rec.Body.Bytes())
			return
		}
		reg.ServeHTTP(w, r)
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

func push(t *testing.T, ref string, img v1.Image) {
	t.Helper()
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatal(err)
	}
}

func randomImage(t *testing.T, layers int64) v1.Image {
	t.Helper()
	img, err := random.Image(2048, layers)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func configDigest(t *testing.T, img v1.Image) string {
	t.Helper()
	h, err := img.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	return h.String()
}

// assertClean checks a failed pull left no image and no layer behind.
func assertClean(t *testing.T, s *store.Store) {
	t.Helper()
	imgs, err := s.Images()
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 0 {
		t.Errorf("failed pull left %d images", len(imgs))
	}
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "layers"))
	for _, e := range ents {
		if e.Name() != ".tmp" {
			t.Errorf("failed pull left layer %s", e.Name())
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(s.Root(), "layers", ".tmp"))
	if len(tmp) != 0 {
		t.Errorf("failed pull left %d temp entries", len(tmp))
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPullByTagAndDigest(t *testing.T) {
	host := newRegistry(t, nil)
	img := randomImage(t, 2)
	push(t, host+"/test/img:v1", img)
	d, _ := img.Digest()

	for _, ref := range []string{host + "/test/img:v1", host + "/test/img@" + d.String()} {
		t.Run(ref, func(t *testing.T) {
			s := openStore(t)
			var out bytes.Buffer
			got, err := Pull(context.Background(), s, ref, PullOptions{Out: &out})
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != configDigest(t, img) {
				t.Errorf("ID = %s, want %s", got.ID, configDigest(t, img))
			}
			if len(got.Layers) != 2 {
				t.Fatalf("layers = %v", got.Layers)
			}
			for _, l := range got.Layers {
				if _, err := os.Stat(s.LayerDir(l)); err != nil {
					t.Errorf("layer dir: %v", err)
				}
			}
			if want := host + "/test/img@" + d.String(); len(got.RepoDigests) != 1 || got.RepoDigests[0] != want {
				t.Errorf("RepoDigests = %v, want [%s]", got.RepoDigests, want)
			}
			raw, err := s.RawManifest(got)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := img.RawManifest()
			if !bytes.Equal(raw, want) {
				t.Error("stored manifest differs from the registry's")
			}
			if !strings.Contains(out.String(), "Digest: "+d.String()) {
				t.Errorf("output lacks the digest line:\n%s", out.String())
			}
		})
	}
}

func TestPullSharesLayers(t *testing.T) {
	host := newRegistry(t, nil)
	base := randomImage(t, 1)
	extra := randomImage(t, 1)
	layers, _ := extra.Layers()
	derived, err := mutate.AppendLayers(base, layers...)
	if err != nil {
		t.Fatal(err)
	}
	push(t, host+"/base:1", base)
	push(t, host+"/derived:1", derived)
	s := openStore(t)
	if _, err := Pull(context.Background(), s, host+"/base:1", PullOptions{Out: io.Discard}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := Pull(context.Background(), s, host+"/derived:1", PullOptions{Out: &out}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(out.String(), "Already exists"); n != 1 {
		t.Errorf("want one shared layer (Already exists), got %d:\n%s", n, out.String())
	}
	if n := strings.Count(out.String(), "Pull complete"); n != 1 {
		t.Errorf("want one new layer, got %d:\n%s", n, out.String())
	}
}

func TestPullFailuresLeaveNothing(t *testing.T) {
	img := randomImage(t, 1)
	layers, _ := img.Layers()
	ld, _ := layers[0].Digest()
	tests := []struct {
		name    string
		tamper  *tamper
		ref     func(host string) string
		wantErr string
	}{
		{
			name: "tampered blob",
			tamper: &tamper{blob: ld.String(), fn: func(w http.ResponseWriter, b []byte) {
				// The gzip header's mtime is not covered by gzip's own CRC:
				// the content still decompresses, only the digest can tell.
				b = bytes.Clone(b)
				b[4] ^= 0xff
				w.Write(b)
			}},
			wantErr: "digest",
		},
		{
			name: "truncated layer",
			tamper: &tamper{blob: ld.String(), fn: func(w http.ResponseWriter, b []byte) {
				w.Header().Set("Content-Length", itoa(len(b)))
				w.Write(b[:len(b)/2])
			}},
			wantErr: "EOF",
		},
		{
			name:    "unknown image",
			ref:     func(host string) string { return host + "/nope:latest" },
			wantErr: "manifest unknown",
		},
		{
			name:    "unreachable registry",
			ref:     func(string) string { return closedPort(t) + "/img:v1" },
			wantErr: "unreachable",
		},
		{
			name:    "malformed reference",
			ref:     func(string) string { return "UPPER/Case::x" },
			wantErr: "invalid reference format",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host := newRegistry(t, tt.tamper)
			push(t, host+"/img:v1", img)
			ref := host + "/img:v1"
			if tt.ref != nil {
				ref = tt.ref(host)
			}
			s := openStore(t)
			_, err := Pull(context.Background(), s, ref, PullOptions{Out: io.Discard})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			t.Log(err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			assertClean(t, s)
		})
	}
}

func TestPullIndexPicksPlatform(t *testing.T) {
	host := newRegistry(t, nil)
	amd, arm := randomImage(t, 1), randomImage(t, 1)
	idx := mutate.AppendManifests(empty.Index,
		mutate.IndexAddendum{Add: arm, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "arm64"}}},
		mutate.IndexAddendum{Add: amd, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: "amd64"}}},
	)
	r, _ := name.ParseReference(host + "/multi:1")
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	s := openStore(t)
	got, err := Pull(context.Background(), s, host+"/multi:1", PullOptions{Out: io.Discard, Platform: "linux/amd64"})
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != configDigest(t, amd) {
		t.Errorf("picked %s, want the linux/amd64 image %s", got.ID, configDigest(t, amd))
	}
	id, _ := idx.Digest()
	if want := host + "/multi@" + id.String(); got.RepoDigests[0] != want {
		t.Errorf("RepoDigests = %v, want the index digest %s", got.RepoDigests, want)
	}
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func itoa(n int) string { return fmtInt(n) }

// tarLayer builds a one-file layer compressed as asked.
func tarLayer(t *testing.T, comp compression.Compression, body string) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	data := b.Bytes()
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil },
		tarball.WithCompression(comp))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestPullCompressions(t *testing.T) {
	for _, comp := range []compression.Compression{compression.GZip, compression.ZStd} {
		t.Run(string(comp), func(t *testing.T) {
			host := newRegistry(t, nil)
			img, err := mutate.AppendLayers(empty.Image, tarLayer(t, comp, "hi "+string(comp)))
			if err != nil {
				t.Fatal(err)
			}
			push(t, host+"/c:1", img)
			s := openStore(t)
			got, err := Pull(context.Background(), s, host+"/c:1", PullOptions{Out: io.Discard})
			if err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(filepath.Join(s.LayerDir(got.Layers[0]), "hello"))
			if err != nil || string(b) != "hi "+string(comp) {
				t.Errorf("hello = %q, %v", b, err)
			}
		})
	}
}

// TestPullHostileLayer: a layer that tries to escape fails the pull and
// leaves no layer, temp dir or image behind.
func TestPullHostileLayer(t *testing.T) {
	tests := []struct {
		name    string
		entries []tar.Header
		wantErr string
	}{
		{"dotdot", []tar.Header{{Name: "../evil", Typeflag: tar.TypeReg, Mode: 0o644}}, `".."`},
		{"symlink write-through", []tar.Header{
			{Name: "a", Typeflag: tar.TypeSymlink, Linkname: "/tmp"},
			{Name: "a/evil", Typeflag: tar.TypeReg, Mode: 0o644},
		}, "a is a symlink"},
		{"hardlink outside", []tar.Header{{Name: "h", Typeflag: tar.TypeLink, Linkname: "../../../etc/passwd"}}, "hardlink target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			tw := tar.NewWriter(&b)
			for _, h := range tt.entries {
				tw.WriteHeader(&h)
			}
			tw.Close()
			data := b.Bytes()
			l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil })
			if err != nil {
				t.Fatal(err)
			}
			img, _ := mutate.AppendLayers(empty.Image, l)
			host := newRegistry(t, nil)
			push(t, host+"/evil:1", img)
			s := openStore(t)
			_, err = Pull(context.Background(), s, host+"/evil:1", PullOptions{Out: io.Discard})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
			assertClean(t, s)
		})
	}
}
