package pull

import (
	"fmt"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is how docker names its default registry in canonical refs;
// go-containerregistry calls it index.docker.io.
const dockerHub = "docker.io"

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

func parse(s string) (name.Reference, error) {
	if s == "" || strings.TrimSpace(s) != s {
		return nil, fmt.Errorf("invalid reference format %q: want [host[:port]/]repo[:tag|@sha256:digest]", s)
	}
	ref, err := name.ParseReference(s)
	if err != nil {
		return nil, fmt.Errorf("invalid reference format %q: %w", s, err)
	}
	return ref, nil
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

// repoOf is a canonical ref without its tag or digest.
func repoOf(canon string) string {
	if i := strings.LastIndex(canon, "@"); i >= 0 {
		return canon[:i]
	}
	if i := strings.LastIndex(canon, ":"); i > strings.LastIndex(canon, "/") {
		return canon[:i]
	}
	return canon
}

// hasTagOrDigest reports whether the user named a tag or digest, so pull
// can say, as docker, when it fell back to "latest".
func hasTagOrDigest(s string) bool {
	last := s[strings.LastIndex(s, "/")+1:]
	return strings.ContainsAny(last, ":@")
}
