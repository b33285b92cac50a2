package build

// The entries of a COPY's layer: context files, heredocs, another image's
// files (through the shared tar writer) and an ADD archive's entries, each
// named under the destination.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/archive"
	"github.com/skiff-dev/skiff/internal/decompress"
	"github.com/skiff-dev/skiff/rootfs"
)

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
	case it.remote != nil:
		return writeRemote(lw, it.remote, path.Join(prefix, name), own, mode)
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

// writeRemote writes ADD's download as the file name: 0600 as docker's
// (unless --chmod), its mtime the server's Last-Modified.
func writeRemote(lw *layerWriter, r *remoteFile, name string, own owner, mode *fs.FileMode) error {
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: r.size,
		Uid: own.uid, Gid: own.gid, ModTime: r.mtime}
	applyMode(hdr, mode)
	if err := lw.header(hdr); err != nil {
		return err
	}
	f, err := os.Open(r.file)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := io.CopyN(lw.tw, f, r.size); err != nil {
		return fmt.Errorf("%s: %w", r.url, err)
	}
	return nil
}

func applyMode(hdr *tar.Header, mode *fs.FileMode) {
	if mode != nil {
		hdr.Mode = int64(*mode)
	}
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
