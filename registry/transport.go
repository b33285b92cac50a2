package registry

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// insecureAllowed says whether plain http may be used for a registry host:
// only loopback and the registries the user named, as docker.
func insecureAllowed(host string, insecure []string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	if h == "localhost" {
		return true
	}
	if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, r := range insecure {
		r = strings.TrimPrefix(strings.TrimPrefix(r, "http://"), "https://")
		if r == host || r == h {
			return true
		}
		if _, cidr, err := net.ParseCIDR(r); err == nil {
			if ip := net.ParseIP(h); ip != nil && cidr.Contains(ip) {
				return true
			}
		}
	}
	return false
}

// httpsOnly upgrades plain http requests to https for registries not allowed
// plain http: go-containerregistry would also speak http to private
// (RFC 1918) addresses, which docker does not.
type httpsOnly struct {
	base     http.RoundTripper
	insecure []string
}

func (t httpsOnly) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme == "http" && !insecureAllowed(req.URL.Host, t.insecure) {
		req = req.Clone(req.Context())
		req.URL.Scheme = "https"
	}
	return t.base.RoundTrip(req)
}

// remoteRef reparses a ref, letting go-containerregistry fall back to http
// when the registry is one the user declared insecure.
func remoteRef(ref name.Reference, insecure []string) (name.Reference, error) {
	if !insecureAllowed(ref.Context().RegistryStr(), insecure) {
		return ref, nil
	}
	return parse(ref.String(), name.Insecure)
}

// hostPlatform is what an index resolves to by default.
func hostPlatform(s string) (*v1.Platform, error) {
	if s != "" {
		p, err := v1.ParsePlatform(s)
		if err != nil {
			return nil, fmt.Errorf("invalid platform %q: want os/arch[/variant]: %w", s, err)
		}
		return p, nil
	}
	p := &v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	if runtime.GOARCH == "arm64" {
		p.Variant = "v8"
	}
	return p, nil
}

// remoteOptions are go-containerregistry's options for any exchange with
// a registry (a pull now, a push next): credentials from docker's config
// (~/.docker/config.json and its helpers), https but where plain http is
// allowed, and a short retry.
func remoteOptions(ctx context.Context, insecure []string) []remote.Option {
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(httpsOnly{base: remote.DefaultTransport, insecure: insecure}),
		remote.WithUserAgent("skiff"),
		// A dead registry should fail in about a second, not after the
		// default backoff's four.
		remote.WithRetryBackoff(remote.Backoff{Duration: 200 * time.Millisecond, Factor: 2, Steps: 2}),
	}
}

// explain turns registry errors into one line naming the cause and what to do.
func explain(registry string, err error) error {
	var te *transport.Error
	if errors.As(err, &te) {
		for _, d := range te.Errors {
			switch d.Code {
			case transport.ManifestUnknownErrorCode, transport.NameUnknownErrorCode:
				return fmt.Errorf("manifest unknown: no such image or tag in %s (check the name and tag)", registry)
			case transport.UnauthorizedErrorCode:
				return unauthorized(te) // docker's line, with the registry's reason
			case transport.DeniedErrorCode:
				return fmt.Errorf("access denied by %s: repository does not exist or needs docker login", registry)
			}
		}
		switch te.StatusCode {
		case http.StatusNotFound:
			return fmt.Errorf("manifest unknown: no such image or tag in %s (check the name and tag)", registry)
		case http.StatusUnauthorized:
			return unauthorized(te)
		case http.StatusForbidden:
			return fmt.Errorf("access denied by %s: repository does not exist or needs docker login", registry)
		}
		return fmt.Errorf("registry %s: %w", registry, err)
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) {
		return fmt.Errorf("registry %s unreachable: %w", registry, err)
	}
	return err
}
