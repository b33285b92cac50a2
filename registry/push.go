package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"golang.org/x/sync/errgroup"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/store"
)

// PushOptions tune a push.
type PushOptions struct {
	Insecure []string  // registries reached over plain http besides loopback
	AllTags  bool      // push every local tag of the repository (-a)
	Quiet    bool      // print nothing (the command prints the ref)
	Out      io.Writer // progress; a terminal gets docker's redrawn bars
}

// maxUploads is docker's default max-concurrent-uploads.
const maxUploads = 5

// maxMountSources bounds the cross-repository mounts tried per blob.
const maxMountSources = 3

// ErrNoLocalImage is docker's refusal of a push of a name the store lacks.
var ErrNoLocalImage = errors.New("An image does not exist locally with the tag")

// Push uploads the stored image(s) named by ref to their registry:
//
//  1. resolve the tags to push (ref's, or with AllTags every local tag of
//     its repository) and hold the store's layers for the push's length;
//  2. open one authenticated session for the repository, with pull access
//     to the repositories blobs may be mounted from;
//  3. per tag: each layer blob (a HEAD first: "Layer already exists"; then
//     a cross-repository mount; else an upload of the stored bytes), then
//     the config, then the manifest exactly as stored, under the tag.
//
// Only stored bytes are sent, never re-encoded ones, so the registry gets
// the manifest, config and layer digests the store holds. Push only reads
// the store: an interrupted push leaves it as it was, and a second push
// finds the blobs the first one finished.
func Push(ctx context.Context, s *store.Store, ref string, o PushOptions) ([]string, error) {
	out, err := pushImages(ctx, s, ref, o)
	if err != nil {
		return nil, fmt.Errorf("push %s: %w", ref, err)
	}
	return out, nil
}

func pushImages(ctx context.Context, s *store.Store, ref string, o PushOptions) ([]string, error) {
	parsed, err := parse(ref)
	if err != nil {
		return nil, err
	}
	if _, ok := parsed.(name.Digest); ok {
		return nil, errors.New("cannot push a digest reference")
	}
	p := newProgress(o.Out, o.Quiet)
	if o.AllTags && HasTagOrDigest(ref) {
		return nil, errors.New("tag can't be used with --all-tags/-a")
	}
	if !o.AllTags && !HasTagOrDigest(ref) {
		p.printf("Using default tag: %s", name.DefaultTag)
	}
	release, err := s.KeepLayers()
	if err != nil {
		return nil, err
	}
	defer release()
	tags, err := tagsToPush(s, parsed, o.AllTags)
	if err != nil {
		return nil, err
	}
	r, err := remoteRef(parsed, o.Insecure)
	if err != nil {
		return nil, err
	}
	repo := r.Context()
	sources, err := mountSources(s, repo)
	if err != nil {
		return nil, err
	}
	registry := repo.RegistryStr()
	sess, err := newSession(ctx, repo, sources, o.Insecure)
	if err != nil {
		return nil, pushError(registry, err)
	}
	p.printf("The push refers to repository [%s]", Repository(canonical(parsed)))
	var pushed []string
	for _, t := range tags {
		if err := pushTag(ctx, s, sess, t, sources, p); err != nil {
			return nil, pushError(registry, err)
		}
		pushed = append(pushed, t.canon)
	}
	return pushed, nil
}

// pushError is docker's wording for a registry's refusal: its 401 is
// "unauthorized: <reason>", a DENIED "denied: <reason>"; an unreachable
// registry is said as a pull says it.
func pushError(registry string, err error) error {
	var te *transport.Error
	if !errors.As(err, &te) {
		return explain(registry, err)
	}
	if te.StatusCode == http.StatusUnauthorized {
		return unauthorized(te)
	}
	for _, d := range te.Errors {
		if d.Code == transport.DeniedErrorCode {
			return fmt.Errorf("denied: %s", d.Message)
		}
	}
	return fmt.Errorf("registry %s: %w", registry, err)
}

// localTag is one stored name to push and its image.
type localTag struct {
	canon string // canonical name:tag
	tag   string
	img   *store.Image
}

// tagsToPush is ref's stored image, or with all every stored tag of ref's
// repository, sorted as docker's.
func tagsToPush(s *store.Store, ref name.Reference, all bool) ([]localTag, error) {
	canon := canonical(ref)
	repo := Repository(canon)
	if !all {
		img, err := s.LookupImage(canon)
		if err != nil {
			return nil, fmt.Errorf("%w: %s", ErrNoLocalImage, ShortName(repo))
		}
		return []localTag{{canon: canon, tag: ref.Identifier(), img: img}}, nil
	}
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	var out []localTag
	for _, img := range imgs {
		for _, t := range img.RepoTags {
			if r, tag := SplitTag(t); r == repo {
				out = append(out, localTag{canon: t, tag: tag, img: img})
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoLocalImage, ShortName(repo))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tag < out[j].tag })
	return out, nil
}

// mountSources maps each stored layer's blob digest to the other
// repositories of the same registry that name an image holding it: where
// the registry may already have the blob, to mount instead of upload.
func mountSources(s *store.Store, target name.Repository) (map[string][]string, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, img := range imgs {
		var repos []string
		for _, n := range append(slices.Clone(img.RepoTags), img.RepoDigests...) {
			ref, err := parse(n)
			if err != nil || ref.Context().RegistryStr() != target.RegistryStr() {
				continue
			}
			if r := ref.Context().RepositoryStr(); r != target.RepositoryStr() && !slices.Contains(repos, r) {
				repos = append(repos, r)
			}
		}
		if len(repos) == 0 {
			continue
		}
		for _, diffID := range img.Layers {
			li, err := s.LayerInfo(diffID)
			if err != nil {
				continue
			}
			for _, r := range repos {
				if len(out[li.Digest]) < maxMountSources && !slices.Contains(out[li.Digest], r) {
					out[li.Digest] = append(out[li.Digest], r)
				}
			}
		}
	}
	return out, nil
}

// pushTag pushes one stored image under one tag.
func pushTag(ctx context.Context, s *store.Store, sess *session, t localTag, sources map[string][]string, p *progress) error {
	rawManifest, err := s.RawManifest(t.img)
	if err != nil {
		return fmt.Errorf("manifest of %s: %w", ShortName(t.canon), err)
	}
	rawConfig, err := s.RawConfig(t.img)
	if err != nil {
		return fmt.Errorf("config of %s: %w", ShortName(t.canon), err)
	}
	var m v1.Manifest
	if err := json.Unmarshal(rawManifest, &m); err != nil {
		return fmt.Errorf("manifest of %s: %w", ShortName(t.canon), err)
	}
	if len(m.Layers) != len(t.img.Layers) {
		return fmt.Errorf("manifest of %s lists %d layers, the image %d: broken image", ShortName(t.canon), len(m.Layers), len(t.img.Layers))
	}
	if err := pushLayers(ctx, s, sess, m, t.img.Layers, sources, p); err != nil {
		return err
	}
	if err := sess.putBlob(ctx, m.Config.Digest.String(), rawConfig); err != nil {
		return fmt.Errorf("config %s: %w", m.Config.Digest, err)
	}
	mediaType := string(m.MediaType)
	if mediaType == "" {
		mediaType = sniffMediaType(rawManifest)
	}
	digest, err := sess.putManifest(ctx, t.tag, mediaType, rawManifest)
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	p.printf("%s: digest: %s size: %d", t.tag, digest, len(rawManifest))
	return nil
}

// sniffMediaType is a manifest's type when it does not say (schema 2
// manifests always do; an OCI one may leave it out).
func sniffMediaType(raw []byte) string {
	var probe struct {
		Config struct {
			MediaType string `json:"mediaType"`
		} `json:"config"`
	}
	if json.Unmarshal(raw, &probe) == nil && probe.Config.MediaType == "application/vnd.docker.container.image.v1+json" {
		return "application/vnd.docker.distribution.manifest.v2+json"
	}
	return "application/vnd.oci.image.manifest.v1+json"
}

// pushLayers sends the layer blobs the registry lacks, a few at a time,
// each line named by its short diffID as docker's.
func pushLayers(ctx context.Context, s *store.Store, sess *session, m v1.Manifest, diffIDs []string, sources map[string][]string, p *progress) error {
	type job struct {
		id   string
		desc v1.Descriptor
	}
	var jobs []job
	seen := map[string]bool{}
	for i, desc := range m.Layers {
		if seen[desc.Digest.String()] {
			continue
		}
		seen[desc.Digest.String()] = true
		j := job{id: shortid.Of(diffIDs[i]), desc: desc}
		p.set(j.id, "Preparing", 0)
		jobs = append(jobs, j)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxUploads)
	for _, j := range jobs {
		g.Go(func() error {
			if err := pushLayer(gctx, s, sess, j.id, j.desc, sources[j.desc.Digest.String()], p); err != nil {
				return fmt.Errorf("layer %s: %w", j.desc.Digest, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// pushLayer is one layer blob: already there, mounted, or uploaded from
// the store's copy.
func pushLayer(ctx context.Context, s *store.Store, sess *session, id string, desc v1.Descriptor, from []string, p *progress) error {
	digest := desc.Digest.String()
	ok, err := sess.hasBlob(ctx, digest)
	if err != nil {
		return err
	}
	if ok {
		p.set(id, "Layer already exists", 0)
		return nil
	}
	upload, mountedFrom, err := sess.mount(ctx, digest, from)
	if err != nil {
		return err
	}
	if mountedFrom != "" {
		p.set(id, "Mounted from "+mountedFrom, 0)
		return nil
	}
	err = uploadBlob(ctx, s, sess, upload, id, digest, p, false)
	if retryable(ctx, err) {
		// A bearer token that expired mid-upload is refreshed by the
		// transport, which then re-sends a body already read: send it
		// again, from the start, in a new upload.
		err = uploadBlob(ctx, s, sess, nil, id, digest, p, true)
	}
	if err != nil {
		return err
	}
	p.set(id, "Pushed", 0)
	return nil
}

// uploadBlob sends the store's copy of a blob to an upload (nil: a new one).
func uploadBlob(ctx context.Context, s *store.Store, sess *session, upload *url.URL, id, digest string, p *progress, retry bool) error {
	f, size, err := openBlob(s, digest)
	if err != nil {
		return err
	}
	defer f.Close()
	p.set(id, "Pushing", size)
	return sess.upload(ctx, upload, digest, &pushReader{r: f, w: counter{p, id}, paused: retry}, size)
}

// retryable is an upload failure worth one more try: refused credentials
// (a token that expired) or a broken connection, while the push goes on.
func retryable(ctx context.Context, err error) bool {
	if err == nil || ctx.Err() != nil {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusUnauthorized
	}
	var ue *url.Error
	return errors.As(err, &ue)
}
