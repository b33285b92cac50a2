package registry

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/opencontainers/go-digest"
)

// dockerHub is how docker names its default registry in canonical refs;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

// maxRepoLen is distribution/reference's limit on a repository path.
const maxRepoLen = 255

// ErrInvalidReference is docker's error for a string that is no image
// reference; every refusal below wraps it or says the same words.
var ErrInvalidReference = errors.New("invalid reference format")

// Normalize applies docker's reference rules and returns the canonical form:
// "busybox" -> "docker.io/library/busybox:latest", "host:5000/a/b" ->
// "host:5000/a/b:latest", "repo@sha256:..." keeps the digest (a tag given
// with a digest is dropped, as docker).
func Normalize(s string) (string, error) {
	ref, err := parse(s)
	if err != nil {
		return "", err
	}
	return canonical(ref), nil
}

// parse is skiff's one reference parser. It reads s exactly as docker's CLI
// does (distribution/reference's ParseNormalizedNamed, whose grammar and
// error messages are reproduced here), so what docker refuses is refused
// before anything looks at the store or the network. The checked parts are
// then handed to go-containerregistry, which pull uses to fetch.
func parse(s string, opts ...name.Option) (name.Reference, error) {
	if IsIdentifier(s) {
		return nil, fmt.Errorf("invalid repository name (%s), cannot specify 64-byte hexadecimal strings", s)
	}
	domain, remainder := splitDockerDomain(s)
	remote, _, _ := strings.Cut(remainder, ":")
	if strings.ToLower(remote) != remote {
		return nil, fmt.Errorf("%w: repository name (%s) must be lowercase", ErrInvalidReference, remote)
	}
	r, err := parseCanonical(domain + "/" + remainder)
	if err != nil {
		return nil, err
	}
	reg, err := name.NewRegistry(r.domain, opts...)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidReference, err)
	}
	repo := reg.Repo(r.path)
	if r.digest != "" {
		return repo.Digest(r.digest), nil
	}
	if r.tag == "" {
		return repo.Tag(name.DefaultTag), nil
	}
	return repo.Tag(r.tag), nil
}

// IsIdentifier reports whether s is a bare image id (64 lowercase hex),
// which docker never reads as a repository name.
func IsIdentifier(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// splitDockerDomain is docker's guess at where the registry ends: the first
// component is a registry when it is localhost, has a '.' or ':', or has an
// uppercase letter (a repository cannot); otherwise the registry is Docker
// Hub, where a one-component name lives under library/.
func splitDockerDomain(s string) (domain, remainder string) {
	first, rest, ok := strings.Cut(s, "/")
	switch {
	case !ok:
		return dockerHub, "library/" + s
	case first == "index.docker.io":
		domain, remainder = dockerHub, rest
	case first == "localhost", strings.ContainsAny(first, ".:"), strings.ToLower(first) != first:
		domain, remainder = first, rest
	default:
		domain, remainder = dockerHub, s
	}
	if domain == dockerHub && !strings.Contains(remainder, "/") {
		remainder = "library/" + remainder
	}
	return domain, remainder
}

// dockerRef is a reference split as distribution/reference splits it.
type dockerRef struct {
	domain, path, tag, digest string
}

// parseCanonical is distribution/reference's Parse of a name that starts
// with its registry: the grammar, then the digest's own check.
func parseCanonical(s string) (dockerRef, error) {
	m := matchReference(s)
	if m == nil {
		if lower := strings.ToLower(s); lower != s && matchReference(lower) != nil {
			return dockerRef{}, errors.New("repository name must be lowercase")
		}
		return dockerRef{}, ErrInvalidReference
	}
	r := dockerRef{domain: m[1], path: m[2], tag: m[3], digest: m[4]}
	if len(r.path) > maxRepoLen {
		return dockerRef{}, fmt.Errorf("repository name must not be more than %d characters", maxRepoLen)
	}
	if r.digest != "" {
		if _, err := digest.Parse(r.digest); err != nil {
			return dockerRef{}, err
		}
	}
	return r, nil
}

// distribution/reference's grammar:
//
//	reference  := name [ ":" tag ] [ "@" digest ]
//	name       := [domain '/'] path
//	domain     := host [':' port]   (a DNS-like name, IPv4, or [IPv6])
//	path       := component ['/' component]*
//	component  := [a-z0-9]+ ( separator [a-z0-9]+ )*
//	separator  := '.' | '_' | '__' | '-'+
//	tag        := [\w][\w.-]{0,127}
//	digest     := algorithm ':' hex{32,}
//
// The two counted repetitions are checked after the match: spelt in the
// regexp they make it ten times slower to compile (1 ms), on run's path.
const (
	refDomainComponent = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refHost            = `(?:` + refDomainComponent + `(?:\.` + refDomainComponent + `)*|\[(?:[a-fA-F0-9:]+)\])`
	refDomain          = refHost + `(?::[0-9]+)?`
	refComponent       = `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
	refPath            = refComponent + `(?:/` + refComponent + `)*`
	refTag             = `[\w][\w.-]*`
	refDigest          = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]+`

	// referencePattern captures domain, path, tag and digest.
	referencePattern = `^(?:(` + refDomain + `)/)?(` + refPath + `)(?::(` + refTag + `))?(?:@(` + refDigest + `))?$`

	maxTagLen    = 128
	minDigestHex = 32
)

// referenceRegexp is compiled on first use: most skiff commands never
// parse a reference, and run parses one.
var referenceRegexp = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(referencePattern) })

// matchReference is the grammar's match of a whole reference: the domain,
// path, tag and digest submatches, or nil. The optional domain comes first,
// so it is taken whenever the string can start with one, as
// distribution/reference's separate name regexp splits it.
func matchReference(s string) []string {
	m := referenceRegexp().FindStringSubmatch(s)
	if m == nil || len(m[3]) > maxTagLen {
		return nil
	}
	if _, hex, _ := strings.Cut(m[4], ":"); m[4] != "" && len(hex) < minDigestHex {
		return nil
	}
	return m
}

// canonical spells a parsed ref the way the store keys names.
func canonical(ref name.Reference) string {
	reg := ref.Context().RegistryStr()
	if reg == name.DefaultRegistry {
		reg = dockerHub
	}
	repo := reg + "/" + ref.Context().RepositoryStr()
	if d, ok := ref.(name.Digest); ok {
		return repo + "@" + d.DigestStr()
	}
	return repo + ":" + ref.Identifier()
}

// Repository is a canonical ref without its tag or digest.
func Repository(canon string) string {
	repo, dg := SplitDigest(canon)
	if dg == "" {
		repo, _ = SplitTag(canon)
	}
	return repo
}

// SplitTag splits "busybox:latest" at the tag's colon, not a port's.
func SplitTag(name string) (repo, tag string) {
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// SplitDigest splits "busybox@sha256:..." at the @.
func SplitDigest(name string) (repo, digest string) {
	if i := strings.Index(name, "@"); i >= 0 {
		return name[:i], name[i+1:]
	}
	return name, ""
}

// ShortName is how docker displays a canonical name: docker.io and its
// library/ namespace are left out ("docker.io/library/busybox:latest" ->
// "busybox:latest", "docker.io/foo/bar:1" -> "foo/bar:1").
func ShortName(canonical string) string {
	if rest, ok := strings.CutPrefix(canonical, dockerHub+"/"); ok {
		return strings.TrimPrefix(rest, "library/")
	}
	return canonical
}

// HasTagOrDigest reports whether the user named a tag or digest, so pull
// can say, as docker, when it fell back to "latest".
func HasTagOrDigest(s string) bool {
	last := s[strings.LastIndex(s, "/")+1:]
	return strings.ContainsAny(last, ":@")
}
