package image

// load reads an image archive (docker-archive from docker, podman or skiff;
// OCI image layout; either compressed) in one pass and stores its images:
//
//  1. take off the archive's compression (gzip, zstd, xz, bzip2);
//  2. read its entries: small files (indexes, manifests, configs) are kept
//     in memory; a layer whose diffID the metadata read so far gives is
//     extracted straight from the stream (skiff and docker 25+ write the
//     metadata first); any other big file is spooled to disk;
//  3. plan from the metadata: which file is which image's layer, with the
//     diffID its config gives (and its digest, from an OCI manifest);
//  4. extract the spooled layers, every layer checked as a pull checks it
//     (digest, diffID, the extractor's rules);
//  5. only then publish the layers and add the images and their names.
//
// A hostile or truncated archive fails before step 5: no layer, image or
// name of it is visible, and its temp layers are removed.

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/store"
)

// LoadOptions are how Load stores an archive.
type LoadOptions struct {
	Rootless bool
	// Normalize turns a name found in the archive ("busybox:latest",
	// "docker.io/library/busybox:latest") into the store's canonical form.
	Normalize func(string) (string, error)
}

// Loaded is one image stored by Load, with the canonical names it was
// given, in the archive's order.
type Loaded struct {
	Image *store.Image
	Names []string
	// Moved are the names that pointed at another image before: name ->
	// that image's id (docker says it renamed it "to empty string").
	Moved map[string]string
}

// memLimit is the largest archive file kept in memory: indexes, manifests
// and configs are far smaller; bigger files are layers. memBudget bounds
// them all together, so an archive of many small files cannot fill memory:
// past it, small files are spooled too.
const (
	memLimit  = 1 << 20
	memBudget = 64 << 20
)

// Load stores the images of the archive read from r.
func Load(s *store.Store, r io.Reader, o LoadOptions) ([]Loaded, error) {
	plain, err := decompress.Open(r)
	if err != nil {
		return nil, fmt.Errorf("load: %w", err)
	}
	defer plain.Close()
	release, err := s.KeepLayers()
	if err != nil {
		return nil, err
	}
	defer release()
	l, err := newLoader(s, o)
	if err != nil {
		return nil, err
	}
	defer l.discard()
	if err := l.read(tar.NewReader(plain)); err != nil {
		return nil, err
	}
	// The decompressor checks its trailer only when read to its end.
	if _, err := io.Copy(io.Discard, plain); err != nil {
		return nil, truncated(err)
	}
	p, err := l.plan()
	if err != nil {
		return nil, err
	}
	if err := l.extractSpooled(p); err != nil {
		return nil, err
	}
	return l.publish(p)
}

// loader is one Load's state.
type loader struct {
	s     *store.Store
	o     LoadOptions
	spool *store.TempLayer   // its Dir holds spooled files, removed with it
	mem   map[string][]byte  // small files by cleaned name
	files map[string]string  // big files: cleaned name -> spool path
	links map[string]string  // symlinks and hardlinks: cleaned name -> target
	done  map[string]string  // layer files already taken: cleaned name -> diffID
	temps []*store.TempLayer // extracted, not yet published
	infos []store.LayerInfo  // what each of temps is
	have  map[string]bool    // diffIDs extracted or already in the store
	early *plan              // the plan as soon as the metadata is complete
	count int                // spool file names
	inMem int64              // bytes held in mem
}

func newLoader(s *store.Store, o LoadOptions) (*loader, error) {
	// The spool is a temp layer so that a killed load's files are swept as
	// any dead writer's are.
	spool, err := s.NewLayer()
	if err != nil {
		return nil, err
	}
	return &loader{
		s: s, o: o, spool: spool,
		mem: map[string][]byte{}, files: map[string]string{}, links: map[string]string{},
		done: map[string]string{}, have: map[string]bool{},
	}, nil
}

func (l *loader) discard() {
	for _, t := range l.temps {
		t.Discard()
	}
	l.spool.Discard()
}

// read takes every entry of the archive.
func (l *loader) read(tr *tar.Reader) error {
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return truncated(err)
		}
		name, err := entryName(h.Name)
		if err != nil {
			return err
		}
		switch h.Typeflag {
		case tar.TypeSymlink:
			l.links[name] = path.Join(path.Dir(name), h.Linkname)
		case tar.TypeLink:
			l.links[name] = path.Clean(h.Linkname)
		case tar.TypeReg:
			if err := l.file(name, h.Size, tr); err != nil {
				return err
			}
		}
	}
}

// entryName is an archive path made relative and clean; a path that climbs
// out of the archive is refused, though nothing is ever written by it.
func entryName(n string) (string, error) {
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return "", fmt.Errorf("load: invalid archive: entry %q is outside the archive", n)
		}
	}
	return strings.TrimPrefix(path.Clean("/"+n), "/"), nil
}

// file takes one regular file: kept in memory, extracted now as the layer
// the metadata says it is, or spooled.
func (l *loader) file(name string, size int64, r io.Reader) error {
	if size <= memLimit && l.inMem+size <= memBudget {
		b, err := io.ReadAll(r)
		if err != nil {
			return truncated(err)
		}
		l.mem[name], l.inMem = b, l.inMem+int64(len(b))
		l.early = nil
		return nil
	}
	if l.early == nil {
		l.early, _ = l.plan() // incomplete metadata so far: spool
	}
	if l.early != nil {
		if want, ok := l.early.layers[name]; ok {
			return l.extract(name, want, r, "")
		}
	}
	return l.spoolFile(name, r)
}

func (l *loader) spoolFile(name string, r io.Reader) error {
	l.count++
	p := filepath.Join(l.spool.Dir(), strconv.Itoa(l.count))
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("load: spool %s: %w", name, err)
	}
	defer f.Close()
	if _, err := io.Copy(f, r); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return truncated(err)
		}
		return fmt.Errorf("load: spool %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("load: spool %s: %w", name, err)
	}
	l.files[name] = p
	return nil
}

// extract extracts one layer file, unless its layer is already there.
func (l *loader) extract(name string, want wantLayer, r io.Reader, spooled string) error {
	l.done[name] = want.diffID
	if l.have[want.diffID] || l.s.HasLayer(want.diffID) {
		l.have[want.diffID] = true
		return nil
	}
	t, info, err := extractLayer(l.s, r, want, l.o.Rootless, spooled)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return truncated(err)
		}
		return fmt.Errorf("load: %s: %w", name, err)
	}
	l.temps, l.infos = append(l.temps, t), append(l.infos, info)
	l.have[want.diffID] = true
	return nil
}

// extractSpooled extracts the layers that came before the metadata.
func (l *loader) extractSpooled(p *plan) error {
	for name, want := range p.layers {
		if d, ok := l.done[name]; ok {
			if d != want.diffID { // the metadata changed under a layer taken early
				return fmt.Errorf("load: invalid archive: %s is given two diffIDs", name)
			}
			continue
		}
		sp, ok := l.files[name]
		if !ok {
			if b, ok := l.mem[name]; ok { // a small layer
				if err := l.extract(name, want, bytes.NewReader(b), ""); err != nil {
					return err
				}
				continue
			}
			return fmt.Errorf("load: invalid archive: layer %s is missing", name)
		}
		f, err := os.Open(sp)
		if err != nil {
			return fmt.Errorf("load: %s: %w", name, err)
		}
		err = l.extract(name, want, f, sp)
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// lookup resolves links (a legacy archive links a repeated layer to its
// first copy), a few deep at most.
func (l *loader) lookup(name string) string {
	for i := 0; i < 8; i++ {
		t, ok := l.links[name]
		if !ok {
			break
		}
		name = t
	}
	return name
}

// small is a metadata file's content.
func (l *loader) small(name string) ([]byte, bool) {
	name = l.lookup(name)
	if b, ok := l.mem[name]; ok {
		return b, true
	}
	if p, ok := l.files[name]; ok {
		b, err := os.ReadFile(p)
		return b, err == nil
	}
	return nil, false
}

// publish makes the checked layers visible, then the images and names.
func (l *loader) publish(p *plan) ([]Loaded, error) {
	for i, t := range l.temps {
		if err := t.Commit(l.infos[i]); err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
	}
	l.temps = nil
	var out []Loaded
	for _, pi := range p.images {
		moved := l.moved(pi)
		img, err := l.add(pi)
		if err != nil {
			return nil, fmt.Errorf("load: %w", err)
		}
		out = append(out, Loaded{Image: img, Names: pi.names, Moved: moved})
	}
	return out, nil
}

// moved is which of pi's names point at another image now.
func (l *loader) moved(pi *planImage) map[string]string {
	id := digestBytes(pi.config)
	m := map[string]string{}
	for _, n := range pi.names {
		if old, err := l.s.LookupImage(n); err == nil && old.ID != id {
			m[n] = old.ID
		}
	}
	return m
}

func (l *loader) add(pi *planImage) (*store.Image, error) {
	var size int64
	for _, d := range pi.diffIDs {
		li, err := l.s.LayerInfo(d)
		if err != nil {
			return nil, err
		}
		size += li.Size
	}
	manifest := pi.manifest
	if manifest == nil {
		var err error
		if manifest, err = manifestFor(l.s, pi.config, pi.diffIDs); err != nil {
			return nil, err
		}
	}
	return l.s.AddImage(store.NewImage{
		Manifest: manifest, Config: pi.config, Layers: pi.diffIDs, Size: size,
		Created: pi.created, Names: pi.names,
	})
}

// truncated names an archive that ended early.
func truncated(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("load: the archive is truncated: %w", err)
	}
	return fmt.Errorf("load: invalid archive: %w", err)
}
