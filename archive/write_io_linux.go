package archive

import (
	"archive/tar"
	"fmt"
	"io"
	"strings"

	"golang.org/x/sys/unix"
)

// addXattrs records (with Xattrs) the xattrs a layer carries: file
// capabilities, user.*; not overlay's own bookkeeping.
func (t *writer) addXattrs(fd int, hdr *tar.Header) {
	if !t.o.Xattrs {
		return
	}
	sz, err := unix.Flistxattr(fd, nil)
	if err != nil || sz <= 0 {
		return
	}
	list := make([]byte, sz)
	if sz, err = unix.Flistxattr(fd, list); err != nil {
		return
	}
	for _, name := range strings.Split(strings.TrimRight(string(list[:sz]), "\x00"), "\x00") {
		if !keepXattr(name) {
			continue
		}
		v := make([]byte, 64<<10)
		n, err := unix.Fgetxattr(fd, name, v)
		if err != nil {
			continue
		}
		if hdr.PAXRecords == nil {
			hdr.PAXRecords = map[string]string{}
		}
		hdr.PAXRecords["SCHILY.xattr."+name] = string(v[:n])
	}
}

func keepXattr(name string) bool {
	switch {
	case strings.HasPrefix(name, "user.overlay."):
		return false
	case name == "security.selinux": // relabelled where it lands
		return false
	}
	return strings.HasPrefix(name, "security.") || strings.HasPrefix(name, "user.")
}

// write writes hdr and, for a regular file, exactly hdr.Size bytes of r:
// a file that shrank while being read is padded with zeros rather than
// leaving a torn archive.
func (t *writer) write(hdr *tar.Header, r io.Reader) error {
	if err := t.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("/%s: %w", hdr.Name, err)
	}
	if r == nil || hdr.Size == 0 {
		return nil
	}
	n, err := io.CopyBuffer(t.tw, io.LimitReader(r, hdr.Size), t.buf)
	if err != nil {
		return fmt.Errorf("/%s: %w", hdr.Name, err)
	}
	for n < hdr.Size {
		k := min(int64(len(t.buf)), hdr.Size-n)
		clear(t.buf[:k])
		if _, err := t.tw.Write(t.buf[:k]); err != nil {
			return fmt.Errorf("/%s: %w", hdr.Name, err)
		}
		n += k
	}
	return nil
}

func readlinkat(pfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		b := make([]byte, size)
		n, err := unix.Readlinkat(pfd, name, b)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(b[:n]), nil
		}
	}
}
