package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/skiff-dev/skiff/store"
)

// session is an authenticated conversation with one repository of a
// registry, speaking the distribution API's push half: HEAD of a blob,
// POST of an upload (with ?mount=&from= to mount), PUT of its bytes, PUT of
// the manifest. go-containerregistry's transport does the auth handshake
// (basic, or a bearer token scoped to push here and pull on the mount
// sources) and its refresh.
type session struct {
	client *http.Client
	base   string // "https://host/v2/<repo>", the transport fixes the scheme
	repo   name.Repository
}

// newSession authenticates for pushing to repo with the credentials docker's
// config holds for its registry.
func newSession(ctx context.Context, repo name.Repository, sources map[string][]string, insecure []string) (*session, error) {
	auth, err := authn.Resolve(ctx, authn.DefaultKeychain, repo)
	if err != nil {
		return nil, fmt.Errorf("credentials for %s: %w", repo.RegistryStr(), err)
	}
	scopes := []string{repo.Scope(transport.PushScope)}
	seen := map[string]bool{}
	for _, repos := range sources {
		for _, r := range repos {
			if !seen[r] {
				seen[r] = true
				scopes = append(scopes, repo.Registry.Repo(r).Scope(transport.PullScope))
			}
		}
	}
	base := httpsOnly{base: remote.DefaultTransport, insecure: insecure}
	t, err := transport.NewWithContext(ctx, repo.Registry, auth, base, scopes)
	if err != nil {
		return nil, err
	}
	return &session{
		client: &http.Client{Transport: t},
		base:   "https://" + repo.RegistryStr() + "/v2/" + repo.RepositoryStr(),
		repo:   repo,
	}, nil
}

// do sends a request and checks its status against want.
func (s *session) do(req *http.Request, want ...int) (*http.Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, err
	}
	if err := transport.CheckError(resp, want...); err != nil {
		resp.Body.Close()
		return nil, err
	}
	return resp, nil
}

// hasBlob is docker's check before an upload: a HEAD of the blob.
func (s *session) hasBlob(ctx context.Context, digest string) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, s.base+"/blobs/"+digest, nil)
	if err != nil {
		return false, err
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, transport.CheckError(resp, http.StatusOK, http.StatusNotFound)
}

// mount tries each source repository in turn; a registry that mounts
// answers 201, one that cannot starts an upload instead (202), whose
// location is returned for the upload so no session is wasted.
func (s *session) mount(ctx context.Context, digest string, from []string) (upload *url.URL, mountedFrom string, err error) {
	for _, repo := range from {
		q := url.Values{"mount": {digest}, "from": {repo}}
		upload, err := s.startUpload(ctx, q)
		if err != nil {
			return nil, "", err
		}
		if upload == nil {
			return nil, repo, nil
		}
		return upload, "", nil
	}
	upload, err = s.startUpload(ctx, nil)
	return upload, "", err
}

// startUpload POSTs an upload; nil location means the blob was mounted.
func (s *session) startUpload(ctx context.Context, q url.Values) (*url.URL, error) {
	u := s.base + "/blobs/uploads/"
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.do(req, http.StatusCreated, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return nil, nil
	}
	loc, err := resp.Location()
	if err != nil {
		return nil, fmt.Errorf("registry started an upload without a location: %w", err)
	}
	return loc, nil
}

// upload sends a blob's bytes in one PUT to the upload's location, the
// monolithic upload of the distribution API, with its digest for the
// registry to check.
func (s *session) upload(ctx context.Context, loc *url.URL, digest string, body io.Reader, size int64) error {
	if loc == nil {
		var err error
		if loc, err = s.startUpload(ctx, nil); err != nil {
			return err
		}
		if loc == nil {
			return nil
		}
	}
	q := loc.Query()
	q.Set("digest", digest)
	u := *loc
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := s.do(req, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// putBlob pushes a small blob (the config) unless the registry has it.
func (s *session) putBlob(ctx context.Context, digest string, data []byte) error {
	ok, err := s.hasBlob(ctx, digest)
	if err != nil || ok {
		return err
	}
	return s.upload(ctx, nil, digest, bytes.NewReader(data), int64(len(data)))
}

// putManifest stores the manifest under tag and returns its digest: the
// registry's, which must be the digest of the bytes sent.
func (s *session) putManifest(ctx context.Context, tag, mediaType string, raw []byte) (string, error) {
	want := digestOf(sha256Of(raw))
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, s.base+"/manifests/"+tag, bytes.NewReader(raw))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", mediaType)
	resp, err := s.do(req, http.StatusCreated, http.StatusOK)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if got := resp.Header.Get("Docker-Content-Digest"); got != "" && got != want {
		return "", fmt.Errorf("registry stored the manifest as %s, its bytes are %s", got, want)
	}
	return want, nil
}

// openBlob opens a layer's compressed blob as the store kept it.
func openBlob(s *store.Store, digest string) (*os.File, int64, error) {
	f, err := os.Open(s.BlobPath(digest))
	if err != nil {
		return nil, 0, fmt.Errorf("compressed blob %s is not in the store (the image's layer was stored from another source): %w", digest, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, st.Size(), nil
}

// pushReader feeds upload progress and holds the test pause point
// "push-mid-blob": after the first read of a blob it stops for a few
// seconds, with the upload open, for the tests to kill the registry or
// skiff mid-push.
type pushReader struct {
	r      io.Reader
	w      io.Writer
	paused bool
}

func (p *pushReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.w.Write(b[:n])
	if n > 0 && !p.paused && os.Getenv("SKIFF_TEST_PAUSE") == "push-mid-blob" {
		p.paused = true
		fmt.Fprintln(os.Stderr, "skiff-test-pause: push-mid-blob")
		time.Sleep(3 * time.Second)
	}
	return n, err
}
