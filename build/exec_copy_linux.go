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
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/image"
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
	base, release, err := e.stageView(s)
	if err != nil {
		return err
	}
	defer release()
	layer, err := image.StoreWrittenLayer(e.o.Images, func(w io.Writer) error {
		lw := &layerWriter{tw: tar.NewWriter(w)}
		if err := e.place(lw, base, cp, items, dest, fromImg); err != nil {
			return err
		}
		return lw.tw.Close()
	}, os.Geteuid() != 0)
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

// stageView is a read-only view of s's filesystem (-1 for scratch).
func (e *executor) stageView(s *stageState) (int, func(), error) {
	if s.img == nil || len(s.img.Layers) == 0 {
		return -1, func() {}, nil
	}
	return e.imageView(s.img)
}

// resolveInRoot is p inside the root with every symlink on the way
// followed inside it (as the kernel's RESOLVE_IN_ROOT would), as a
// relative path without links ("" for the root); what does not exist is
// kept as written.
func resolveInRoot(rootfd int, p string) (string, error) {
	var done []string
	todo := strings.Split(p, "/")
	for hops := 0; len(todo) > 0; {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		cur := path.Join(append(done, c)...)
		target, isLink, err := readLinkInRoot(rootfd, cur)
		if err != nil {
			return "", err
		}
		if !isLink {
			done = append(done, c)
			continue
		}
		if hops++; hops > 40 {
			return "", fmt.Errorf("%s: too many levels of symbolic links", p)
		}
		if path.IsAbs(target) {
			done = nil
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return path.Join(done...), nil
}

// readLinkInRoot is rel's link target if rel (its parents free of links)
// is a symlink in the root.
func readLinkInRoot(rootfd int, rel string) (string, bool, error) {
	if rootfd < 0 {
		return "", false, nil
	}
	fd, err := rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return "", false, nil
	}
	if err != nil {
		return "", false, err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return "", false, err
	}
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		return "", false, nil
	}
	buf := make([]byte, unix.PathMax)
	n, err := unix.Readlinkat(fd, "", buf)
	if err != nil {
		return "", false, fmt.Errorf("readlink %s: %w", rel, err)
	}
	return string(buf[:n]), true, nil
}

// writeParents writes the directories from the root down to dir (link
// free): those the image has with their attributes, so the layer changes
// none of them; missing ones 0755, the last one owned as own.
func writeParents(lw *layerWriter, base int, dir string, own owner) error {
	if dir == "" {
		return nil
	}
	parts := strings.Split(dir, "/")
	now := time.Now()
	for i := range parts {
		rel := path.Join(parts[:i+1]...)
		hdr := &tar.Header{Typeflag: tar.TypeDir, Name: rel + "/", Mode: 0o755, ModTime: now}
		if i == len(parts)-1 {
			hdr.Uid, hdr.Gid = own.uid, own.gid
		}
		if st, ok, err := statInRoot(base, rel); err != nil {
			return err
		} else if ok {
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return fmt.Errorf("/%s is not a directory", rel)
			}
			hdr.Mode, hdr.Uid, hdr.Gid = int64(st.Mode&0o7777), int(st.Uid), int(st.Gid)
			hdr.ModTime = time.Unix(st.Mtim.Unix())
		}
		if err := lw.header(hdr); err != nil {
			return err
		}
	}
	return nil
}

// statInRoot is rel's lstat in the root, ok false when it is missing.
func statInRoot(rootfd int, rel string) (unix.Stat_t, bool, error) {
	var st unix.Stat_t
	if rootfd < 0 {
		return st, false, nil
	}
	fd, err := rootfs.InRoot(rootfd, rel, unix.O_PATH|unix.O_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return st, false, nil
	}
	if err != nil {
		return st, false, err
	}
	defer unix.Close(fd)
	return st, true, unix.Fstat(fd, &st)
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

// writeItem writes one item as entries named under name.
// writeItem writes one item as entries named prefix/name (a directory's
// contents as prefix/...).
func (e *executor) writeItem(lw *layerWriter, it item, prefix, name string, own owner, mode *fs.FileMode, from int) error {
	switch {
	case it.data != nil:
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: path.Join(prefix, name), Mode: 0o644, Size: int64(len(it.data)),
			Uid: own.uid, Gid: own.gid, ModTime: time.Now()}
		applyMode(hdr, mode)
		if err := lw.header(hdr); err != nil {
			return err
		}
		_, err := lw.tw.Write(it.data)
		return err
	case it.image != "":
		return e.writeFromImage(lw, it, prefix, name, own, mode, from)
	case it.info.IsDir():
		for _, k := range it.kids {
			sub := k.Rel
			if it.rel != "" {
				sub = strings.TrimPrefix(k.Rel, it.rel+"/")
			}
			if err := e.writeContextEntry(lw, k.Rel, k.Info, path.Join(prefix, sub), own, mode); err != nil {
				return err
			}
		}
		return nil
	}
	return e.writeContextEntry(lw, it.rel, it.info, path.Join(prefix, name), own, mode)
}

// writeContextEntry writes the context's rel as the entry name.
func (e *executor) writeContextEntry(lw *layerWriter, rel string, info fs.FileInfo, name string, own owner, mode *fs.FileMode) error {
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
	if err := lw.header(hdr); err != nil {
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
	if _, err := io.CopyN(lw.tw, f, hdr.Size); err != nil {
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
func (e *executor) writeFromImage(lw *layerWriter, it item, prefix, name string, own owner, mode *fs.FileMode, viewfd int) error {
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
		if err := rebaseEntry(hdr, prefix); err != nil {
			return err
		}
		if err := lw.header(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(lw.tw, tr); err != nil {
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

// addArchive is ADD of a local tar: its entries under prefix, owners as
// the archive says.
func (e *executor) addArchive(lw *layerWriter, it item, prefix string) error {
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
	tr := tar.NewReader(d)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ADD %s: %w", it.rel, err)
		}
		if strings.Trim(path.Clean("/"+hdr.Name), "/") == "" {
			continue // the archive's root: the destination keeps its own
		}
		if err := rebaseEntry(hdr, prefix); err != nil {
			return fmt.Errorf("ADD %s: %w", it.rel, err)
		}
		if err := lw.header(hdr); err != nil {
			return fmt.Errorf("ADD %s: %w", it.rel, err)
		}
		if _, err := io.Copy(lw.tw, tr); err != nil {
			return fmt.Errorf("ADD %s: %w", it.rel, err)
		}
	}
}

// rebaseEntry names a tar entry (and a hard link's target) under prefix;
// ".." cannot climb out of it.
func rebaseEntry(hdr *tar.Header, prefix string) error {
	dir := strings.HasSuffix(hdr.Name, "/") || hdr.Typeflag == tar.TypeDir
	hdr.Name = path.Join(prefix, strings.TrimPrefix(path.Clean("/"+hdr.Name), "/"))
	if hdr.Name == "" || hdr.Name == "." {
		return fmt.Errorf("entry %q names the destination itself", hdr.Name)
	}
	if dir {
		hdr.Name += "/"
	}
	if hdr.Typeflag == tar.TypeLink {
		hdr.Linkname = path.Join(prefix, strings.TrimPrefix(path.Clean("/"+hdr.Linkname), "/"))
	}
	return nil
}
