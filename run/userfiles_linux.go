package run

import (
	"bytes"
	"io"
	"os"

	"golang.org/x/sys/unix"

	"github.com/skiff-dev/skiff/rootfs"
)

// UserFiles are the /etc/passwd and /etc/group of the root rootfd (a view
// of an image or a container), each resolved inside it and read up to 4
// MiB, nil where there is none: what LookupUser and LookupOwner resolve
// names in, before any process of the container runs.
func UserFiles(rootfd int) (passwd, group io.Reader) {
	return readInRoot(rootfd, "etc/passwd"), readInRoot(rootfd, "etc/group")
}

// readInRoot is a small file under rootfd, nil if there is none.
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
