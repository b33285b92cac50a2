package registry

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// countingRegistry is an in-memory registry that counts requests by method.
func countingRegistry(t *testing.T) (host string, count func(method string) int) {
	t.Helper()
	reg := registry.New(registry.Logger(nilLogger()))
	var mu sync.Mutex
	n := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		n[r.Method]++
		mu.Unlock()
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func(m string) int {
		mu.Lock()
		defer mu.Unlock()
		return n[m]
	}
}

// TestPushKeepsDigests: an image pulled from one registry and pushed to
// another has there the very manifest bytes, and a second push uploads
// nothing, each layer "Layer already exists".
func TestPushKeepsDigests(t *testing.T) {
	src := newRegistry(t, nil)
	img := randomImage(t, 2)
	push(t, src+"/test/img:v1", img)
	s := openStore(t)
	if _, err := Pull(context.Background(), s, src+"/test/img:v1", PullOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	dst, count := countingRegistry(t)
	to := dst + "/moved/img:v2"
	if err := s.Tag(configDigest(t, img), to); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	pushed, err := Push(context.Background(), s, to, PushOptions{Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	if len(pushed) != 1 || pushed[0] != to {
		t.Errorf("pushed %v, want [%s]", pushed, to)
	}
	d, _ := img.Digest()
	if want := "v2: digest: " + d.String() + " size: "; !strings.Contains(out.String(), want) {
		t.Errorf("push output lacks %q:\n%s", want, out.String())
	}
	ref, _ := name.ParseReference(to)
	got, err := remote.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := img.RawManifest()
	if !bytes.Equal(got.Manifest, raw) {
		t.Errorf("the registry holds other manifest bytes:\n%s\nwant\n%s", got.Manifest, raw)
	}

	puts := count(http.MethodPut)
	out.Reset()
	if _, err := Push(context.Background(), s, to, PushOptions{Out: &out}); err != nil {
		t.Fatal(err)
	}
	if n := count(http.MethodPut) - puts; n != 1 {
		t.Errorf("second push sent %d PUTs, want only the manifest's", n)
	}
	if c := strings.Count(out.String(), ": Layer already exists\n"); c != 2 {
		t.Errorf("second push: %d layers already there, want 2:\n%s", c, out.String())
	}
}

// TestPushRefusals: docker's words for what cannot be pushed.
func TestPushRefusals(t *testing.T) {
	s := openStore(t)
	for _, tc := range []struct {
		ref  string
		o    PushOptions
		want string
	}{
		{"127.0.0.1:1/none:v1", PushOptions{}, "An image does not exist locally with the tag: 127.0.0.1:1/none"},
		{"127.0.0.1:1/none:v1", PushOptions{AllTags: true}, "tag can't be used with --all-tags/-a"},
		{"127.0.0.1:1/none", PushOptions{AllTags: true}, "An image does not exist locally with the tag: 127.0.0.1:1/none"},
		{"127.0.0.1:1/none@sha256:" + strings.Repeat("a", 64), PushOptions{}, "cannot push a digest reference"},
	} {
		_, err := Push(context.Background(), s, tc.ref, tc.o)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Push(%s, all=%v) = %v, want %q", tc.ref, tc.o.AllTags, err, tc.want)
		}
	}
}

// TestPushUnauthorized: a registry's 401 is docker's "unauthorized: " line
// with the registry's reason.
func TestPushUnauthorized(t *testing.T) {
	src := newRegistry(t, nil)
	img := randomImage(t, 1)
	push(t, src+"/test/img:v1", img)
	s := openStore(t)
	if _, err := Pull(context.Background(), s, src+"/test/img:v1", PullOptions{Quiet: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
	}))
	t.Cleanup(srv.Close)
	to := strings.TrimPrefix(srv.URL, "http://") + "/locked/img:v1"
	if err := s.Tag(configDigest(t, img), to); err != nil {
		t.Fatal(err)
	}
	_, err := Push(context.Background(), s, to, PushOptions{Quiet: true})
	if err == nil || !strings.HasSuffix(err.Error(), ": unauthorized: authentication required") {
		t.Errorf("push to a locked registry: %v, want unauthorized: authentication required", err)
	}
	if errors.Is(err, ErrNoLocalImage) {
		t.Errorf("wrong refusal: %v", err)
	}
}
