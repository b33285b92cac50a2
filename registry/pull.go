package registry

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"golang.org/x/sync/errgroup"

	"github.com/skiff-dev/skiff/internal/shortid"
	"github.com/skiff-dev/skiff/store"
)

// PullOptions tune a pull.
type PullOptions struct {
	Insecure []string  // registries reached over plain http besides localhost and 127.0.0.0/8
	Quiet    bool      // print nothing (the command prints the ref)
	Out      io.Writer // progress; a terminal gets docker's redrawn bars
	Platform string    // "os/arch[/variant]"; empty means the host's
	// Rootless extracts layers as inside a rootless skiff's user
	// namespace (archive.LayerOptions).
	Rootless bool
}

// maxDownloads is docker's default max-concurrent-downloads.
const maxDownloads = 3

// Pull fetches ref into s and returns the stored image. Layers already in
// the store are reused; the image record is written only once every layer
// is published, so a failed or killed pull leaves no half-made image.
func Pull(ctx context.Context, s *store.Store, ref string, o PullOptions) (*store.Image, error) {
	img, err := pull(ctx, s, ref, o)
	if err != nil {
		return nil, fmt.Errorf("pull %s: %w", ref, err)
	}
	return img, nil
}

func pull(ctx context.Context, s *store.Store, ref string, o PullOptions) (*store.Image, error) {
	parsed, err := parse(ref)
	if err != nil {
		return nil, err
	}
	canon := canonical(parsed)
	r, err := remoteRef(parsed, o.Insecure)
	if err != nil {
		return nil, err
	}
	plat, err := hostPlatform(o.Platform)
	if err != nil {
		return nil, err
	}
	p := newProgress(o.Out, o.Quiet)
	registry := parsed.Context().RegistryStr()
	if registry == name.DefaultRegistry {
		registry = dockerHub
	}
	if !HasTagOrDigest(ref) {
		p.printf("Using default tag: %s", name.DefaultTag)
	}
	p.printf("%s: Pulling from %s", parsed.Identifier(), parsed.Context().RepositoryStr())
	opts := append(remoteOptions(ctx, o.Insecure), remote.WithPlatform(*plat))
	desc, err := remote.Get(r, opts...)
	if err != nil {
		return nil, explain(registry, err)
	}
	rimg, err := desc.Image()
	if err != nil {
		return nil, explain(registry, fmt.Errorf("resolve %s for platform %s: %w", canon, plat, err))
	}
	rawManifest, err := rimg.RawManifest()
	if err != nil {
		return nil, explain(registry, err)
	}
	manifest, err := v1.ParseManifest(strings.NewReader(string(rawManifest)))
	if err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	rawConfig, err := rimg.RawConfigFile()
	if err != nil {
		return nil, explain(registry, fmt.Errorf("config %s: %w", manifest.Config.Digest, err))
	}
	if got := digestOf(sha256Of(rawConfig)); got != manifest.Config.Digest.String() {
		return nil, fmt.Errorf("config digest mismatch: the registry sent %s for %s (corrupt or tampered blob)", got, manifest.Config.Digest)
	}
	cfg, err := v1.ParseConfigFile(strings.NewReader(string(rawConfig)))
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", manifest.Config.Digest, err)
	}
	if len(cfg.RootFS.DiffIDs) != len(manifest.Layers) {
		return nil, fmt.Errorf("manifest lists %d layers but config has %d diff_ids: broken image", len(manifest.Layers), len(cfg.RootFS.DiffIDs))
	}
	before, _ := s.LookupImage(canon)

	release, err := s.KeepLayers()
	if err != nil {
		return nil, err
	}
	defer release()
	s.CleanTemps()
	size, err := fetchLayers(ctx, s, rimg, manifest, cfg, p, o.Rootless)
	if err != nil {
		return nil, err
	}
	names := []string{Repository(canon) + "@" + desc.Digest.String()}
	if _, ok := parsed.(name.Tag); ok {
		names = append(names, canon)
	}
	img, err := s.AddImage(store.NewImage{
		Manifest: rawManifest,
		Config:   rawConfig,
		Layers:   diffIDs(cfg),
		Size:     size,
		Created:  cfg.Created.Time,
		Names:    names,
	})
	if err != nil {
		return nil, err
	}
	p.printf("Digest: %s", desc.Digest)
	status := "Downloaded newer image"
	if before != nil && before.ID == img.ID {
		status = "Image is up to date"
	}
	p.printf("Status: %s for %s", status, ShortName(canon))
	return img, nil
}

func diffIDs(cfg *v1.ConfigFile) []string {
	out := make([]string, len(cfg.RootFS.DiffIDs))
	for i, d := range cfg.RootFS.DiffIDs {
		out[i] = d.String()
	}
	return out
}

// fetchLayers downloads the layers the store lacks, a few at a time, and
// returns the image's total uncompressed size.
func fetchLayers(ctx context.Context, s *store.Store, rimg v1.Image, m *v1.Manifest, cfg *v1.ConfigFile, p *progress, rootless bool) (int64, error) {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxDownloads)
	seen := map[v1.Hash]bool{}
	for i, desc := range m.Layers {
		diffID := cfg.RootFS.DiffIDs[i]
		if seen[diffID] {
			continue
		}
		seen[diffID] = true
		if s.HasLayer(diffID.String()) {
			p.set(shortid.Of(desc.Digest.Hex), "Already exists", 0)
			continue
		}
		p.set(shortid.Of(desc.Digest.Hex), "Pulling fs layer", 0)
		j := layerJob{digest: desc.Digest, diffID: diffID, mediaType: string(desc.MediaType), size: desc.Size}
		j.open = func() (io.ReadCloser, error) {
			l, err := rimg.LayerByDigest(desc.Digest)
			if err != nil {
				return nil, err
			}
			return l.Compressed()
		}
		g.Go(func() error {
			if err := fetchOnce(gctx, s, j, p, rootless); err != nil {
				return fmt.Errorf("layer %s: %w", desc.Digest, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	var size int64
	for _, d := range cfg.RootFS.DiffIDs {
		info, err := s.LayerInfo(d.String())
		if err != nil {
			return 0, err
		}
		size += info.Size
	}
	return size, nil
}

// fetchOnce fetches a layer unless a concurrent pull (another process
// included) is fetching it, in which case it waits and reuses its result.
func fetchOnce(ctx context.Context, s *store.Store, j layerJob, p *progress, rootless bool) error {
	id := shortid.Of(j.digest.Hex)
	release, err := s.LockFetch(ctx, j.diffID.String(), func() { p.set(id, "Waiting", 0) })
	if err != nil {
		return err
	}
	defer release()
	if s.HasLayer(j.diffID.String()) {
		p.set(id, "Already exists", 0)
		return nil
	}
	return fetchLayer(ctx, s, j, p, rootless)
}
