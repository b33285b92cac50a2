package build

// COPY and ADD: the sources become one tar stream whose entries are named
// as they land under the destination directory (owner, --chown and
// --chmod applied), extracted by the one extractor into the build
// container's overlay, the destination resolved inside it
// (RESOLVE_IN_ROOT); the container's upper dir is the step's layer.
//
// Docker's rules: a relative destination is under WORKDIR; a destination
// ending in "/", or an existing directory, receives each source by its
// base name, else a single file source is written as the destination; a
// directory source copies what it holds, not itself; several sources
// need a destination ending in "/". ADD extracts a local tar archive
// (plain, gzip or zstd) into the destination instead of copying it.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/rootfs"
	"github.com/skiff-dev/skiff/run"
	"github.com/skiff-dev/skiff/store"
)

// copySpec is a COPY or ADD after expansion.
type copySpec struct {
	add          bool
	from         string
	chown, chmod string
	srcs         []string
	contents     []instructions.SourceContent
	dest         string
}

func copyFrom(c *instructions.CopyCommand) copySpec {
	return copySpec{from: c.From, chown: c.Chown, chmod: c.Chmod, srcs: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath}
}

func addFrom(c *instructions.AddCommand) copySpec {
	return copySpec{add: true, chown: c.Chown, chmod: c.Chmod, srcs: c.SourcePaths, contents: c.SourceContents, dest: c.DestPath}
}

func (c copySpec) word() string {
	if c.add {
		return "ADD"
	}
	return "COPY"
}

// item is one top-level source: what a source argument names.
type item struct {
	name  string      // base name it lands under in a destination directory
	info  fs.FileInfo // Lstat
	rel   string      // context-relative path ("" for --from and heredocs)
	kids  []Source    // a context directory's contents, context-relative
	data  []byte      // a heredoc's body
	image string      // --from: the path inside the source image
	dir   bool        // a directory: what it holds is copied
}

// copyStep runs a COPY or ADD.
func (e *executor) copyStep(ctx context.Context, s *stageState, cp copySpec) error {
	for _, src := range cp.srcs {
		if strings.Contains(src, "://") {
			return fmt.Errorf("%s from a URL is not supported yet: %s", cp.word(), src)
		}
	}
	var fromImg *store.Image
	if cp.from != "" {
		img, err := e.fromImage(ctx, cp.from)
		if err != nil {
			return err
		}
		fromImg = img
	}
	items, sum, err := e.copyItems(cp, fromImg)
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
	b, err := e.newContainer(s, nil, nil, false)
	if err != nil {
		return err
	}
	defer b.remove()
	rootfd, release, err := b.cs.OpenOverlay(b.c.State, true)
	if err != nil {
		return err
	}
	err = e.place(rootfd, cp, items, dest, fromImg)
	release()
	if err != nil {
		return err
	}
	layer, err := b.layer(e.o.Images)
	if err != nil {
		return err
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
func (e *executor) copyItems(cp copySpec, fromImg *store.Image) ([]item, string, error) {
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
	if len(cp.srcs) > 0 && e.o.Context == nil {
		return nil, "", fmt.Errorf("%s failed: no build context (the Dockerfile came from stdin)", cp.word())
	}
	for _, src := range cp.srcs {
		found, err := e.o.Context.Sources([]string{src})
		if err != nil {
			return nil, "", err
		}
		sum, err := e.o.Context.Checksum(found)
		if err != nil {
			return nil, "", err
		}
		fmt.Fprintf(h, "src %s %s\n", src, sum)
		items = append(items, topItems(found)...)
	}
	kind := "multi"
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
	passwd, group := readInRoot(rootfd, "etc/passwd"), readInRoot(rootfd, "etc/group")
	uid, gid, err := run.LookupOwner(chown, passwd, group)
	if err != nil {
		return owner{}, fmt.Errorf("--chown=%s: %w", chown, err)
	}
	return owner{given: true, uid: int(uid), gid: int(gid)}, nil
}

// readInRoot is a small file of the image, nil if it has none.
func readInRoot(rootfd int, p string) io.Reader {
	fd, err := rootfs.InRoot(rootfd, p, unix.O_RDONLY)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), p)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil
	}
	return bytes.NewReader(b)
}

// place writes the items into the container's root at dest.
func (e *executor) place(rootfd int, cp copySpec, items []item, dest string, fromImg *store.Image) error {
	own, err := e.owner(rootfd, cp.chown)
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
	var viewfd = -1
	if fromImg != nil {
		fd, release, err := e.imageView(fromImg)
		if err != nil {
			return err
		}
		defer release()
		viewfd = fd
	}
	for i := range items {
		if items[i].image != "" && isDirInRoot(viewfd, items[i].image) {
			items[i].dir = true
		}
	}
	destDir, single := dest, ""
	isDir := strings.HasSuffix(dest, "/") || isDirInRoot(rootfd, dest)
	switch {
	case len(items) > 1 && !strings.HasSuffix(dest, "/"):
		return fmt.Errorf("When using %s with more than one source file, the destination must be a directory and end with a /", cp.word())
	case len(items) == 1 && !isDir && !items[0].dir && !(cp.add && e.isArchive(items[0])):
		destDir, single = path.Dir(dest), path.Base(dest)
	}
	dirfd, err := mkdirAllInRoot(rootfd, destDir, own)
	if err != nil {
		return fmt.Errorf("%s failed: destination %s: %w", cp.word(), dest, err)
	}
	defer unix.Close(dirfd)
	for _, it := range items {
		if cp.add && e.isArchive(it) {
			if err := e.extractArchive(it, dirfd); err != nil {
				return err
			}
			continue
		}
		name := it.name
		if single != "" {
			name = single
		}
		w := func(tw *tar.Writer) error { return e.writeItem(tw, it, name, own, mode, viewfd) }
		if err := extractStream(w, dirfd); err != nil {
			return fmt.Errorf("%s failed: %w", cp.word(), err)
		}
	}
	return nil
}

// isDirInRoot reports whether p is a directory in the root (links
// followed inside it).
func isDirInRoot(rootfd int, p string) bool {
	fd, err := rootfs.InRoot(rootfd, strings.TrimPrefix(path.Clean(p), "/"), unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// mkdirAllInRoot opens directory p of the root, making what is missing
// (0755, owned as own), each component resolved inside the root.
func mkdirAllInRoot(rootfd int, p string, own owner) (int, error) {
	rel := strings.TrimPrefix(path.Clean("/"+p), "/")
	if rel == "" {
		rel = "."
	}
	fd, err := rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_DIRECTORY)
	if err == nil || !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	parent, err := mkdirAllInRoot(rootfd, path.Dir("/"+rel), owner{})
	if err != nil {
		return -1, err
	}
	defer unix.Close(parent)
	pfd, err := unix.Openat(parent, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	name := path.Base(rel)
	if err := unix.Mkdirat(pfd, name, 0o755); err != nil && !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("mkdir %s: %w", rel, err)
	}
	if os.Geteuid() == 0 {
		unix.Fchownat(pfd, name, own.uid, own.gid, unix.AT_SYMLINK_NOFOLLOW)
	}
	return rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_DIRECTORY)
}

// extractStream extracts what write writes into dirfd through the one
// extractor: owners from the stream (as root), nothing written through a
// link.
func extractStream(write func(*tar.Writer) error, dirfd int) error {
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		err := write(tw)
		if err == nil {
			err = tw.Close()
		}
		pw.CloseWithError(err)
	}()
	_, err := archive.Extract(pr, dirfd, archive.ExtractOptions{Chown: os.Geteuid() == 0, Xattrs: true})
	pr.CloseWithError(errors.New("extract stopped"))
	return err
}

// writeItem writes one item as entries named under name.
func (e *executor) writeItem(tw *tar.Writer, it item, name string, own owner, mode *fs.FileMode, viewfd int) error {
	switch {
	case it.data != nil:
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(it.data)), Uid: own.uid, Gid: own.gid}
		applyMode(hdr, mode)
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		_, err := tw.Write(it.data)
		return err
	case it.image != "":
		return e.writeFromImage(tw, it, name, own, mode, viewfd)
	case it.info.IsDir():
		for _, k := range it.kids {
			sub := k.Rel
			if it.rel != "" {
				sub = strings.TrimPrefix(k.Rel, it.rel+"/")
			}
			if err := e.writeContextEntry(tw, k.Rel, k.Info, sub, own, mode); err != nil {
				return err
			}
		}
		return nil
	}
	return e.writeContextEntry(tw, it.rel, it.info, name, own, mode)
}

// writeContextEntry writes the context's rel as the entry name.
func (e *executor) writeContextEntry(tw *tar.Writer, rel string, info fs.FileInfo, name string, own owner, mode *fs.FileMode) error {
	var link string
	if info.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(filepath.Join(e.o.Context.Dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		link = l
	}
	hdr, err := tar.FileInfoHeader(info, link)
	if err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	hdr.Name, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = name, own.uid, own.gid, "", ""
	if info.IsDir() {
		hdr.Name += "/"
	}
	if hdr.Typeflag != tar.TypeSymlink {
		applyMode(hdr, mode)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	if hdr.Typeflag != tar.TypeReg {
		return nil
	}
	f, err := e.o.Context.Open(rel)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(tw, f, hdr.Size); err != nil {
		return fmt.Errorf("%s: %w", rel, err)
	}
	return nil
}

func applyMode(hdr *tar.Header, mode *fs.FileMode) {
	if mode != nil {
		hdr.Mode = int64(*mode)
	}
}

// imageView is a read-only view of an image's filesystem.
func (e *executor) imageView(img *store.Image) (int, func(), error) {
	if len(img.Layers) == 0 {
		return -1, nil, errors.New("COPY --from: the image has no layers")
	}
	dirs := make([]string, len(img.Layers))
	for i, l := range img.Layers {
		dirs[len(img.Layers)-1-i] = e.o.Images.LayerDir(l)
	}
	if len(dirs) == 1 {
		// One layer is its own root: overlay wants two lower dirs
		// without an upper.
		fd, err := unix.Open(dirs[0], unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, nil, fmt.Errorf("COPY --from: %w", err)
		}
		return fd, func() { unix.Close(fd) }, nil
	}
	return rootfs.OpenView(rootfs.Layers{Upper: dirs[0], Lower: dirs[1:]})
}

// writeFromImage writes a path of another image (COPY --from) through
// the shared tar writer, owners kept unless --chown.
func (e *executor) writeFromImage(tw *tar.Writer, it item, name string, own owner, mode *fs.FileMode, viewfd int) error {
	fd, err := rootfs.InRoot(viewfd, strings.TrimPrefix(it.image, "/"), unix.O_PATH)
	if err != nil {
		return fmt.Errorf("COPY failed: stat %s: file does not exist", it.image)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	rebase := name
	if st.Mode&unix.S_IFMT == unix.S_IFDIR {
		rebase = "" // a directory's contents
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(archive.Write(pw, fd, archive.WriteOptions{Rebase: rebase, Xattrs: true})) }()
	defer pr.Close()
	tr := tar.NewReader(pr)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if own.given {
			hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = own.uid, own.gid, "", ""
		}
		if hdr.Typeflag != tar.TypeSymlink {
			applyMode(hdr, mode)
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// isArchive reports whether an ADD source is a local tar archive (plain,
// gzip or zstd), which ADD extracts.
func (e *executor) isArchive(it item) bool {
	if it.info == nil || !it.info.Mode().IsRegular() {
		return false
	}
	f, err := e.o.Context.Open(it.rel)
	if err != nil {
		return false
	}
	defer f.Close()
	d, err := decompress.Open(bufio.NewReader(f))
	if err != nil {
		return false
	}
	defer d.Close()
	var block [512]byte
	if _, err := io.ReadFull(d, block[:]); err != nil {
		return false
	}
	return bytes.HasPrefix(block[257:], []byte("ustar"))
}

// extractArchive is ADD of a local tar: its contents into dirfd, owners
// as the archive says.
func (e *executor) extractArchive(it item, dirfd int) error {
	f, err := e.o.Context.Open(it.rel)
	if err != nil {
		return err
	}
	defer f.Close()
	d, err := decompress.Open(f)
	if err != nil {
		return fmt.Errorf("ADD %s: %w", it.rel, err)
	}
	defer d.Close()
	if _, err := archive.Extract(d, dirfd, archive.ExtractOptions{Chown: os.Geteuid() == 0, Xattrs: true}); err != nil {
		return fmt.Errorf("ADD %s: %w", it.rel, err)
	}
	return nil
}
