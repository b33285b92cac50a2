package build

// Remote sources: ADD of an http(s) URL and a build context read from one.
// Without --checksum, ADD downloads the file on every build and its
// sha256 goes into the step's cache key, as docker's; with
// --checksum=sha256:... the key is the checksum, so a cache hit downloads
// nothing, and a download that does not match fails with BuildKit's
// "digest mismatch". The file lands with mode 0600 (unless --chmod), named
// by the URL's last path element, its mtime the Last-Modified header's, and
// is never unpacked. Git URLs are not supported yet.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"strings"
	"time"
)

// IsURL reports whether src is an http(s) URL.
func IsURL(src string) bool {
	return strings.HasPrefix(src, "http://") || strings.HasPrefix(src, "https://")
}

// IsGitURL reports whether src names a git repository as docker reads
// one: a git:// or ssh URL, git@host:path, or a URL whose path ends in .git
// (before a #ref fragment).
func IsGitURL(src string) bool {
	switch {
	case strings.HasPrefix(src, "git://"), strings.HasPrefix(src, "git@"), strings.HasPrefix(src, "ssh://"):
		return true
	case strings.HasPrefix(src, "github.com/"):
		return true
	case IsURL(src):
		u, err := url.Parse(src)
		return err == nil && strings.HasSuffix(u.Path, ".git")
	}
	return false
}

// remoteFile is an ADD source downloaded from a URL (file "" until then).
type remoteFile struct {
	url      string
	checksum string    // --checksum (sha256:...), "" for none
	file     string    // the download, removed by the step
	size     int64     // its size
	mtime    time.Time // Last-Modified, else the download's time
}

// remoteName is the name a URL's file lands under in a destination
// directory, as BuildKit names it.
func remoteName(src string) string {
	if u, err := url.Parse(src); err == nil {
		if base := path.Base(u.Path); base != "." && base != "/" {
			return base
		}
	}
	return "__unnamed__"
}

// remoteItem is ADD's item for a URL and the text its checksum adds to
// the cache key: --checksum's value, else the downloaded file's sha256.
func (e *executor) remoteItem(ctx context.Context, src, checksum string) (item, string, error) {
	r := &remoteFile{url: src, checksum: checksum}
	it := item{name: remoteName(src), remote: r}
	if checksum != "" {
		if !strings.HasPrefix(checksum, "sha256:") || len(checksum) != len("sha256:")+64 {
			return it, "", fmt.Errorf("invalid checksum digest format: %s", checksum)
		}
		return it, checksum, nil
	}
	sum, err := e.download(ctx, r)
	return it, sum, err
}

// fetch downloads r unless it is already (a --checksum cache miss downloads
// only when the layer is written) and verifies the checksum.
func (e *executor) fetch(ctx context.Context, r *remoteFile) error {
	if r.file != "" {
		return nil
	}
	sum, err := e.download(ctx, r)
	if err != nil {
		return err
	}
	if r.checksum != "" && sum != r.checksum {
		return fmt.Errorf("digest mismatch %s: %s", sum, r.checksum)
	}
	return nil
}

// download fetches r.url into a temporary file and returns its sha256.
func (e *executor) download(ctx context.Context, r *remoteFile) (string, error) {
	resp, err := Get(ctx, r.url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	dir := StdinTmp(e.o.Containers)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(dir, "add-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	r.file = f.Name()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", r.url, err)
	}
	r.size, r.mtime = n, time.Now()
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		r.mtime = t
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), nil
}

// checkRemoteSources applies BuildKit's rules on URL sources and
// --checksum before anything is read.
func checkRemoteSources(cp copySpec) error {
	for _, src := range cp.srcs {
		switch {
		case IsGitURL(src):
			return fmt.Errorf("%s of a git repository is not supported yet: %s", cp.word(), src)
		case IsURL(src) && !cp.add:
			return errors.New("source can't be a URL for COPY")
		case strings.Contains(src, "://") && !IsURL(src):
			return fmt.Errorf("%s from a URL is not supported yet: %s", cp.word(), src)
		}
	}
	if cp.checksum == "" {
		return nil
	}
	if len(cp.srcs) != 1 {
		return errors.New("checksum can't be specified for multiple sources")
	}
	if !IsURL(cp.srcs[0]) {
		return errors.New("checksum requires HTTP(S) or Git sources")
	}
	return nil
}

// removeDownloads removes what a step downloaded.
func removeDownloads(items []item) {
	for _, it := range items {
		if it.remote != nil && it.remote.file != "" {
			os.Remove(it.remote.file)
		}
	}
}

// Get is a GET of an http(s) URL answered 200, for ADD and a build context.
// A redirect from a loopback host may only lead to another loopback host.
func Get(ctx context.Context, rawURL string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	client := &http.Client{CheckRedirect: checkRedirect}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("invalid response status %d", resp.StatusCode)
	}
	return resp, nil
}

// checkRedirect is net/http's rule (10 redirects at most) plus: no
// redirect off loopback.
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if isLoopback(via[0].URL.Hostname()) && !isLoopback(req.URL.Hostname()) {
		return fmt.Errorf("redirect from %s to %s refused: it leaves the loopback host", via[0].URL.Host, req.URL.Host)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
