package build

// COPY and ADD: the step's layer is written directly as a tar stream whose
// entries are named as they land in the image (owner, --chown and --chmod
// applied), stored by the one layer path (image.StoreWrittenLayer: the
// one extractor, then the blob): no container and no overlay write, which
// on overlayfs costs a lookup through every lower layer per file. The
// destination is resolved in a read-only view of the parent image, its
// symlinks followed inside it as docker does, and the directories on the
// way are written with their attributes in the image (missing ones 0755).
//
// Docker's rules: a relative destination is under WORKDIR; a destination
// ending in "/", or an existing directory, receives each source by its
// base name, else a single file source is written as the destination; a
// directory source copies what it holds, not itself; several sources
// need a destination ending in "/". ADD extracts a local tar archive
// (plain, gzip or zstd) into the destination instead of copying it.

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/store"
)

// copySpec is a COPY or ADD after expansion.
type copySpec struct {
	add          bool
	from         string
	chown, chmod string
	checksum     string // ADD --checksum
	srcs         []string
	contents     []instructions.SourceContent
	dest         string
}

func copyFrom(c *instructions.CopyCommand) copySpec {
	return copySpec{from: c.From, chown: c.Chown, chmod: c.Chmod, srcs: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath}
}

func addFrom(c *instructions.AddCommand) copySpec {
	return copySpec{add: true, chown: c.Chown, chmod: c.Chmod, checksum: c.Checksum, srcs: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath}
}

func (c copySpec) word() string {
	if c.add {
		return "ADD"
	}
	return "COPY"
}

// item is one top-level source: what a source argument names.
type item struct {
	name   string      // base name it lands under in a destination directory
	info   fs.FileInfo // Lstat
	rel    string      // context-relative path ("" for --from and heredocs)
	kids   []Source    // a context directory's contents, context-relative
	data   []byte      // a heredoc's body
	image  string      // --from: the path inside the source image
	remote *remoteFile // ADD of a URL
	dir    bool        // a directory: what it holds is copied
}

// copyStep runs a COPY or ADD.
func (e *executor) copyStep(ctx context.Context, s *stageState, cp copySpec) error {
	if err := checkRemoteSources(cp); err != nil {
		return err
	}
	var fromImg *store.Image
	if cp.from != "" {
		img, err := e.fromImage(ctx, cp.from)
		if err != nil {
			return err
		}
		fromImg = img
	}
	items, sum, err := e.copyItems(ctx, cp, fromImg)
	defer removeDownloads(items)
	if err != nil {
		return err
	}
	dest := cp.dest
	if !path.IsAbs(dest) {
		dest = path.Join("/", s.cfg.Config.WorkingDir, dest) + trailingSlash(dest)
	}
	createdBy := fmt.Sprintf("/bin/sh -c #(nop) %s %s in %s ", cp.word(), sum, dest)
	key := cacheKey(s.parentID(), createdBy, cp.chown, cp.chmod, idOf(fromImg))
	if e.cached(s, key) {
		return nil
	}
	for _, it := range items {
		if it.remote != nil {
			if err := e.fetch(ctx, it.remote); err != nil {
				return fmt.Errorf("%s failed: %w", cp.word(), err)
			}
		}
	}
	base, release, err := e.stageView(s)
	if err != nil {
		return err
	}
	defer release()
	layer, err := storeLayer(e.o.Images, e.o.Epoch, func(w io.Writer) error {
		lw := &layerWriter{tw: tar.NewWriter(w)}
		if err := e.place(lw, base, cp, items, dest, fromImg); err != nil {
			return err
		}
		return lw.tw.Close()
	})
	if err != nil {
		return fmt.Errorf("%s failed: %w", cp.word(), err)
	}
	return e.commit(s, createdBy, layer, key)
}

func trailingSlash(p string) string {
	if strings.HasSuffix(p, "/") && p != "/" {
		return "/"
	}
	return ""
}

// fromImage is what COPY --from names: a stage by name or index, else an
// image (pulled if missing).
func (e *executor) fromImage(ctx context.Context, from string) (*store.Image, error) {
	if st := e.plan.StageRef(e.cur, from); st != nil {
		done, ok := e.done[st]
		if !ok || done.img == nil {
			return nil, fmt.Errorf("COPY --from=%s: the stage has no filesystem", from)
		}
		return done.img, nil
	}
	return e.o.Resolve(ctx, from)
}

// copyItems resolves the sources to items and the step's checksum text.
func (e *executor) copyItems(ctx context.Context, cp copySpec, fromImg *store.Image) ([]item, string, error) {
	var items []item
	h := sha256.New()
	for _, c := range cp.contents {
		items = append(items, item{name: path.Base(c.Path), data: []byte(c.Data)})
		fmt.Fprintf(h, "heredoc %s %d %s\n", c.Path, len(c.Data), c.Data)
	}
	if fromImg != nil {
		for _, src := range cp.srcs {
			items = append(items, item{name: path.Base(path.Clean("/" + src)), image: path.Clean("/" + src)})
			fmt.Fprintf(h, "from %s %s\n", fromImg.ID, src)
		}
		return items, "multi:" + hex.EncodeToString(h.Sum(nil)), nil
	}
	for _, src := range cp.srcs {
		if cp.add && IsURL(src) {
			it, sum, err := e.remoteItem(ctx, src, cp.checksum)
			items = append(items, it)
			if err != nil {
				return items, "", fmt.Errorf("%s failed: %w", cp.word(), err)
			}
			fmt.Fprintf(h, "url %s %s\n", src, sum)
			continue
		}
		if e.o.Context == nil {
			return items, "", fmt.Errorf("%s failed: no build context (the Dockerfile came from stdin)", cp.word())
		}
		found, err := e.o.Context.Sources([]string{src})
		if err != nil {
			return items, "", err
		}
		sum, err := e.o.Context.Checksum(found)
		if err != nil {
			return items, "", err
		}
		fmt.Fprintf(h, "src %s %s\n", src, sum)
		items = append(items, topItems(found)...)
	}
	kind := "multi"
	if len(items) == 1 && items[0].remote != nil {
		kind = "file"
	}
	if len(items) == 1 && items[0].info != nil {
		kind = "file"
		if items[0].info.IsDir() {
			kind = "dir"
		}
	}
	return items, kind + ":" + hex.EncodeToString(h.Sum(nil)), nil
}

// topItems groups the sources of one pattern by the path the pattern
// named (Source.Root): that path is the item, what lies below it a
// directory's contents.
func topItems(found []Source) []item {
	at := map[string]int{} // Root -> index in items
	var items []item
	for _, f := range found {
		i, ok := at[f.Root]
		if !ok {
			items = append(items, item{name: path.Base("/" + f.Root), rel: f.Root})
			i = len(items) - 1
			at[f.Root] = i
		}
		if f.Rel == f.Root {
			items[i].info, items[i].dir = f.Info, f.Info.IsDir()
			continue
		}
		items[i].kids = append(items[i].kids, f)
	}
	return items
}

// owner is the uid/gid of what a COPY writes: --chown resolved in the
// image being built, else root.
type owner struct {
	given    bool // --chown: also for what COPY --from takes, else kept
	uid, gid int
}

func (e *executor) owner(rootfd int, chown string) (owner, error) {
	if chown == "" {
		return owner{}, nil
	}
	passwd, group := run.UserFiles(rootfd)
	uid, gid, err := run.LookupOwner(chown, passwd, group)
	if err != nil {
		return owner{}, fmt.Errorf("--chown=%s: %w", chown, err)
	}
	return owner{given: true, uid: int(uid), gid: int(gid)}, nil
}

// layerWriter writes a COPY's layer entries; a name overlay would take
// for a whiteout is refused (the layer path would delete a file).
type layerWriter struct{ tw *tar.Writer }

func (lw *layerWriter) header(hdr *tar.Header) error {
	if strings.HasPrefix(path.Base(hdr.Name), ".wh.") {
		return fmt.Errorf("%s: names starting with .wh. are reserved for layer whiteouts", hdr.Name)
	}
	return lw.tw.WriteHeader(hdr)
}

// place writes the items as layer entries at dest; base is a read-only
// view of the image being built (-1: scratch).
func (e *executor) place(lw *layerWriter, base int, cp copySpec, items []item, dest string, fromImg *store.Image) error {
	own, err := e.owner(base, cp.chown)
	if err != nil {
		return err
	}
	var mode *fs.FileMode
	if cp.chmod != "" {
		m, err := strconv.ParseUint(cp.chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return fmt.Errorf("invalid chmod parameter: %s", cp.chmod)
		}
		fm := fs.FileMode(m)
		mode = &fm
	}
	from := -1
	if fromImg != nil {
		fd, release, err := e.imageView(fromImg)
		if err != nil {
			return err
		}
		defer release()
		from = fd
	}
	for i := range items {
		if items[i].image != "" && isDirInRoot(from, items[i].image) {
			items[i].dir = true
		}
	}
	destDir, single := dest, ""
	isDir := strings.HasSuffix(dest, "/") || isDirInRoot(base, dest)
	switch {
	case len(items) > 1 && !strings.HasSuffix(dest, "/"):
		return fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", cp.word())
	case len(items) == 1 && !isDir && !items[0].dir && !(cp.add && e.isArchive(items[0])):
		destDir, single = path.Dir(dest), path.Base(dest)
	}
	prefix, err := resolveInRoot(base, destDir)
	if err != nil {
		return fmt.Errorf("destination %s: %w", dest, err)
	}
	if err := writeParents(lw, base, prefix, own); err != nil {
		return fmt.Errorf("destination %s: %w", dest, err)
	}
	for _, it := range items {
		if cp.add && e.isArchive(it) {
			if err := e.addArchive(lw, it, prefix); err != nil {
				return err
			}
			continue
		}
		name := it.name
		if single != "" {
			name = single
		}
		if err := e.writeItem(lw, it, prefix, name, own, mode, from); err != nil {
			return err
		}
	}
	return nil
}
